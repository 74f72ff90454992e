import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { describe, it } from 'node:test'
import { SignJWT, UnsecuredJWT, decodeJwt, decodeProtectedHeader } from 'jose'
import { clientFor } from '../../support/client.ts'
import {
  JWT_BEARER,
  basicAuthorization,
  clientAssertion,
  registerClient,
  type RegisteredClient,
} from '../../support/clients.ts'
import { STRONG_PASSWORD, describeOnDatabases } from '../../support/harness.ts'

await describeOnDatabases('POST /auth/token grant_type=client_credentials (RFC 6749 §4.4)', (ctx) => {
  const api = clientFor(ctx)
  const withBasic = (client: RegisteredClient, form: Record<string, string> = {}, secret = client.secret) =>
    api.token(
      { grant_type: 'client_credentials', ...form },
      { headers: { authorization: basicAuthorization(client.clientId, secret) } },
    )
  const withAssertion = (assertion: string, form: Record<string, string> = {}) =>
    api.token({
      grant_type: 'client_credentials',
      client_assertion_type: JWT_BEARER,
      client_assertion: assertion,
      ...form,
    })

  it('issues a token of the client itself: sub = client_id, no session, roles or refresh token', async () => {
    const client = await registerClient(ctx(), { scopes: ['reports:read', 'introspect'] })
    const response = await withBasic(client)
    assert.equal(response.statusCode, 200)
    assert.equal(response.headers['cache-control'], 'no-store')
    const body = response.json()
    assert.deepEqual(Object.keys(body).sort(), ['access_token', 'expires_in', 'scope', 'token_type'])
    assert.equal(body.token_type, 'bearer')
    assert.equal(body.scope, 'reports:read introspect')
    assert.equal(body.expires_in, ctx().context.config.accessTokenTtlSeconds)
    const claims = decodeJwt(body.access_token)
    assert.equal(claims.sub, client.clientId)
    assert.equal(claims.client_id, client.clientId)
    assert.equal(claims.scope, 'reports:read introspect')
    for (const absent of ['sid', 'roles', 'auth_time', 'amr', 'acr'])
      assert.equal(claims[absent], undefined, absent)
    assert.equal(decodeProtectedHeader(body.access_token).typ, 'at+jwt')
    const verified = await ctx().context.accessTokens.verify(body.access_token)
    assert.equal(verified.kind, 'client')
  })

  it('narrows to the scopes asked for, and refuses one the client may not have with invalid_scope', async () => {
    const client = await registerClient(ctx(), { scopes: ['reports:read', 'reports:write'] })
    const narrowed = await withBasic(client, { scope: 'reports:read' })
    assert.equal(narrowed.statusCode, 200)
    assert.equal(narrowed.json().scope, 'reports:read')
    const refused = await withBasic(client, { scope: 'reports:read admin' })
    assert.equal(refused.statusCode, 400)
    assert.equal(refused.json().error, 'invalid_scope')
  })

  it('accepts percent-encoded ids and secrets in Basic credentials (§2.3.1)', async () => {
    const client = await registerClient(ctx())
    // Every byte percent-encoded, as a client may: `client_x` is sent as `%63%6c…`.
    const encode = (text: string) => Buffer.from(text).toString('hex').replace(/../g, '%$&')
    const authorization = `Basic ${Buffer.from(`${encode(client.clientId)}:${encode(client.secret)}`).toString('base64')}`
    const response = await api.token({ grant_type: 'client_credentials' }, { headers: { authorization } })
    assert.equal(response.statusCode, 200)
  })

  it('answers a wrong secret with 401 invalid_client and a Basic challenge', async () => {
    const client = await registerClient(ctx())
    const response = await withBasic(client, {}, `${client.secret}x`)
    assert.equal(response.statusCode, 401)
    assert.equal(response.json().error, 'invalid_client')
    assert.equal(response.headers['www-authenticate'], 'Basic realm="gatehouse"')
    assert.equal(response.headers['cache-control'], 'no-store')
  })

  it('answers Basic credentials that are not base64, or lack a colon, with 401 invalid_client', async () => {
    for (const authorization of [
      'Basic !!!not-base64!!!',
      `Basic ${Buffer.from('client_without_colon').toString('base64')}`,
      `Basic ${Buffer.from(':secret').toString('base64')}`,
      `Basic ${Buffer.from('%zz:secret').toString('base64')}`,
    ]) {
      const response = await api.token({ grant_type: 'client_credentials' }, { headers: { authorization } })
      assert.equal(response.statusCode, 401, authorization)
      assert.equal(response.json().error, 'invalid_client')
      assert.equal(response.headers['www-authenticate'], 'Basic realm="gatehouse"')
    }
  })

  it('takes the secret in the body from a client_secret_post client, with no challenge on failure', async () => {
    const client = await registerClient(ctx(), { method: 'client_secret_post' })
    const ok = await api.token({
      grant_type: 'client_credentials',
      client_id: client.clientId,
      client_secret: client.secret,
    })
    assert.equal(ok.statusCode, 200)
    const wrong = await api.token({
      grant_type: 'client_credentials',
      client_id: client.clientId,
      client_secret: 'nope',
    })
    assert.equal(wrong.statusCode, 401)
    assert.equal(wrong.json().error, 'invalid_client')
    assert.equal(wrong.headers['www-authenticate'], undefined)
  })

  it('refuses a client that authenticates with another method than it registered', async () => {
    const post = await registerClient(ctx(), { method: 'client_secret_post' })
    assert.equal((await withBasic(post)).statusCode, 401)
    const basic = await registerClient(ctx())
    const inBody = await api.token({
      grant_type: 'client_credentials',
      client_id: basic.clientId,
      client_secret: basic.secret,
    })
    assert.equal(inBody.statusCode, 401)
  })

  it('refuses two authentication methods at once with invalid_request (§2.3)', async () => {
    const client = await registerClient(ctx())
    const response = await withBasic(client, { client_id: client.clientId, client_secret: client.secret })
    assert.equal(response.statusCode, 400)
    assert.equal(response.json().error, 'invalid_request')
  })

  it('answers no client authentication, an unknown client and a disabled one alike: 401 invalid_client', async () => {
    const none = await api.token({
      grant_type: 'client_credentials',
      client_id: 'client_0123456789abcdefghijkl',
    })
    assert.equal(none.statusCode, 401)
    assert.equal(none.json().error, 'invalid_client')
    const unknown = await api.token(
      { grant_type: 'client_credentials' },
      { headers: { authorization: basicAuthorization(`client_${'A'.repeat(22)}`, 'secret') } },
    )
    assert.equal(unknown.statusCode, 401)
    const disabled = await registerClient(ctx(), { disabled: true })
    const refused = await withBasic(disabled)
    assert.equal(refused.statusCode, 401)
    assert.equal(refused.json().error, 'invalid_client')
  })

  it('refuses a parameter sent twice with invalid_request (§3.1)', async () => {
    const client = await registerClient(ctx())
    const response = await ctx().app.inject({
      method: 'POST',
      url: '/auth/token',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: basicAuthorization(client.clientId, client.secret),
      },
      payload: 'grant_type=client_credentials&grant_type=client_credentials',
    })
    assert.equal(response.statusCode, 400)
    assert.equal(response.json().error, 'invalid_request')
  })

  it('ignores client credentials on the password grant: it belongs to the public client gatehouse', async () => {
    const { email } = await api.signedUpUser()
    const response = await api.token(
      { grant_type: 'password', username: email, password: STRONG_PASSWORD },
      { headers: { authorization: 'Basic !!!' } },
    )
    assert.equal(response.statusCode, 200)
    assert.equal(decodeJwt(response.json().access_token).client_id, 'gatehouse')
  })

  it('gives a machine token 403 FORBIDDEN on routes that act on a user', async () => {
    const client = await registerClient(ctx(), { scopes: ['todos:read'] })
    const token = (await withBasic(client)).json().access_token
    for (const url of ['/me', '/todos', '/auth/sessions']) {
      const response = await api.as(token).get(url)
      assert.equal(response.statusCode, 403, url)
      assert.equal(response.json().error.code, 'FORBIDDEN')
    }
  })

  it('never writes a client secret or assertion into the logs', async () => {
    const client = await registerClient(ctx())
    await withBasic(client)
    await withBasic(client, {}, 'a wrong secret')
    const signed = await registerClient(ctx(), { method: 'private_key_jwt' })
    const assertion = await clientAssertion(ctx(), signed)
    await withAssertion(assertion)
    const logs = ctx().logs.text()
    assert.ok(!logs.includes(client.secret))
    assert.ok(!logs.includes(assertion))
  })

  describe('private_key_jwt (RFC 7523)', () => {
    it('accepts an assertion signed with a registered key (RFC 7523), with or without client_id', async () => {
      const client = await registerClient(ctx(), { method: 'private_key_jwt', scopes: ['introspect'] })
      const response = await withAssertion(await clientAssertion(ctx(), client))
      assert.equal(response.statusCode, 200)
      assert.equal(decodeJwt(response.json().access_token).sub, client.clientId)
      const named = await withAssertion(await clientAssertion(ctx(), client), { client_id: client.clientId })
      assert.equal(named.statusCode, 200)
    })

    it('refuses a replayed jti, on this instance and every other (the database records it)', async () => {
      const client = await registerClient(ctx(), { method: 'private_key_jwt' })
      const assertion = await clientAssertion(ctx(), client)
      assert.equal((await withAssertion(assertion)).statusCode, 200)
      const replay = await withAssertion(assertion)
      assert.equal(replay.statusCode, 401)
      assert.equal(replay.json().error, 'invalid_client')
    })

    it('refuses an assertion for another audience: the token endpoint URL, a list, another issuer', async () => {
      const client = await registerClient(ctx(), { method: 'private_key_jwt' })
      const issuer = ctx().context.config.jwt.issuer
      for (const aud of [
        'http://127.0.0.1:8000/auth/token',
        [issuer],
        [issuer, 'https://elsewhere'],
        'other',
      ]) {
        const response = await withAssertion(await clientAssertion(ctx(), client, { aud }))
        assert.equal(response.statusCode, 401, JSON.stringify(aud))
      }
    })

    it('refuses alg none, an HMAC assertion, and a key that is not registered', async () => {
      const client = await registerClient(ctx(), { method: 'private_key_jwt' })
      const claims = {
        iss: client.clientId,
        sub: client.clientId,
        aud: ctx().context.config.jwt.issuer,
        jti: randomUUID(),
      }
      const now = Math.floor(ctx().clock.now() / 1000)
      const unsigned = new UnsecuredJWT(claims)
        .setIssuedAt(now)
        .setExpirationTime(now + 60)
        .encode()
      assert.equal((await withAssertion(unsigned)).statusCode, 401)
      const hmac = await new SignJWT(claims)
        .setProtectedHeader({ alg: 'HS256', kid: client.key?.kid })
        .setIssuedAt(now)
        .setExpirationTime(now + 60)
        .sign(new TextEncoder().encode(client.key?.kid.padEnd(32, 'x')))
      assert.equal((await withAssertion(hmac)).statusCode, 401)
      const other = await registerClient(ctx(), { method: 'private_key_jwt' })
      const foreignKey = await clientAssertion(ctx(), { ...client, key: other.key })
      assert.equal((await withAssertion(foreignKey)).statusCode, 401)
    })

    it('refuses an assertion valid for more than 5 minutes, expired, or without jti', async () => {
      const client = await registerClient(ctx(), { method: 'private_key_jwt' })
      const now = Math.floor(ctx().clock.now() / 1000)
      for (const claims of [
        { exp: now + 600, iat: now },
        { exp: now + 600, iat: undefined },
        { exp: now - 120 },
        { jti: undefined },
        { iss: `client_${'B'.repeat(22)}` },
        { sub: 'someone-else' },
      ]) {
        const response = await withAssertion(await clientAssertion(ctx(), client, claims))
        assert.equal(response.statusCode, 401, JSON.stringify(claims))
        assert.equal(response.json().error, 'invalid_client')
      }
    })

    it('refuses a wrong client_assertion_type and an assertion that is not a JWT', async () => {
      const client = await registerClient(ctx(), { method: 'private_key_jwt' })
      const assertion = await clientAssertion(ctx(), client)
      const wrongType = await api.token({
        grant_type: 'client_credentials',
        client_assertion_type: 'urn:other',
        client_assertion: assertion,
      })
      assert.equal(wrongType.statusCode, 401)
      assert.equal((await withAssertion('not.a.jwt')).statusCode, 401)
      assert.equal((await withAssertion('garbage')).statusCode, 401)
    })
  })
})

