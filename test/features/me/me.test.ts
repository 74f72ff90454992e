import assert from 'node:assert/strict'
import { it } from 'node:test'
import { describeOnDatabases } from '../../support/harness.ts'
import { clientFor } from '../../support/client.ts'

await describeOnDatabases('GET /me', (ctx) => {
  it('returns the authenticated user', async () => {
    const { user, authorization, email } = await clientFor(ctx()).loggedInUser()
    const response = await ctx().app.inject({ method: 'GET', url: '/me', headers: { authorization } })
    assert.equal(response.statusCode, 200)
    assert.equal(response.json().id, user.id)
    assert.equal(response.json().email, email)
    assert.equal(response.headers['cache-control'], 'no-store')
  })

  it('answers a request without credentials with 401 AUTH_REQUIRED and a bare Bearer challenge', async () => {
    const response = await ctx().app.inject({ method: 'GET', url: '/me' })
    assert.equal(response.statusCode, 401)
    assert.equal(response.json().error.code, 'AUTH_REQUIRED')
    assert.equal(response.headers['www-authenticate'], 'Bearer')
  })

  it('treats another authentication scheme as no credentials', async () => {
    const response = await ctx().app.inject({
      method: 'GET',
      url: '/me',
      headers: { authorization: 'Basic dXNlcjpwYXNz' },
    })
    assert.equal(response.statusCode, 401)
    assert.equal(response.json().error.code, 'AUTH_REQUIRED')
  })

  it('answers a garbage token with 401 INVALID_TOKEN and error="invalid_token"', async () => {
    for (const authorization of [
      'Bearer abc',
      'Bearer a.b.c',
      'Bearer',
      'Bearer ' + 'x'.repeat(5000),
      'bearer ey.ey.',
    ]) {
      const response = await ctx().app.inject({ method: 'GET', url: '/me', headers: { authorization } })
      assert.equal(response.statusCode, 401, authorization.slice(0, 20))
      assert.equal(response.json().error.code, 'INVALID_TOKEN')
      assert.match(String(response.headers['www-authenticate']), /^Bearer error="invalid_token"/)
    }
  })

  it('answers an expired token with 401 TOKEN_EXPIRED, after the small leeway', async () => {
    const { authorization } = await clientFor(ctx()).loggedInUser()
    ctx().clock.advance(15 * 60 + 10)
    assert.equal(
      (await ctx().app.inject({ method: 'GET', url: '/me', headers: { authorization } })).statusCode,
      200,
    )
    ctx().clock.advance(60)
    const response = await ctx().app.inject({ method: 'GET', url: '/me', headers: { authorization } })
    assert.equal(response.statusCode, 401)
    assert.equal(response.json().error.code, 'TOKEN_EXPIRED')
    assert.match(String(response.headers['www-authenticate']), /error="invalid_token"/)
  })

  it('stops accepting the tokens of a deleted user', async () => {
    const { user, authorization } = await clientFor(ctx()).loggedInUser()
    await ctx().context.db.deleteFrom('users').where('id', '=', user.id).execute()
    const response = await ctx().app.inject({ method: 'GET', url: '/me', headers: { authorization } })
    assert.equal(response.statusCode, 401)
    assert.equal(response.json().error.code, 'INVALID_TOKEN')
  })
})

await describeOnDatabases('PATCH /me', (ctx) => {
  const patch = (authorization: string, payload: object) =>
    ctx().app.inject({ method: 'PATCH', url: '/me', headers: { authorization }, payload })

  it('changes the full name and username and returns the user', async () => {
    const { authorization } = await clientFor(ctx()).loggedInUser()
    const username = `New${Date.now()}`
    const response = await patch(authorization, { full_name: 'Grace Hopper', username })
    assert.equal(response.statusCode, 200)
    assert.equal(response.json().full_name, 'Grace Hopper')
    assert.equal(response.json().username, username)
    assert.equal(
      (await ctx().app.inject({ method: 'GET', url: '/me', headers: { authorization } })).json().username,
      username,
    )
  })

  it('a username change is audited as profile_changed, with both request ids when the client chose one', async () => {
    const old = `Old${Date.now()}`
    const { authorization, user } = await clientFor(ctx()).loggedInUser({ username: old })
    const username = `Renamed${Date.now()}`
    const response = await ctx().app.inject({
      method: 'PATCH',
      url: '/me',
      headers: { authorization, 'x-request-id': 'rename-me-1' },
      payload: { username },
    })
    assert.equal(response.headers['x-request-id'], 'rename-me-1', 'the client id is echoed')
    await patch(authorization, { full_name: 'Only the name' })
    const events = await ctx()
      .context.db.selectFrom('audit_events')
      .selectAll()
      .where('user_id', '=', user.id)
      .where('type', '=', 'profile_changed')
      .execute()
    assert.equal(events.length, 1, 'a full name change alone is not audited here')
    assert.equal(events[0]!.request_id, 'rename-me-1')
    const data = JSON.parse(events[0]!.data) as Record<string, unknown>
    assert.deepEqual(data.username, { from: old, to: username })
    assert.match(String(data.server_request_id), /^[0-9a-f-]{36}$/)
    assert.equal(data.by, user.id)
  })

  it('clears a field set to null', async () => {
    const { authorization } = await clientFor(ctx()).loggedInUser()
    await patch(authorization, { full_name: 'Someone' })
    const response = await patch(authorization, { full_name: null })
    assert.equal(response.statusCode, 200)
    assert.equal(response.json().full_name, null)
  })

  it('moves updated_at with the clock', async () => {
    const { authorization } = await clientFor(ctx()).loggedInUser()
    ctx().clock.advance(60)
    const response = await patch(authorization, { full_name: 'Later' })
    assert.equal(response.json().updated_at, new Date(ctx().clock.now()).toISOString())
    assert.notEqual(response.json().updated_at, response.json().created_at)
  })

  it('answers a username someone else has with 409 ACCOUNT_EXISTS', async () => {
    const taken = `Taken${Date.now()}`
    await clientFor(ctx()).loggedInUser({ username: taken })
    const { authorization } = await clientFor(ctx()).loggedInUser()
    const response = await patch(authorization, { username: taken.toLowerCase() })
    assert.equal(response.statusCode, 409)
    assert.equal(response.json().error.code, 'ACCOUNT_EXISTS')
  })

  it('rejects an invalid username or full name with 422 and details', async () => {
    const { authorization } = await clientFor(ctx()).loggedInUser()
    const response = await patch(authorization, { username: 'no spaces allowed', full_name: 'x'.repeat(201) })
    assert.equal(response.statusCode, 422)
    const fields = response
      .json()
      .error.details.map((d: { field: string }) => d.field)
      .sort()
    assert.deepEqual(fields, ['full_name', 'username'])
  })

  it('ignores fields that cannot be changed here (email, roles)', async () => {
    const { authorization, email } = await clientFor(ctx()).loggedInUser()
    const response = await patch(authorization, { email: 'other@example.com', roles: ['admin'] })
    assert.equal(response.statusCode, 200)
    assert.equal(response.json().email, email)
    assert.deepEqual(response.json().roles, ['user'])
  })

  it('requires a bearer token', async () => {
    const response = await ctx().app.inject({ method: 'PATCH', url: '/me', payload: { full_name: 'x' } })
    assert.equal(response.statusCode, 401)
    assert.equal(response.json().error.code, 'AUTH_REQUIRED')
  })
})
