import assert from 'node:assert/strict'
import { createHmac, generateKeyPairSync, randomUUID } from 'node:crypto'
import { it } from 'node:test'
import { SignJWT, decodeJwt, decodeProtectedHeader, exportJWK, importJWK, type JWK } from 'jose'
import { describeOnDatabases, type TestApp } from '../../support/harness.ts'
import { clientFor } from '../../support/client.ts'

const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')

/** The stored RS256 private key, to mint tokens that differ from real ones in exactly one way. */
async function realSigningKey(t: TestApp) {
  const row = await t.context.db
    .selectFrom('signing_keys')
    .selectAll()
    .where('retired_at', 'is', null)
    .executeTakeFirstOrThrow()
  return {
    kid: row.kid,
    key: await importJWK(JSON.parse(row.private_jwk) as JWK, 'RS256'),
    publicJwk: JSON.parse(row.public_jwk) as JWK,
  }
}

async function mint(
  t: TestApp,
  claims: Record<string, unknown>,
  header: Record<string, unknown> = {},
  omit: string[] = [],
): Promise<string> {
  const { kid, key } = await realSigningKey(t)
  const now = Math.floor(t.clock.now() / 1000)
  const payload: Record<string, unknown> = {
    iss: 'gatehouse',
    aud: 'gatehouse',
    sub: randomUUID(),
    sid: randomUUID(),
    jti: randomUUID(),
    roles: ['user'],
    scope: 'profile',
    iat: now,
    exp: now + 900,
    ...claims,
  }
  for (const name of omit) delete payload[name]
  return new SignJWT(payload).setProtectedHeader({ alg: 'RS256', kid, typ: 'at+jwt', ...header }).sign(key)
}

