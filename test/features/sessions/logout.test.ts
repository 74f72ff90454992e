import assert from 'node:assert/strict'
import { it } from 'node:test'
import { decodeJwt } from 'jose'
import { describeOnDatabases, type TestApp } from '../../support/harness.ts'
import { clientFor } from '../../support/client.ts'

interface Tokens {
  access_token: string
  refresh_token: string
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
  const api = clientFor(ctx)
  it('answers 204, clears the cookie, and stops the session’s access and refresh tokens at once', async () => {
    const { tokens, user } = await api.loggedInUser()
    const response = await api.logout(tokens.access_token, { requestId: 'logout-1' })
    assert.equal(response.statusCode, 204)
    assert.equal(response.body, '')
    const cookie = String(response.headers['set-cookie'])
    assert.match(cookie, /^gatehouse_refresh=;/)
    assert.match(cookie, /Expires=Thu, 01 Jan 1970|Max-Age=0/)
    assert.ok(cookie.includes('Path=/auth'))
    const after = await api.me(tokens.access_token)
    assert.equal(after.statusCode, 401)
    assert.equal(after.json().error.code, 'INVALID_TOKEN')
    assert.equal((await api.refresh(tokens.refresh_token)).statusCode, 401)
    const logout = (await auditEvents(ctx(), user.id)).find((event) => event.type === 'logout')
    assert.ok(logout)
    assert.equal(logout.request_id, 'logout-1')
  })

  it('leaves the user’s other sessions working', async () => {
    const { tokens, email, password } = await api.loggedInUser()
    const other = await api.tokens(email, password, { headers: { 'user-agent': 'second-device' } })
    await api.logout(tokens.access_token)
    assert.equal((await api.me(other.access_token)).statusCode, 200)
    assert.equal((await api.refresh(other.refresh_token)).statusCode, 200)
  })

  it('also ends access tokens minted for the session by earlier refreshes', async () => {
    const { tokens } = await api.loggedInUser()
    const refreshed = (await api.refresh(tokens.refresh_token)).json<Tokens>()
    await api.logout(refreshed.access_token)
    assert.equal((await api.me(tokens.access_token)).statusCode, 401)
    assert.equal((await api.me(refreshed.access_token)).statusCode, 401)
  })

  it('keeps the revocation until the access tokens would have expired anyway', async () => {
    const { tokens } = await api.loggedInUser()
    await api.logout(tokens.access_token)
    ctx().clock.advance(14 * 60)
    assert.equal((await api.me(tokens.access_token)).json().error.code, 'INVALID_TOKEN')
    ctx().clock.advance(2 * 60)
    assert.equal((await api.me(tokens.access_token)).json().error.code, 'TOKEN_EXPIRED')
  })

  it('requires a bearer token', async () => {
    const response = await ctx().app.inject({ method: 'POST', url: '/auth/logout' })
    assert.equal(response.statusCode, 401)
    assert.equal(response.json().error.code, 'AUTH_REQUIRED')
  })
})

await describeOnDatabases('POST /auth/logout-all', (ctx) => {
  const api = clientFor(ctx)
  it('ends every session of the user, and only theirs', async () => {
    const { tokens, email, password } = await api.loggedInUser()
    const other = await api.tokens(email, password, { headers: { 'user-agent': 'second-device' } })
    const stranger = await api.loggedInUser()
    const response = await api.logout(other.access_token, { all: true })
    assert.equal(response.statusCode, 204)
    assert.match(String(response.headers['set-cookie']), /^gatehouse_refresh=;/)
    for (const session of [tokens, other]) {
      assert.equal((await api.me(session.access_token)).statusCode, 401)
      assert.equal((await api.refresh(session.refresh_token)).statusCode, 401)
    }
    assert.equal((await api.me(stranger.tokens.access_token)).statusCode, 200)
  })
})

await describeOnDatabases('GET /auth/sessions', (ctx) => {
  const api = clientFor(ctx)
  it('lists the live sessions, newest use first, marking the current one', async () => {
    const { tokens, email, password } = await api.loggedInUser()
    ctx().clock.advance(60)
    const other = await api.tokens(email, password, { headers: { 'user-agent': 'phone/1.0' } })
    const response = await api.as(tokens.access_token).get('/auth/sessions')
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
    const { tokens, email, password } = await api.loggedInUser()
    const other = await api.tokens(email, password, { headers: { 'user-agent': 'second-device' } })
    await api.logout(other.access_token)
    const sessions = (await api.as(tokens.access_token).get('/auth/sessions')).json()
    assert.deepEqual(
      sessions.map((s: { id: string }) => s.id),
      [decodeJwt(tokens.access_token).sid],
    )
  })
})

await describeOnDatabases('DELETE /auth/sessions/{id}', (ctx) => {
  const api = clientFor(ctx)
  it('ends one of the caller’s sessions with 204', async () => {
    const { tokens, email, password, user } = await api.loggedInUser()
    const other = await api.tokens(email, password, { headers: { 'user-agent': 'second-device' } })
    const id = decodeJwt(other.access_token).sid as string
    const response = await api.as(tokens.access_token).delete(`/auth/sessions/${id}`)
    assert.equal(response.statusCode, 204)
    assert.equal((await api.me(other.access_token)).statusCode, 401)
    assert.equal((await api.refresh(other.refresh_token)).statusCode, 401)
    assert.equal((await api.me(tokens.access_token)).statusCode, 200)
    const ended = (await auditEvents(ctx(), user.id)).find((event) => event.type === 'sessions_ended')
    assert.deepEqual(JSON.parse(ended!.data), { reason: 'session_deleted', session_ids: [id] })
  })

  it('answers 404 for someone else’s session, which keeps working', async () => {
    const mine = await api.loggedInUser()
    const theirs = await api.loggedInUser()
    const id = decodeJwt(theirs.tokens.access_token).sid as string
    const response = await api.as(mine.tokens.access_token).delete(`/auth/sessions/${id}`)
    assert.equal(response.statusCode, 404)
    assert.equal(response.json().error.code, 'NOT_FOUND')
    assert.equal((await api.me(theirs.tokens.access_token)).statusCode, 200)
  })

  it('answers 404 for an unknown or already ended session, and 422 for an id that is not a UUID', async () => {
    const { tokens } = await api.loggedInUser()
    const unknown = await api
      .as(tokens.access_token)
      .delete('/auth/sessions/00000000-0000-4000-8000-000000000000')
    assert.equal(unknown.statusCode, 404)
    const invalid = await api.as(tokens.access_token).delete("/auth/sessions/1' OR 1=1")
    assert.equal(invalid.statusCode, 422)
    assert.equal(invalid.json().error.details[0].field, 'id')
  })
})
