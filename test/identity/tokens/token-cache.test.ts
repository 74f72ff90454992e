import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, describe, it, mock } from 'node:test'
import { AccessTokens, VerifiedTokenCache } from '../../../src/identity/tokens/access-tokens.ts'
import { AppError } from '../../../src/platform/http/errors.ts'
import type { KeyStore } from '../../../src/identity/signing-keys/key-store.ts'
import { createTestDatabase, type TestDatabase } from '../../support/databases.ts'
import { startTestApp, stopTestApp, type TestApp } from '../../support/harness.ts'
import { clientFor } from '../../support/client.ts'

/** The error code `promise` rejects with; fails the test if it resolves. */
async function rejectionCode(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => assert.fail('expected the token to be rejected'),
    (e: unknown) => e,
  )
  assert.ok(error instanceof AppError, `expected an AppError, got ${String(error)}`)
  return error.code
}

/** Replaces one character in the middle of a token part (never a trailing base64url padding bit). */
function alterOneCharacter(token: string, part: 1 | 2): string {
  const parts = token.split('.')
  const text = parts[part] ?? ''
  const at = Math.floor(text.length / 2)
  parts[part] = `${text.slice(0, at)}${text[at] === 'A' ? 'B' : 'A'}${text.slice(at + 1)}`
  return parts.join('.')
}

describe('VerifiedTokenCache', () => {
  const entry = (sub: string) => ({
    claims: { kind: 'user' as const, sub, sid: 's', jti: 'j', roles: [], scope: '', iat: 0, exp: 1 },
    kid: 'k',
  })

  it('holds at most its size, dropping the least recently used entry', () => {
    const cache = new VerifiedTokenCache(3)
    for (const token of ['a', 'b', 'c']) cache.set(token, entry(token))
    assert.equal(cache.get('a')?.claims.sub, 'a') // a is now the most recently used
    cache.set('d', entry('d'))
    assert.equal(cache.size, 3)
    assert.equal(cache.get('b'), undefined)
    assert.deepEqual(
      ['a', 'c', 'd'].map((token) => cache.get(token)?.claims.sub),
      ['a', 'c', 'd'],
    )
  })

  it('refuses a size that is not a positive whole number', () => {
    for (const size of [0, -1, 1.5, Number.NaN]) assert.throws(() => new VerifiedTokenCache(size), TypeError)
  })
})