await describeOnDatabases('Bearer access tokens on protected routes', (ctx) => {
  const api = clientFor(ctx)
  const assertRejected = async (token: string, code = 'INVALID_TOKEN') => {
    const response = await api.me(token)
    assert.equal(response.statusCode, 401)
    assert.equal(response.json().error.code, code)
    assert.ok(!response.body.includes(token), 'the token is never echoed')
  }

  it('accepts a token minted the way the service mints them (control for the cases below)', async () => {
    const { user } = await api.loggedInUser()
    const token = await mint(ctx(), { sub: user.id })
    assert.equal((await api.me(token)).statusCode, 200)
  })

  it('rejects alg "none" (an unsigned token)', async () => {
    const { user, tokens } = await api.loggedInUser()
    const header = { ...decodeProtectedHeader(tokens.access_token), alg: 'none' }
    await assertRejected(
      `${base64url(header)}.${base64url({ ...decodeJwt(tokens.access_token), sub: user.id })}.`,
    )
  })

  it('rejects HS256 signed with the public key (algorithm confusion)', async () => {
    const { tokens } = await api.loggedInUser()
    const { kid, publicJwk } = await realSigningKey(ctx())
    const header = base64url({ alg: 'HS256', kid, typ: 'at+jwt' })
    const payload = base64url(decodeJwt(tokens.access_token))
    const signature = createHmac('sha256', JSON.stringify(publicJwk))
      .update(`${header}.${payload}`)
      .digest('base64url')
    await assertRejected(`${header}.${payload}.${signature}`)
  })

  it('rejects a token signed by another key that claims our kid', async () => {
    const { user } = await api.loggedInUser()
    const { kid } = await realSigningKey(ctx())
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
    const now = Math.floor(ctx().clock.now() / 1000)
    const forged = await new SignJWT({ sid: randomUUID(), roles: ['admin'], scope: 'admin' })
      .setProtectedHeader({ alg: 'RS256', kid, typ: 'at+jwt' })
      .setIssuer('gatehouse')
      .setAudience('gatehouse')
      .setSubject(user.id)
      .setIssuedAt(now)
      .setExpirationTime(now + 900)
      .setJti(randomUUID())
      .sign(privateKey)
    await assertRejected(forged)
  })

  it('rejects a tampered payload', async () => {
    const { tokens } = await api.loggedInUser()
    const [header, , signature] = tokens.access_token.split('.')
    const payload = base64url({ ...decodeJwt(tokens.access_token), roles: ['admin'] })
    await assertRejected(`${header}.${payload}.${signature}`)
  })

  it('rejects a token whose typ is not at+jwt (e.g. an ID token)', async () => {
    const { user } = await api.loggedInUser()
    await assertRejected(await mint(ctx(), { sub: user.id }, { typ: 'JWT' }))
    await assertRejected(await mint(ctx(), { sub: user.id }, { typ: undefined }))
  })

  it('rejects the wrong issuer or audience', async () => {
    const { user } = await api.loggedInUser()
    await assertRejected(await mint(ctx(), { sub: user.id, iss: 'someone-else' }))
    await assertRejected(await mint(ctx(), { sub: user.id, aud: 'another-api' }))
  })

  it('rejects a token missing a required claim', async () => {
    const { user } = await api.loggedInUser()
    for (const claim of ['exp', 'iat', 'sid', 'jti', 'sub', 'iss', 'aud']) {
      await assertRejected(await mint(ctx(), { sub: user.id }, {}, [claim]))
    }
  })

  it('rejects a token that is not yet valid (nbf or iat in the future beyond the leeway)', async () => {
    const { user } = await api.loggedInUser()
    const now = Math.floor(ctx().clock.now() / 1000)
    await assertRejected(await mint(ctx(), { sub: user.id, nbf: now + 120 }))
    await assertRejected(await mint(ctx(), { sub: user.id, iat: now + 120 }))
    assert.equal((await api.me(await mint(ctx(), { sub: user.id, nbf: now + 5 }))).statusCode, 200)
  })

  it('rejects a token signed by the real key with a lifetime beyond ACCESS_TOKEN_TTL (a 2 h token)', async () => {
    const { user } = await api.loggedInUser()
    const now = Math.floor(ctx().clock.now() / 1000)
    await assertRejected(await mint(ctx(), { sub: user.id, exp: now + 2 * 3600 }))
    await assertRejected(await mint(ctx(), { sub: user.id, iat: now - 3600, exp: now + 600 }))
    const withinLeeway = await mint(ctx(), { sub: user.id, iat: now - 20, exp: now + 900 })
    assert.equal((await api.me(withinLeeway)).statusCode, 200, 'ACCESS_TOKEN_TTL plus the clock leeway')
  })

  it('rejects a token of an unknown kid without failing the request', async () => {
    const { user } = await api.loggedInUser()
    await assertRejected(await mint(ctx(), { sub: user.id }, { kid: 'no-such-key' }))
    await assertRejected(await mint(ctx(), { sub: user.id }, { kid: undefined }))
  })

  it('rejects claims of the wrong type', async () => {
    const { user } = await api.loggedInUser()
    await assertRejected(await mint(ctx(), { sub: user.id, roles: 'admin' }))
    await assertRejected(await mint(ctx(), { sub: user.id, scope: ['profile'] }))
  })
})

await describeOnDatabases(
  'Bearer access tokens signed with HS256',
  (ctx) => {
    const api = clientFor(ctx)
    it('verifies its own tokens and publishes no key in the JWKS', async () => {
      const { tokens } = await api.loggedInUser()
      assert.equal(decodeProtectedHeader(tokens.access_token).alg, 'HS256')
      assert.equal((await api.me(tokens.access_token)).statusCode, 200)
      assert.deepEqual((await ctx().app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json(), {
        keys: [],
      })
    })

    it('rejects an RS256 token when only HS256 is configured', async () => {
      const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
      const kid = (await exportJWK(publicKey)).n!.slice(0, 8)
      const { tokens } = await api.loggedInUser()
      const forged = await new SignJWT(decodeJwt(tokens.access_token))
        .setProtectedHeader({ alg: 'RS256', kid, typ: 'at+jwt' })
        .sign(privateKey)
      const response = await ctx().app.inject({
        method: 'GET',
        url: '/me',
        headers: { authorization: `Bearer ${forged}` },
      })
      assert.equal(response.statusCode, 401)
      assert.equal(response.json().error.code, 'INVALID_TOKEN')
    })
  },
  { env: { JWT_ALG: 'HS256', JWT_SECRET: 'a-test-secret-that-is-long-enough-0123456789' } },
)