await describeOnDatabases(
  'POST /auth/token client authentication limits (LOGIN_RATE_LIMIT=3)',
  (ctx) => {
    const api = clientFor(ctx)

    it('refuses a client id after 3 failed authentications a minute, even with the right secret, until the minute passes', async () => {
      const client = await registerClient(ctx())
      const attempt = (secret: string, remoteAddress: string) =>
        api.token(
          { grant_type: 'client_credentials' },
          { remoteAddress, headers: { authorization: basicAuthorization(client.clientId, secret) } },
        )
      for (let i = 0; i < 3; i++)
        assert.equal((await attempt('wrong', `198.51.100.${10 + i}`)).statusCode, 401)
      const limited = await attempt(client.secret, '198.51.100.20')
      assert.equal(limited.statusCode, 429)
      assert.equal(limited.json().error, 'temporarily_unavailable')
      assert.ok(Number(limited.headers['retry-after']) >= 1)
      ctx().clock.advance(61)
      assert.equal((await attempt(client.secret, '198.51.100.20')).statusCode, 200)
    })

    it('refuses an address after 3 failed authentications a minute, whichever clients it names', async () => {
      const remoteAddress = '198.51.100.30'
      for (let i = 0; i < 3; i++) {
        const other = await registerClient(ctx())
        const response = await api.token(
          { grant_type: 'client_credentials' },
          { remoteAddress, headers: { authorization: basicAuthorization(other.clientId, 'wrong') } },
        )
        assert.equal(response.statusCode, 401)
      }
      const client = await registerClient(ctx())
      const limited = await api.token(
        { grant_type: 'client_credentials' },
        { remoteAddress, headers: { authorization: basicAuthorization(client.clientId, client.secret) } },
      )
      assert.equal(limited.statusCode, 429)
    })
  },
  { env: { LOGIN_RATE_LIMIT: '3' } },
)