describe('AccessTokens: the verified-token cache', () => {
  let database: TestDatabase | undefined
  let t: TestApp
  before(async () => {
    database = await createTestDatabase('sqlite')
    t = await startTestApp(database)
  })
  after(async () => {
    await stopTestApp(t)
    await database?.drop()
  })

  const tokens = (options: { cacheSize?: number; keys?: KeyStore } = {}) =>
    new AccessTokens(
      options.keys ?? t.context.signingKeys,
      t.context.revocations,
      t.context.config,
      t.clock,
      options,
    )
  const issue = (sessionId: string = randomUUID()) =>
    t.context.accessTokens.issue({
      userId: randomUUID(),
      sessionId,
      roles: ['user'],
      scope: 'profile',
      authTime: Math.floor(t.clock.now() / 1000),
      amr: ['pwd'],
      acr: 'aal1',
    })

  it('caches a verified token and answers a second verification from the cache', async () => {
    const verifier = tokens()
    const token = await issue()
    const first = await verifier.verify(token)
    assert.equal(verifier.cachedTokens, 1)
    const second = await verifier.verify(token)
    assert.equal(second, first, 'the cached claims themselves')
    assert.equal(second.kind, 'user')
    assert.ok(Object.isFrozen(second) && Object.isFrozen(second.roles), 'shared claims cannot be changed')
  })

  /** How many signatures jose checks while `run` runs (it verifies them with WebCrypto). */
  async function signatureChecks(run: () => Promise<unknown>): Promise<number> {
    const verify = mock.method(crypto.subtle, 'verify')
    try {
      await run()
      return verify.mock.callCount()
    } finally {
      verify.mock.restore()
    }
  }

  it('checks the signature of a token once: later verifications skip it', async () => {
    const verifier = tokens()
    const token = await issue()
    assert.equal(await signatureChecks(() => verifier.verify(token)), 1, 'the first verification checks it')
    const hits = async () => {
      for (let i = 0; i < 5; i += 1) await verifier.verify(token)
    }
    assert.equal(await signatureChecks(hits), 0, 'every later one is answered from the cache')
  })

  it('never serves a revoked token from the cache, and checks no signature to refuse it', async () => {
    const verifier = tokens()
    const sessionId = randomUUID()
    const token = await issue(sessionId)
    await verifier.verify(token)
    await t.context.revocations.announce([{ kind: 'sid', value: sessionId }])
    const refusals = async () => {
      for (let i = 0; i < 3; i += 1)
        assert.equal(await rejectionCode(verifier.verify(token)), 'INVALID_TOKEN')
    }
    assert.equal(await signatureChecks(refusals), 0)
  })

  it('keeps no entry past its token’s exp: the next verification is a full one, and fails', async () => {
    const verifier = tokens()
    const token = await issue()
    const { exp } = await verifier.verify(token)
    t.clock.advance(exp - t.clock.now() / 1000 + 31) // past exp and the 30 s tolerance
    const expired = async () => assert.equal(await rejectionCode(verifier.verify(token)), 'TOKEN_EXPIRED')
    assert.equal(await signatureChecks(expired), 1, 'verified afresh, not answered from the entry')
    assert.equal(verifier.cachedTokens, 0)
  })

  it('checks exp again on every hit, with the same clock tolerance as a full verification', async () => {
    const verifier = tokens()
    const token = await issue()
    const { exp } = await verifier.verify(token)
    t.clock.advance(exp - t.clock.now() / 1000 + 29) // 29 s past exp: inside the 30 s tolerance
    await verifier.verify(token)
    t.clock.advance(2)
    assert.equal(await rejectionCode(verifier.verify(token)), 'TOKEN_EXPIRED')
    assert.equal(verifier.cachedTokens, 0, 'the expired entry is dropped')
  })

  it('honours a revocation on a hit', async () => {
    const verifier = tokens()
    const sessionId = randomUUID()
    const token = await issue(sessionId)
    await verifier.verify(token)
    await t.context.revocations.announce([{ kind: 'sid', value: sessionId }])
    assert.equal(await rejectionCode(verifier.verify(token)), 'INVALID_TOKEN')
  })

  it('honours a logout through the app: the cached token stops working on /me at once', async () => {
    const api = clientFor(t)
    const { tokens } = await api.loggedInUser()
    const me = () => api.me(tokens.access_token)
    assert.equal((await me()).statusCode, 200)
    assert.equal((await me()).statusCode, 200) // served from the cache
    const logout = await api.logout(tokens.access_token)
    assert.equal(logout.statusCode, 204)
    const after = await me()
    assert.equal(after.statusCode, 401)
    assert.equal(after.json().error.code, 'INVALID_TOKEN')
  })

  it('is bounded: past its size the oldest token is dropped, and verifies in full again', async () => {
    const verifier = tokens({ cacheSize: 3 })
    const issued = await Promise.all([issue(), issue(), issue(), issue(), issue()])
    for (const token of issued) await verifier.verify(token)
    assert.equal(verifier.cachedTokens, 3)
    await verifier.verify(issued[0])
    assert.equal(verifier.cachedTokens, 3)
  })

  it('treats a token that differs in one character as a miss, and rejects it', async () => {
    const verifier = tokens()
    const token = await issue()
    await verifier.verify(token)
    for (const part of [1, 2] as const) {
      assert.equal(await rejectionCode(verifier.verify(alterOneCharacter(token, part))), 'INVALID_TOKEN')
    }
    assert.equal(verifier.cachedTokens, 1, 'a rejected token is never cached')
  })

  it('stops accepting a cached token once its key is no longer published', async () => {
    let published = true
    const keys = Object.create(t.context.signingKeys) as KeyStore
    keys.verificationKey = (kid) =>
      published ? t.context.signingKeys.verificationKey(kid) : Promise.resolve(undefined)
    const verifier = tokens({ keys })
    const token = await issue()
    await verifier.verify(token)
    published = false
    assert.equal(await rejectionCode(verifier.verify(token)), 'INVALID_TOKEN')
  })
})
