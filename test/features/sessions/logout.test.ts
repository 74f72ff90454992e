import assert from 'node:assert/strict'
import { it } from 'node:test'
import { decodeJwt } from 'jose'
import { describeOnDatabases, type TestApp } from '../../support/harness.ts'
import { clientFor } from '../../support/client.ts'

interface Tokens {
  access_token: string
  refresh_token: string
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` })
const me = (t: TestApp, token: string) => t.app.inject({ method: 'GET', url: '/me', headers: bearer(token) })
const refresh = (t: TestApp, token: string) =>
  t.app.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token: token } })

/** A second session of the same user, as from another device. */
async function loginAgain(
  t: TestApp,
  email: string,
  password: string,
  userAgent = 'second-device',
): Promise<Tokens> {
  const response = await t.app.inject({
    method: 'POST',
    url: '/auth/login',
    headers: { 'user-agent': userAgent },
    payload: { username: email, password },
  })
  assert.equal(response.statusCode, 200)
  return response.json()
}

async function auditEvents(t: TestApp, userId: string) {
  return t.context.db
    .selectFrom('audit_events')
    .selectAll()
    .where('user_id', '=', userId)
    .orderBy('at')
    .execute()
}

await describeOnDatabases('POST /auth/logout', (ctx) => {
  it('answers 204, clears the cookie, and stops the session’s access and refresh tokens at once', async () => {
    const { tokens, user } = await clientFor(ctx()).loggedInUser()
    const response = await ctx().app.inject({
      method: 'POST',
      url: '/auth/logout',
      headers: { ...bearer(tokens.access_token), 'x-request-id': 'logout-1' },
    })
    assert.equal(response.statusCode, 204)
    assert.equal(response.body, '')
    const cookie = String(response.headers['set-cookie'])
    assert.match(cookie, /^gatehouse_refresh=;/)
    assert.match(cookie, /Expires=Thu, 01 Jan 1970|Max-Age=0/)
    assert.ok(cookie.includes('Path=/auth'))
    const after = await me(ctx(), tokens.access_token)
    assert.equal(after.statusCode, 401)
    assert.equal(after.json().error.code, 'INVALID_TOKEN')
    assert.equal((await refresh(ctx(), tokens.refresh_token)).statusCode, 401)
    const logout = (await auditEvents(ctx(), user.id)).find((event) => event.type === 'logout')
    assert.ok(logout)
    assert.equal(logout.request_id, 'logout-1')
  })

  it('leaves the user’s other sessions working', async () => {
    const { tokens, email, password } = await clientFor(ctx()).loggedInUser()
    const other = await loginAgain(ctx(), email, password)
    await ctx().app.inject({ method: 'POST', url: '/auth/logout', headers: bearer(tokens.access_token) })
    assert.equal((await me(ctx(), other.access_token)).statusCode, 200)
    assert.equal((await refresh(ctx(), other.refresh_token)).statusCode, 200)
  })

  it('also ends access tokens minted for the session by earlier refreshes', async () => {
    const { tokens } = await clientFor(ctx()).loggedInUser()
    const refreshed = (await refresh(ctx(), tokens.refresh_token)).json<Tokens>()
    await ctx().app.inject({ method: 'POST', url: '/auth/logout', headers: bearer(refreshed.access_token) })
    assert.equal((await me(ctx(), tokens.access_token)).statusCode, 401)
    assert.equal((await me(ctx(), refreshed.access_token)).statusCode, 401)
  })

  it('keeps the revocation until the access tokens would have expired anyway', async () => {
    const { tokens } = await clientFor(ctx()).loggedInUser()
    await ctx().app.inject({ method: 'POST', url: '/auth/logout', headers: bearer(tokens.access_token) })
    ctx().clock.advance(14 * 60)
    assert.equal((await me(ctx(), tokens.access_token)).json().error.code, 'INVALID_TOKEN')
    ctx().clock.advance(2 * 60)
    assert.equal((await me(ctx(), tokens.access_token)).json().error.code, 'TOKEN_EXPIRED')
  })

  it('requires a bearer token', async () => {
    const response = await ctx().app.inject({ method: 'POST', url: '/auth/logout' })
    assert.equal(response.statusCode, 401)
    assert.equal(response.json().error.code, 'AUTH_REQUIRED')
  })
})

await describeOnDatabases('POST /auth/logout-all', (ctx) => {
  it('ends every session of the user, and only theirs', async () => {
    const { tokens, email, password } = await clientFor(ctx()).loggedInUser()
    const other = await loginAgain(ctx(), email, password)
    const stranger = await clientFor(ctx()).loggedInUser()
    const response = await ctx().app.inject({
      method: 'POST',
      url: '/auth/logout-all',
      headers: bearer(other.access_token),
    })
    assert.equal(response.statusCode, 204)
    assert.match(String(response.headers['set-cookie']), /^gatehouse_refresh=;/)
    for (const session of [tokens, other]) {
      assert.equal((await me(ctx(), session.access_token)).statusCode, 401)
      assert.equal((await refresh(ctx(), session.refresh_token)).statusCode, 401)
    }
    assert.equal((await me(ctx(), stranger.tokens.access_token)).statusCode, 200)
  })
})

await describeOnDatabases('GET /auth/sessions', (ctx) => {
  it('lists the live sessions, newest use first, marking the current one', async () => {
    const { tokens, email, password } = await clientFor(ctx()).loggedInUser()
    ctx().clock.advance(60)
    const other = await loginAgain(ctx(), email, password, 'phone/1.0')
    const response = await ctx().app.inject({
      method: 'GET',
      url: '/auth/sessions',
      headers: bearer(tokens.access_token),
    })
    assert.equal(response.statusCode, 200)
    assert.equal(response.headers['cache-control'], 'no-store')
    const sessions = response.json()
    assert.equal(sessions.length, 2)
    assert.deepEqual(Object.keys(sessions[0]).sort(), [
      'created_at',
      'current',
      'expires_at',
      'id',
      'ip',
      'last_used_at',
      'user_agent',
    ])
    assert.equal(sessions[0].id, decodeJwt(other.access_token).sid)
    assert.equal(sessions[0].user_agent, 'phone/1.0')
    assert.equal(sessions[0].current, false)
    assert.equal(sessions[1].id, decodeJwt(tokens.access_token).sid)
    assert.equal(sessions[1].current, true)
    assert.equal(sessions[1].ip, '127.0.0.1')
    assert.equal(sessions[1].expires_at, new Date(ctx().clock.now() - 60_000 + 7 * 86400_000).toISOString())
  })

  it('drops ended sessions from the list', async () => {
    const { tokens, email, password } = await clientFor(ctx()).loggedInUser()
    const other = await loginAgain(ctx(), email, password)
    await ctx().app.inject({ method: 'POST', url: '/auth/logout', headers: bearer(other.access_token) })
    const sessions = (
      await ctx().app.inject({ method: 'GET', url: '/auth/sessions', headers: bearer(tokens.access_token) })
    ).json()
    assert.deepEqual(
      sessions.map((s: { id: string }) => s.id),
      [decodeJwt(tokens.access_token).sid],
    )
  })
})

await describeOnDatabases('DELETE /auth/sessions/{id}', (ctx) => {
  it('ends one of the caller’s sessions with 204', async () => {
    const { tokens, email, password, user } = await clientFor(ctx()).loggedInUser()
    const other = await loginAgain(ctx(), email, password)
    const id = decodeJwt(other.access_token).sid as string
    const response = await ctx().app.inject({
      method: 'DELETE',
      url: `/auth/sessions/${id}`,
      headers: bearer(tokens.access_token),
    })
    assert.equal(response.statusCode, 204)
    assert.equal((await me(ctx(), other.access_token)).statusCode, 401)
    assert.equal((await refresh(ctx(), other.refresh_token)).statusCode, 401)
    assert.equal((await me(ctx(), tokens.access_token)).statusCode, 200)
    const ended = (await auditEvents(ctx(), user.id)).find((event) => event.type === 'sessions_ended')
    assert.deepEqual(JSON.parse(ended!.data), { reason: 'session_deleted', session_ids: [id] })
  })

  it('answers 404 for someone else’s session, which keeps working', async () => {
    const mine = await clientFor(ctx()).loggedInUser()
    const theirs = await clientFor(ctx()).loggedInUser()
    const id = decodeJwt(theirs.tokens.access_token).sid as string
    const response = await ctx().app.inject({
      method: 'DELETE',
      url: `/auth/sessions/${id}`,
      headers: bearer(mine.tokens.access_token),
    })
    assert.equal(response.statusCode, 404)
    assert.equal(response.json().error.code, 'NOT_FOUND')
    assert.equal((await me(ctx(), theirs.tokens.access_token)).statusCode, 200)
  })

  it('answers 404 for an unknown or already ended session, and 422 for an id that is not a UUID', async () => {
    const { tokens } = await clientFor(ctx()).loggedInUser()
    const unknown = await ctx().app.inject({
      method: 'DELETE',
      url: '/auth/sessions/00000000-0000-4000-8000-000000000000',
      headers: bearer(tokens.access_token),
    })
    assert.equal(unknown.statusCode, 404)
    const invalid = await ctx().app.inject({
      method: 'DELETE',
      url: "/auth/sessions/1' OR 1=1",
      headers: bearer(tokens.access_token),
    })
    assert.equal(invalid.statusCode, 422)
    assert.equal(invalid.json().error.details[0].field, 'id')
  })
})
