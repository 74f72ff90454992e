import assert from 'node:assert/strict'
import { it } from 'node:test'
import { decodeProtectedHeader } from 'jose'
import { KEY_RELOAD_INTERVAL_MS } from '../../../src/identity/signing-keys/key-store.ts'
import { revokeSigningKey } from '../../../src/identity/signing-keys/revocation.ts'
import {
  describeOnDatabases,
  startAnotherInstance,
  stopTestApp,
  type TestApp,
} from '../../support/harness.ts'
import { clientFor } from '../../support/client.ts'

const kids = async (t: TestApp) =>
  (await t.app.inject({ method: 'GET', url: '/.well-known/jwks.json' }))
    .json()
    .keys.map((key: { kid: string }) => key.kid)

await describeOnDatabases('Signing key rotation', (ctx) => {
  const api = clientFor(ctx)
  it('signs with the new key and keeps the old one published and accepted until its tokens expire', async () => {
    const before = await api.loggedInUser()
    const oldKid = decodeProtectedHeader(before.tokens.access_token).kid
    const newKid = await ctx().context.signingKeys.rotate()
    assert.notEqual(newKid, oldKid)
    assert.deepEqual((await kids(ctx())).sort(), [oldKid, newKid].sort())

    assert.equal(
      (await api.me(before.tokens.access_token)).statusCode,
      200,
      'a token of the old key still verifies',
    )
    const after = await api.loggedInUser()
    assert.equal(decodeProtectedHeader(after.tokens.access_token).kid, newKid)

    ctx().clock.advance(15 * 60 + (2 * KEY_RELOAD_INTERVAL_MS) / 1000 + 1)
    await ctx().context.signingKeys.reload()
    assert.deepEqual(await kids(ctx()), [newKid], 'the old key left the JWKS once its tokens expired')
    assert.equal((await api.me(before.tokens.access_token)).statusCode, 401)
  })

  it('reaches another instance on the same database at its next reload', async () => {
    const other = await startAnotherInstance(ctx())
    try {
      const newKid = await ctx().context.signingKeys.rotate()
      const stale = await clientFor(other).loggedInUser()
      assert.notEqual(decodeProtectedHeader(stale.tokens.access_token).kid, newKid, 'not reloaded yet')
      await other.context.signingKeys.reload()
      const fresh = await clientFor(other).loggedInUser()
      assert.equal(decodeProtectedHeader(fresh.tokens.access_token).kid, newKid)
      const onFirst = await api.me(stale.tokens.access_token)
      assert.equal(onFirst.statusCode, 200, 'the first instance still accepts the retired key')
    } finally {
      await stopTestApp(other)
    }
  })
})

const CLI_ORIGIN = { ip: null, userAgent: undefined, requestId: undefined }

await describeOnDatabases('Revoking a signing key (gatehouse keys revoke)', (ctx) => {
  const api = clientFor(ctx)
  it('a stolen signing key stops verifying at once, leaves the JWKS, and signing moves to a new key', async () => {
    const stolen = await api.loggedInUser()
    const kid = decodeProtectedHeader(stolen.tokens.access_token).kid!
    assert.equal((await api.me(stolen.tokens.access_token)).statusCode, 200, 'verified (and cached) before')

    const result = await revokeSigningKey(ctx().context, kid, CLI_ORIGIN, 'cli')
    assert.equal((await api.me(stolen.tokens.access_token)).statusCode, 401, 'its tokens are refused')
    assert.ok(!(await kids(ctx())).includes(kid), 'not published any more')

    const fresh = await api.loggedInUser()
    const newKid = decodeProtectedHeader(fresh.tokens.access_token).kid
    assert.notEqual(newKid, kid)
    assert.deepEqual(result, { outcome: 'revoked', signingKid: newKid })
    assert.equal((await api.me(fresh.tokens.access_token)).statusCode, 200)
    const listed = await ctx().context.signingKeys.list()
    assert.equal(listed.find((key) => key.kid === kid)?.status, 'revoked')
    const [event] = await ctx()
      .context.db.selectFrom('audit_events')
      .select('data')
      .where('type', '=', 'key_revoked')
      .execute()
    assert.deepEqual(JSON.parse(event!.data), { kid, signing_kid: newKid, by: 'cli' })
  })

  it('a retired key that still verifies live tokens can be revoked too', async () => {
    const before = await api.loggedInUser()
    const retiredKid = decodeProtectedHeader(before.tokens.access_token).kid!
    const signingKid = await ctx().context.signingKeys.rotate()
    const result = await revokeSigningKey(ctx().context, retiredKid, CLI_ORIGIN, 'cli')
    assert.deepEqual(result, { outcome: 'revoked', signingKid }, 'signing stays with the current key')
    assert.equal((await api.me(before.tokens.access_token)).statusCode, 401)
    assert.deepEqual(await kids(ctx()), [signingKid])
  })

  it('reaches another instance without waiting for its key reload, and stays revoked after a restart', async () => {
    const other = await startAnotherInstance(ctx())
    try {
      const onOther = await clientFor(other).loggedInUser()
      const kid = decodeProtectedHeader(onOther.tokens.access_token).kid!
      assert.equal((await clientFor(other).me(onOther.tokens.access_token)).statusCode, 200)

      await revokeSigningKey(ctx().context, kid, CLI_ORIGIN, 'cli')
      await other.context.revocations.reconcile()
      assert.equal(
        (await clientFor(other).me(onOther.tokens.access_token)).statusCode,
        401,
        'refused on the other instance',
      )
      assert.ok(!(await kids(other)).includes(kid), 'gone from the JWKS there')
      const signedThere = await clientFor(other).loggedInUser()
      assert.notEqual(
        decodeProtectedHeader(signedThere.tokens.access_token).kid,
        kid,
        'the other signs with the successor',
      )
    } finally {
      await stopTestApp(other)
    }
    const restarted = await startAnotherInstance(ctx())
    try {
      const published = await kids(restarted)
      const revoked = (await restarted.context.signingKeys.list()).filter((key) => key.status === 'revoked')
      assert.ok(revoked.length > 0)
      for (const key of revoked) assert.ok(!published.includes(key.kid), `${key.kid} stays out of the JWKS`)
    } finally {
      await stopTestApp(restarted)
    }
  })

  it('says so for an unknown or already revoked key', async () => {
    assert.deepEqual(await revokeSigningKey(ctx().context, 'no-such-kid', CLI_ORIGIN, 'cli'), {
      outcome: 'unknown',
    })
    const [revoked] = (await ctx().context.signingKeys.list()).filter((key) => key.status === 'revoked')
    assert.deepEqual(await revokeSigningKey(ctx().context, revoked!.kid, CLI_ORIGIN, 'cli'), {
      outcome: 'already revoked',
    })
  })
})
