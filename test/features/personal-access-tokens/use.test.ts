import assert from 'node:assert/strict'
import { it } from 'node:test'
import type { LightMyRequestResponse } from 'fastify'
import { hashOpaqueToken } from '../../../src/platform/crypto/opaque-tokens.ts'
import { isoAt } from '../../../src/platform/clock.ts'
import { describeOnDatabases, type TestApp } from '../../support/harness.ts'
import { ADMIN, clientFor } from '../../support/client.ts'

function assertError(response: LightMyRequestResponse, status: number, code: string) {
  assert.equal(response.statusCode, status, response.body)
  assert.equal(response.json().error.code, code, response.body)
}

/** The one character at `index` replaced by another of the alphabet. */
function flipped(token: string, index: number): string {
  const replacement = token[index] === 'A' ? 'B' : 'A'
  return token.slice(0, index) + replacement + token.slice(index + 1)
}

const lastUsedAt = async (t: TestApp, id: string) =>
  (
    await t.context.db
      .selectFrom('personal_access_tokens')
      .select('last_used_at')
      .where('id', '=', id)
      .executeTakeFirstOrThrow()
  ).last_used_at

await describeOnDatabases(
  'A personal access token as a bearer credential',
  (ctx) => {
    const api = clientFor(ctx)

    it('works on GET /me and on /todos with its todos scopes', async () => {
      const { tokens, user } = await api.loggedInUser()
      const { token } = await api.personalToken(tokens.access_token, { scope: 'todos:read todos:write' })
      const me = await api.me(token)
      assert.equal(me.statusCode, 200, me.body)
      assert.equal(me.json().id, user.id)
      const created = await api.as(token).post('/todos', { title: 'from a script' })
      assert.equal(created.statusCode, 201, created.body)
      const list = await api.as(token).get('/todos')
      assert.equal(list.statusCode, 200, list.body)
      assert.deepEqual(
        list.json().items.map((todo: { id: string }) => todo.id),
        [created.json().id],
      )
    })

    it('is refused (403) where its scope does not reach', async () => {
      const { tokens } = await api.loggedInUser()
      const { token } = await api.personalToken(tokens.access_token, { scope: 'todos:read' })
      assert.equal((await api.as(token).get('/todos')).statusCode, 200)
      assertError(await api.as(token).post('/todos', { title: 'no' }), 403, 'FORBIDDEN')
    })

    it('cannot manage the account: 403 on /me/password, /me/tokens, /auth/logout…, /auth/sessions…', async () => {
      const { tokens, password } = await api.loggedInUser()
      const { token } = await api.personalToken(tokens.access_token)
      const client = api.as(token)
      const sessionId = (await api.as(tokens.access_token).get('/auth/sessions')).json()[0].id
      const refusals = [
        await client.post('/me/password', {
          current_password: password,
          new_password: 'another long passphrase 7',
        }),
        await client.post('/me/tokens', { name: 'child' }),
        await client.get('/me/tokens'),
        await client.post('/auth/logout'),
        await client.post('/auth/logout-all'),
        await client.get('/auth/sessions'),
        await client.delete(`/auth/sessions/${sessionId}`),
      ]
      for (const response of refusals) assertError(response, 403, 'FORBIDDEN')
      assert.equal((await api.me(tokens.access_token)).statusCode, 200, 'the session did not end')
    })

    it('is 401 INVALID_TOKEN, with an RFC 6750 challenge, when one character is flipped', async () => {
      const { tokens } = await api.loggedInUser()
      const { token } = await api.personalToken(tokens.access_token)
      assert.equal((await api.me(token)).statusCode, 200)
      for (const index of [token.length - 1, 'gatehouse_pat_'.length, 20]) {
        const response = await api.me(flipped(token, index))
        assertError(response, 401, 'INVALID_TOKEN')
        assert.match(String(response.headers['www-authenticate']), /^Bearer error="invalid_token"/)
      }
    })

    it('is 401 INVALID_TOKEN for a wrong length or alphabet, and for an access token behind the prefix', async () => {
      const { tokens } = await api.loggedInUser()
      const { token } = await api.personalToken(tokens.access_token)
      for (const wrong of [
        'gatehouse_pat_',
        `${token}A`,
        token.slice(0, -1),
        `${token.slice(0, -1)}!`,
        `gatehouse_pat_${tokens.access_token}`,
      ]) {
        assertError(await api.me(wrong), 401, 'INVALID_TOKEN')
      }
    })

    it('is 401 INVALID_TOKEN once expired, cached or not', async () => {
      const { tokens } = await api.loggedInUser()
      const used = await api.personalToken(tokens.access_token, { expires_in: 60 })
      const unused = await api.personalToken(tokens.access_token, { expires_in: 60 })
      assert.equal((await api.me(used.token)).statusCode, 200)
      ctx().clock.advance(59)
      assert.equal((await api.me(used.token)).statusCode, 200)
      ctx().clock.advance(1)
      assertError(await api.me(used.token), 401, 'INVALID_TOKEN')
      assertError(await api.me(unused.token), 401, 'INVALID_TOKEN')
    })

    it('writes last_used_at once a minute, not on every use', async () => {
      const { tokens } = await api.loggedInUser()
      const created = await api.personalToken(tokens.access_token)
      assert.equal(await lastUsedAt(ctx(), created.id), null)
      const firstUse = ctx().clock.now()
      for (let i = 0; i < 3; i += 1) assert.equal((await api.me(created.token)).statusCode, 200)
      assert.equal(await lastUsedAt(ctx(), created.id), isoAt(firstUse))
      ctx().clock.advance(30)
      assert.equal((await api.me(created.token)).statusCode, 200)
      assert.equal(await lastUsedAt(ctx(), created.id), isoAt(firstUse), 'not again within the minute')
      ctx().clock.advance(31)
      assert.equal((await api.me(created.token)).statusCode, 200)
      assert.equal(await lastUsedAt(ctx(), created.id), isoAt(firstUse + 61_000))
      const listed = (await api.as(tokens.access_token).get('/me/tokens')).json().items[0]
      assert.equal(listed.last_used_at, isoAt(firstUse + 61_000))
    })

    it('keeps working after a password change: only deleting it ends it', async () => {
      const { tokens, password } = await api.loggedInUser()
      const { token } = await api.personalToken(tokens.access_token)
      const changed = await api
        .as(tokens.access_token)
        .post('/me/password', { current_password: password, new_password: 'another long passphrase 7' })
      assert.equal(changed.statusCode, 204, changed.body)
      assert.equal((await api.me(token)).statusCode, 200)
    })

    it('is 401 at once, even cached, when its user is disabled, and works again once re-enabled', async () => {
      const admin = await api.adminToken()
      const { tokens, user } = await api.loggedInUser()
      const { token } = await api.personalToken(tokens.access_token)
      assert.equal((await api.me(token)).statusCode, 200)
      const disabled = await api.as(admin).patch(`/admin/users/${user.id}`, { disabled: true })
      assert.equal(disabled.statusCode, 200, disabled.body)
      assertError(await api.me(token), 401, 'INVALID_TOKEN')
      ctx().clock.advance(1)
      assertError(await api.me(token), 401, 'INVALID_TOKEN')
      assert.equal(
        (await api.as(admin).patch(`/admin/users/${user.id}`, { disabled: false })).statusCode,
        200,
      )
      assert.equal((await api.me(token)).statusCode, 200, 'the database decides')
    })

    it('is 401 at once, even cached, when its user is deleted', async () => {
      const admin = await api.adminToken()
      const { tokens, user } = await api.loggedInUser()
      const { token } = await api.personalToken(tokens.access_token)
      assert.equal((await api.me(token)).statusCode, 200)
      ctx().clock.advance(1)
      assert.equal((await api.me(token)).statusCode, 200)
      assert.equal((await api.as(admin).delete(`/admin/users/${user.id}`)).statusCode, 204)
      // A route that does not read the user itself: the guard alone must refuse the token.
      assertError(await api.as(token).get('/todos'), 401, 'INVALID_TOKEN')
      assertError(await api.me(token), 401, 'INVALID_TOKEN')
    })

    it('never shows up in the log, whole or hashed', async () => {
      const { tokens } = await api.loggedInUser()
      const { token } = await api.personalToken(tokens.access_token)
      await api.me(token)
      await api.me(flipped(token, 30))
      await api.as(token).post('/me/tokens', { name: 'refused' })
      const text = ctx().logs.text()
      assert.ok(ctx().logs.raw.length > 0, 'the log was captured')
      for (const secret of [token, token.slice('gatehouse_pat_'.length), hashOpaqueToken(token)])
        assert.ok(!text.includes(secret))
    })
  },
  { env: ADMIN },
)

