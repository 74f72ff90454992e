import assert from 'node:assert/strict'
import { it } from 'node:test'
import bcrypt from 'bcrypt'
import { STRONG_PASSWORD, describeOnDatabases, uniqueEmail } from '../../support/harness.ts'
import { clientFor } from '../../support/client.ts'

await describeOnDatabases('X-Request-ID', (ctx) => {
  it('is on every response, fresh when the client sent none', async () => {
    const response = await ctx().app.inject({ method: 'GET', url: '/health' })
    assert.match(String(response.headers['x-request-id']), /^[0-9a-f-]{36}$/)
  })

  it('echoes a well-formed client id', async () => {
    for (const id of ['abc-123', 'trace:span.1_2', 'x'.repeat(128)]) {
      const response = await ctx().app.inject({
        method: 'GET',
        url: '/health',
        headers: { 'x-request-id': id },
      })
      assert.equal(response.headers['x-request-id'], id)
    }
  })

  it('replaces a hostile or oversized client id', async () => {
    for (const id of ['has space', 'x'.repeat(129), '<script>', 'a\u00e9b', 'line\tbreak', '']) {
      const response = await ctx().app.inject({
        method: 'GET',
        url: '/nowhere',
        headers: { 'x-request-id': id },
      })
      const sent = String(response.headers['x-request-id'])
      assert.notEqual(sent, id)
      assert.match(sent, /^[0-9a-f-]{36}$/)
      assert.equal(response.json().error.request_id, sent)
    }
  })
})

await describeOnDatabases('Logs', (ctx) => {
  const linesOf = (requestId: string) => ctx().logs.lines.filter((line) => line.request_id === requestId)

  it('writes one access line per request with method, route, status and duration', async () => {
    const response = await ctx().app.inject({
      method: 'GET',
      url: '/health?probe=1',
      headers: { 'x-request-id': 'access-line-1' },
    })
    const lines = linesOf('access-line-1')
    assert.equal(lines.length, 1)
    assert.equal(response.statusCode, 200)
    const [line] = lines
    assert.equal(line!.msg, 'request')
    assert.equal(line!.method, 'GET')
    assert.equal(line!.route, '/health')
    assert.equal(line!.path, '/health')
    assert.equal(line!.status, 200)
    assert.equal(typeof line!.duration_ms, 'number')
  })

  it('carries the user id on the lines of an authenticated request', async () => {
    const { authorization, user } = await clientFor(ctx()).loggedInUser()
    await ctx().app.inject({
      method: 'GET',
      url: '/me',
      headers: { authorization, 'x-request-id': 'authenticated-1' },
    })
    const [line] = linesOf('authenticated-1')
    assert.equal(line!.user_id, user.id)
  })

  it('puts the request id on lines written deep inside a call', async () => {
    const email = uniqueEmail()
    const signup = await ctx().app.inject({
      method: 'POST',
      url: '/auth/signup',
      payload: { email, password: STRONG_PASSWORD },
    })
    const legacy = await bcrypt.hash('legacy secret', 4)
    const { db } = ctx().context
    await db.updateTable('users').set({ password_hash: legacy }).where('id', '=', signup.json().id).execute()
    await ctx().app.inject({
      method: 'POST',
      url: '/auth/login',
      headers: { 'x-request-id': 'deep-call-1' },
      payload: { username: email, password: 'legacy secret' },
    })
    const upgrade = linesOf('deep-call-1').find((line) => line.msg === 'password hash upgraded to argon2id')
    assert.ok(upgrade, 'the service-level line carries the request id')
    assert.equal(upgrade.user_id, signup.json().id)
  })

  it('never contains passwords, tokens, hashes, Authorization or Cookie values', async () => {
    const password = 'a very unusual passphrase 7f3a'
    const email = uniqueEmail()
    const signup = await ctx().app.inject({
      method: 'POST',
      url: '/auth/signup',
      payload: { email, password },
    })
    const login = await ctx().app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { username: email, password },
    })
    const { access_token: accessToken, refresh_token: refreshToken } = login.json()
    const cookie = `gatehouse_refresh=${refreshToken}`
    await ctx().app.inject({
      method: 'GET',
      url: '/me',
      headers: { authorization: `Bearer ${accessToken}`, cookie },
    })
    await ctx().app.inject({
      method: 'GET',
      url: '/me',
      headers: { authorization: `Bearer ${accessToken}x` },
    })
    await ctx().app.inject({
      method: 'POST',
      url: '/auth/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({
        grant_type: 'password',
        username: email,
        password: `${password}!`,
      }).toString(),
    })
    const row = await ctx()
      .context.db.selectFrom('users')
      .select('password_hash')
      .where('id', '=', signup.json().id)
      .executeTakeFirstOrThrow()
    const text = ctx().logs.text()
    assert.ok(text.length > 0)
    for (const secret of [
      password,
      accessToken,
      accessToken.split('.')[2],
      refreshToken,
      row.password_hash,
      cookie,
      'Bearer ',
    ]) {
      assert.ok(!text.includes(secret), `log contains ${secret.slice(0, 12)}…`)
    }
  })
})
