import assert from 'node:assert/strict'
import { it } from 'node:test'
import bcrypt from 'bcrypt'
import { decodeJwt, decodeProtectedHeader } from 'jose'
import { hashOpaqueToken } from '../../../src/platform/crypto/opaque-tokens.ts'
import { STRONG_PASSWORD, describeOnDatabases, uniqueEmail, type TestApp } from '../../support/harness.ts'
import { clientFor, type RequestHeaders } from '../../support/client.ts'

async function sessionCount(t: TestApp, userId: string): Promise<number> {
  const rows = await t.context.db.selectFrom('sessions').select('id').where('user_id', '=', userId).execute()
  return rows.length
}

await describeOnDatabases('POST /auth/login', (ctx) => {
  const api = clientFor(ctx)

  it('answers a JSON login with the token response, no-store, and the refresh cookie', async () => {
    const email = uniqueEmail()
    await api.signedUpUser({ email, password: STRONG_PASSWORD })
    const response = await api.login(email, STRONG_PASSWORD)
    assert.equal(response.statusCode, 200)
    const body = response.json()
    assert.deepEqual(Object.keys(body).sort(), [
      'access_token',
      'expires_in',
      'refresh_expires_in',
      'refresh_token',
      'scope',
      'token_type',
    ])
    assert.equal(body.token_type, 'bearer')
    assert.equal(body.expires_in, 900)
    assert.equal(body.refresh_expires_in, 7 * 86400)
    assert.equal(body.scope, 'profile todos:read todos:write')
    assert.ok(Buffer.from(body.refresh_token, 'base64url').length >= 32)
    assert.equal(response.headers['cache-control'], 'no-store')
    const cookie = String(response.headers['set-cookie'])
    assert.match(cookie, new RegExp(`^gatehouse_refresh=${body.refresh_token};`))
    for (const flag of ['HttpOnly', 'Secure', 'SameSite=Strict', 'Path=/auth'])
      assert.ok(cookie.includes(flag), flag)
  })

  it('takes a form body as well', async () => {
    const email = uniqueEmail()
    await api.signedUpUser({ email, password: STRONG_PASSWORD })
    const response = await api.loginForm({ username: email, password: STRONG_PASSWORD })
    assert.equal(response.statusCode, 200)
    assert.ok(response.json().access_token)
  })

  it('accepts the username or the email, in any case', async () => {
    const email = uniqueEmail()
    const username = `Login${Date.now()}`
    await api.signedUpUser({ email, password: STRONG_PASSWORD, username })
    assert.equal((await api.login(username.toUpperCase(), STRONG_PASSWORD)).statusCode, 200)
    assert.equal(
      (await api.login({ username: ` ${email.toUpperCase()} `, password: STRONG_PASSWORD })).statusCode,
      200,
    )
  })

  it('issues an RS256 at+jwt access token with the contract claims', async () => {
    const email = uniqueEmail()
    const user = (await api.signedUpUser({ email, password: STRONG_PASSWORD })).user
    const { access_token: token } = (await api.login(email, STRONG_PASSWORD)).json()
    const header = decodeProtectedHeader(token)
    assert.equal(header.alg, 'RS256')
    assert.equal(header.typ, 'at+jwt')
    assert.equal(typeof header.kid, 'string')
    const claims = decodeJwt(token)
    assert.deepEqual(Object.keys(claims).sort(), [
      'acr',
      'amr',
      'aud',
      'auth_time',
      'client_id',
      'exp',
      'iat',
      'iss',
      'jti',
      'roles',
      'scope',
      'sid',
      'sub',
    ])
    assert.equal(claims.iss, 'gatehouse')
    assert.equal(claims.aud, 'gatehouse')
    assert.equal(claims.sub, user.id)
    assert.deepEqual(claims.roles, ['user'])
    assert.equal(claims.exp! - claims.iat!, 900)
    assert.equal(claims.iat, Math.floor(ctx().clock.now() / 1000))
    // RFC 9068 client_id of the service's own login; RFC 8176 amr of a password; one factor.
    assert.equal(claims.client_id, 'gatehouse')
    assert.equal(claims.auth_time, claims.iat)
    assert.deepEqual(claims.amr, ['pwd'])
    assert.equal(claims.acr, 'aal1')
  })

  it('creates a session and stores only a hash of the refresh token', async () => {
    const email = uniqueEmail()
    const user = (await api.signedUpUser({ email, password: STRONG_PASSWORD })).user
    const response = await api.login(email, STRONG_PASSWORD, { headers: { 'user-agent': 'login-test/1.0' } })
    const { access_token: token, refresh_token: refresh } = response.json()
    const { db } = ctx().context
    const session = await db
      .selectFrom('sessions')
      .selectAll()
      .where('user_id', '=', user.id)
      .executeTakeFirstOrThrow()
    assert.equal(session.id, decodeJwt(token).sid)
    assert.equal(session.user_agent, 'login-test/1.0')
    assert.equal(session.revoked_at, null)
    const tokens = await db
      .selectFrom('refresh_tokens')
      .selectAll()
      .where('session_id', '=', session.id)
      .execute()
    assert.equal(tokens.length, 1)
    assert.equal(tokens[0]!.token_hash, hashOpaqueToken(refresh))
    assert.notEqual(tokens[0]!.token_hash, refresh)
  })

  it('narrows requested scopes to those the roles allow', async () => {
    const email = uniqueEmail()
    await api.signedUpUser({ email, password: STRONG_PASSWORD })
    const response = await api.login({
      username: email,
      password: STRONG_PASSWORD,
      scope: 'todos:read admin nonsense',
    })
    assert.equal(response.json().scope, 'todos:read')
    assert.equal(decodeJwt(response.json().access_token).scope, 'todos:read')
  })

  it('answers an unknown user and a wrong password identically: 401 INVALID_CREDENTIALS', async () => {
    const email = uniqueEmail()
    await api.signedUpUser({ email, password: STRONG_PASSWORD })
    const wrongPassword = await api.login(email, 'not the password')
    const unknownUser = await api.login(uniqueEmail(), 'not the password')
    for (const response of [wrongPassword, unknownUser]) {
      assert.equal(response.statusCode, 401)
      assert.equal(response.headers['www-authenticate'], 'Bearer')
      assert.equal(response.headers['set-cookie'], undefined)
    }
    const withoutId = (body: string) => ({ ...JSON.parse(body).error, request_id: undefined })
    assert.deepEqual(withoutId(wrongPassword.body), withoutId(unknownUser.body))
    assert.equal(wrongPassword.json().error.code, 'INVALID_CREDENTIALS')
  })

  it('refuses a disabled account with 403 ACCOUNT_DISABLED only after the right password', async () => {
    const email = uniqueEmail()
    const user = (await api.signedUpUser({ email, password: STRONG_PASSWORD })).user
    await ctx().context.db.updateTable('users').set({ disabled: 1 }).where('id', '=', user.id).execute()
    const right = await api.login(email, STRONG_PASSWORD)
    assert.equal(right.statusCode, 403)
    assert.equal(right.json().error.code, 'ACCOUNT_DISABLED')
    const wrong = await api.login(email, 'not the password')
    assert.equal(wrong.statusCode, 401)
    assert.equal(wrong.json().error.code, 'INVALID_CREDENTIALS')
  })

  for (const prefix of ['$2a$', '$2b$', '$2y$']) {
    it(`verifies a legacy bcrypt ${prefix} hash and re-hashes it to argon2id`, async () => {
      const email = uniqueEmail()
      const user = (await api.signedUpUser({ email, password: STRONG_PASSWORD })).user
      // What passlib's CryptContext(schemes=["bcrypt"]) in the FastAPI tutorials stores for "secret".
      const legacy = (await bcrypt.hash('secret', 4)).replace(/^\$2b\$/, prefix)
      const { db } = ctx().context
      await db.updateTable('users').set({ password_hash: legacy }).where('id', '=', user.id).execute()
      assert.equal((await api.login(email, 'wrong')).statusCode, 401)
      const stillLegacy = await db
        .selectFrom('users')
        .select('password_hash')
        .where('id', '=', user.id)
        .executeTakeFirstOrThrow()
      assert.equal(stillLegacy.password_hash, legacy)
      assert.equal((await api.login(email, 'secret')).statusCode, 200)
      const upgraded = await db
        .selectFrom('users')
        .select('password_hash')
        .where('id', '=', user.id)
        .executeTakeFirstOrThrow()
      assert.match(upgraded.password_hash, /^\$argon2id\$/)
      assert.equal((await api.login(email, 'secret')).statusCode, 200)
    })
  }

  it('rejects a missing password with 422 naming the field', async () => {
    const response = await api.login({ username: uniqueEmail() })
    assert.equal(response.statusCode, 422)
    assert.deepEqual(response.json().error.details, [{ field: 'password', message: 'is required' }])
  })

  it('answers a text/plain body with 415', async () => {
    const response = await ctx().app.inject({
      method: 'POST',
      url: '/auth/login',
      headers: { 'content-type': 'text/plain' },
      payload: 'username=a&password=b',
    })
    assert.equal(response.statusCode, 415)
    assert.equal(response.json().error.code, 'UNSUPPORTED_MEDIA_TYPE')
  })

  it('refuses a form login the browser marks cross-site (login CSRF) with 403 FORBIDDEN, before any password check', async () => {
    const email = uniqueEmail()
    const user = (await api.signedUpUser({ email, password: STRONG_PASSWORD })).user
    for (const headers of [
      { 'sec-fetch-site': 'cross-site' },
      { origin: 'null' },
      { origin: 'https://evil.example' },
      { origin: 'https://evil.example', 'sec-fetch-site': 'same-site' },
      { origin: 'http://127.0.0.1:8000', 'sec-fetch-site': 'cross-site' },
    ]) {
      for (const password of [STRONG_PASSWORD, 'not the password']) {
        const response = await api.loginForm({ username: email, password }, { headers: headers })
        assert.equal(response.statusCode, 403, `${JSON.stringify(headers)}: ${response.body}`)
        assert.equal(response.json().error.code, 'FORBIDDEN')
        assert.equal(response.headers['set-cookie'], undefined)
      }
    }
    assert.equal(await sessionCount(ctx(), user.id), 0, 'no session was opened')
    const cased = await api.loginForm(
      { username: email, password: STRONG_PASSWORD },
      { headers: { 'content-type': 'Application/X-WWW-Form-Urlencoded; charset=UTF-8', origin: 'null' } },
    )
    assert.equal(cased.statusCode, 403, 'a form however its Content-Type is spelled')
  })

  it('takes a form login from its own origin (http://HOST:PORT), marked same-origin, same-site or none, or unmarked, and a JSON login from anywhere', async () => {
    const email = uniqueEmail()
    await api.signedUpUser({ email, password: STRONG_PASSWORD })
    for (const headers of [
      { origin: 'http://127.0.0.1:8000', 'sec-fetch-site': 'same-origin' },
      { 'sec-fetch-site': 'same-site' },
      { 'sec-fetch-site': 'none' },
      {},
    ]) {
      const response = await api.loginForm(
        { username: email, password: STRONG_PASSWORD },
        { headers: headers },
      )
      assert.equal(response.statusCode, 200, `${JSON.stringify(headers)}: ${response.body}`)
    }
    // JSON cannot be sent cross-site without a CORS preflight, which Gatehouse refuses to such origins.
    const json = await api.login(email, STRONG_PASSWORD, {
      headers: { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
    })
    assert.equal(json.statusCode, 200)
    const otherPort = await api.loginForm(
      { username: email, password: STRONG_PASSWORD },
      { headers: { origin: 'http://127.0.0.1:8001' } },
    )
    assert.equal(otherPort.statusCode, 403, 'another port is another origin')
  })

  it('answers an empty form body with 422 VALIDATION_ERROR naming both fields, and refuses it cross-site with 403', async () => {
    const empty = (headers: RequestHeaders) => api.loginForm({}, { headers })
    const plain = await empty({})
    assert.equal(plain.statusCode, 422, plain.body)
    assert.equal(plain.json().error.code, 'VALIDATION_ERROR')
    assert.deepEqual(
      plain
        .json()
        .error.details.map((detail: { field: string }) => detail.field)
        .sort(),
      ['password', 'username'],
    )
    for (const headers of [{ 'sec-fetch-site': 'cross-site' }, { origin: 'null' }]) {
      const refused = await empty(headers)
      assert.equal(refused.statusCode, 403, JSON.stringify(headers))
      assert.equal(refused.json().error.code, 'FORBIDDEN')
    }
  })

  it('counts successes and failures in /metrics', async () => {
    const email = uniqueEmail()
    await api.signedUpUser({ email, password: STRONG_PASSWORD })
    const before = await ctx().context.metrics.registry.getSingleMetricAsString('gatehouse_logins_total')
    await api.login(email, STRONG_PASSWORD)
    await api.login(email, 'nope nope nope')
    const metrics = (await ctx().app.inject({ method: 'GET', url: '/metrics' })).body
    const count = (text: string, result: string) =>
      Number(new RegExp(`gatehouse_logins_total\\{result="${result}"\\} (\\d+)`).exec(text)?.[1] ?? 0)
    assert.equal(count(metrics, 'success'), count(before, 'success') + 1)
    assert.equal(count(metrics, 'failure'), count(before, 'failure') + 1)
  })
})

await describeOnDatabases(
  'POST /auth/login with a form from a browser (CSRF, JWT_ISSUER, PUBLIC_URL and CORS_ORIGINS set)',
  (ctx) => {
    const api = clientFor(ctx)
    it('takes a form login from JWT_ISSUER’s, PUBLIC_URL’s and the CORS_ORIGINS origins, and refuses look-alikes and the default http://HOST:PORT with 403', async () => {
      const email = uniqueEmail()
      await api.signedUpUser({ email, password: STRONG_PASSWORD })
      const credentials = { username: email, password: STRONG_PASSWORD }
      for (const origin of [
        'https://auth.example.com',
        'https://app.example.com',
        'https://spa.example.com',
      ]) {
        const response = await api.loginForm(credentials, {
          headers: { origin, 'sec-fetch-site': 'same-site' },
        })
        assert.equal(response.statusCode, 200, `${origin}: ${response.body}`)
      }
      for (const origin of [
        'https://auth.example.com.evil.example',
        'http://auth.example.com',
        'https://other.example.com',
        'http://127.0.0.1:8000',
        'null',
      ]) {
        const response = await api.loginForm(credentials, { headers: { origin } })
        assert.equal(response.statusCode, 403, origin)
        assert.equal(response.json().error.code, 'FORBIDDEN')
      }
    })
  },
  {
    env: {
      JWT_ISSUER: 'https://auth.example.com',
      PUBLIC_URL: 'https://app.example.com/start',
      CORS_ORIGINS: 'https://spa.example.com',
    },
  },
)