/** A role that grants a scope of its own, so taking it away shows in what a token may do. */
const ROLE_SCOPES = JSON.stringify({
  user: ['profile', 'todos:read'],
  writer: ['todos:read', 'todos:write'],
  admin: ['profile', 'todos:read', 'todos:write', 'admin'],
})

await describeOnDatabases(
  'A personal access token’s scope, narrowed to the roles at every use',
  (ctx) => {
    const api = clientFor(ctx)
    const setRoles = async (admin: string, userId: string, roles: string[]) => {
      const response = await api.as(admin).patch(`/admin/users/${userId}`, { roles })
      assert.equal(response.statusCode, 200, response.body)
    }

    it('loses a scope at once, even cached, when the role granting it is taken away; the session ends', async () => {
      const admin = await api.adminToken()
      const { email, password, user } = await api.signedUpUser()
      await setRoles(admin, user.id, ['user', 'writer'])
      const login = await api.tokens(email, password)
      const { token, scope } = await api.personalToken(login.access_token)
      assert.equal(scope, 'profile todos:read todos:write')
      assert.equal((await api.as(token).post('/todos', { title: 'cached now' })).statusCode, 201)

      await setRoles(admin, user.id, ['user'])
      assertError(await api.as(token).post('/todos', { title: 'no longer' }), 403, 'FORBIDDEN')
      assert.equal((await api.as(token).get('/todos')).statusCode, 200, 'what the roles still allow')
      assertError(await api.me(login.access_token), 401, 'INVALID_TOKEN')
    })

    it('gets a role given back within a minute (the cache is re-read), within the scope it was given', async () => {
      const admin = await api.adminToken()
      const { email, password, user } = await api.signedUpUser()
      await setRoles(admin, user.id, ['user', 'writer'])
      const { token } = await api.personalToken((await api.tokens(email, password)).access_token)
      await setRoles(admin, user.id, ['user'])
      ctx().clock.advance(1)
      assertError(await api.as(token).post('/todos', { title: 'no' }), 403, 'FORBIDDEN')
      await setRoles(admin, user.id, ['user', 'writer'])
      assertError(await api.as(token).post('/todos', { title: 'cached' }), 403, 'FORBIDDEN')
      ctx().clock.advance(60)
      assert.equal((await api.as(token).post('/todos', { title: 'read again' })).statusCode, 201)
    })

    it('loses the admin scope on its next use, even cached, when its user is demoted', async () => {
      const root = await api.adminToken()
      const { email, password, user } = await api.signedUpUser()
      await setRoles(root, user.id, ['user', 'admin'])
      const { token, scope } = await api.personalToken((await api.tokens(email, password)).access_token, {
        scope: 'admin todos:read',
      })
      assert.equal(scope, 'todos:read admin')
      assert.equal((await api.as(token).get('/admin/stats')).statusCode, 200)
      await setRoles(root, user.id, ['user'])
      assertError(await api.as(token).get('/admin/stats'), 403, 'FORBIDDEN')
      assert.equal((await api.as(token).get('/todos')).statusCode, 200)
    })
  },
  { env: { ...ADMIN, ROLE_SCOPES } },
)
