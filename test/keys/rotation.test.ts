import assert from 'node:assert/strict'
import { it } from 'node:test'
import { decodeProtectedHeader } from 'jose'
import { KEY_RELOAD_INTERVAL_MS } from '../../src/keys/key-store.ts'
import {
  describeOnDatabases,
  signupAndLogin,
  startTestApp,
  stopTestApp,
  type TestApp,
} from '../support/harness.ts'

const kids = async (t: TestApp) =>
  (await t.app.inject({ method: 'GET', url: '/.well-known/jwks.json' }))
    .json()
    .keys.map((key: { kid: string }) => key.kid)

await describeOnDatabases('Signing key rotation', (ctx) => {
  it('signs with the new key and keeps the old one published and accepted until its tokens expire', async () => {
    const before = await signupAndLogin(ctx().app)
    const oldKid = decodeProtectedHeader(before.tokens.access_token).kid
    const newKid = await ctx().services.keys.rotate()
    assert.notEqual(newKid, oldKid)
    assert.deepEqual((await kids(ctx())).sort(), [oldKid, newKid].sort())

    const me = (authorization: string) =>
      ctx().app.inject({ method: 'GET', url: '/me', headers: { authorization } })
    assert.equal((await me(before.authorization)).statusCode, 200, 'a token of the old key still verifies')
    const after = await signupAndLogin(ctx().app)
    assert.equal(decodeProtectedHeader(after.tokens.access_token).kid, newKid)

    ctx().clock.advance(15 * 60 + (2 * KEY_RELOAD_INTERVAL_MS) / 1000 + 1)
    await ctx().services.keys.reload()
    assert.deepEqual(await kids(ctx()), [newKid], 'the old key left the JWKS once its tokens expired')
    assert.equal((await me(before.authorization)).statusCode, 401)
  })

  it('reaches another instance on the same database at its next reload', async () => {
    const other = await startTestApp({
      kind: ctx().kind,
      url: ctx().databaseUrl,
      drop: () => Promise.resolve(),
    })
    try {
      other.clock.advance((ctx().clock.now() - other.clock.now()) / 1000)
      const newKid = await ctx().services.keys.rotate()
      const stale = await signupAndLogin(other.app)
      assert.notEqual(decodeProtectedHeader(stale.tokens.access_token).kid, newKid, 'not reloaded yet')
      await other.services.keys.reload()
      const fresh = await signupAndLogin(other.app)
      assert.equal(decodeProtectedHeader(fresh.tokens.access_token).kid, newKid)
      const onFirst = await ctx().app.inject({
        method: 'GET',
        url: '/me',
        headers: { authorization: stale.authorization },
      })
      assert.equal(onFirst.statusCode, 200, 'the first instance still accepts the retired key')
    } finally {
      await stopTestApp(other)
    }
  })
})
