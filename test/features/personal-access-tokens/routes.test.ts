import assert from 'node:assert/strict'
import { it } from 'node:test'
import type { LightMyRequestResponse } from 'fastify'
import { hashOpaqueToken } from '../../../src/platform/crypto/opaque-tokens.ts'
import { describeOnDatabases, type TestApp } from '../../support/harness.ts'
import { ADMIN, clientFor, type PersonalToken } from '../../support/client.ts'
import { basicAuthorization, registerClient } from '../../support/clients.ts'

const UNKNOWN_ID = '00000000-0000-4000-8000-000000000000'
const TOKEN_FORMAT = /^gatehouse_pat_[A-Za-z0-9_-]{43}$/
const LISTED_FIELDS = ['created_at', 'expires_at', 'id', 'last_used_at', 'name', 'scope']
const DAY_MS = 86_400_000

/** What the list shows of a created token: everything but the token. */
function listed(created: PersonalToken): Omit<PersonalToken, 'token'> {
  const { id, name, scope, created_at, expires_at, last_used_at } = created
  return { id, name, scope, created_at, expires_at, last_used_at }
}

function assertError(response: LightMyRequestResponse, status: number, code: string) {
  assert.equal(response.statusCode, status, response.body)
  assert.equal(response.json().error.code, code, response.body)
}

function assertValidationError(response: LightMyRequestResponse, field: string) {
  assertError(response, 422, 'VALIDATION_ERROR')
  const fields = response.json().error.details.map((detail: { field: string }) => detail.field)
  assert.ok(fields.includes(field), `${field} in ${fields.join(', ')}`)
}

const storedTokens = (t: TestApp, userId: string) =>
  t.context.db.selectFrom('personal_access_tokens').selectAll().where('user_id', '=', userId).execute()

const auditOf = (t: TestApp, userId: string, type: string) =>
  t.context.db
    .selectFrom('audit_events')
    .selectAll()
    .where('user_id', '=', userId)
    .where('type', '=', type)
    .execute()

await describeOnDatabases('POST /me/tokens', (ctx) => {
  const api = clientFor(ctx)

  it('answers 201 with the token, shown once and stored only as its hash, not cacheable', async () => {
    const { tokens, user } = await api.loggedInUser()
    const response = await api.as(tokens.access_token).post('/me/tokens', { name: 'CI deploy' })
    assert.equal(response.statusCode, 201, response.body)
    assert.equal(response.headers['cache-control'], 'no-store')
    const created = response.json<PersonalToken>()
    assert.deepEqual(Object.keys(created).sort(), [...LISTED_FIELDS, 'token'].sort())
    assert.match(created.token, TOKEN_FORMAT)
    assert.equal(created.name, 'CI deploy')
    assert.equal(created.scope, tokens.scope, 'the creating token’s scope by default')
    assert.equal(created.last_used_at, null)
    assert.equal(Date.parse(created.created_at), ctx().clock.now())
    assert.equal(Date.parse(created.expires_at), ctx().clock.now() + 90 * DAY_MS, 'PAT_MAX_TTL by default')

    const [row, ...others] = await storedTokens(ctx(), user.id)
    assert.equal(others.length, 0)
    assert.equal(row!.id, created.id)
    assert.equal(row!.token_hash, hashOpaqueToken(created.token))
    assert.ok(!JSON.stringify(row).includes(created.token.slice('gatehouse_pat_'.length)))
    const [event] = await auditOf(ctx(), user.id, 'personal_token_created')
    assert.deepEqual(JSON.parse(event!.data), {
      token_id: created.id,
      name: 'CI deploy',
      scope: created.scope,
      expires_at: created.expires_at,
    })
  })

  it('grants a scope within the creating token’s, in the order the roles list them', async () => {
    const { tokens } = await api.loggedInUser()
    const created = await api.personalToken(tokens.access_token, { scope: 'todos:write todos:read' })
    assert.equal(created.scope, 'todos:read todos:write')
  })

  it('refuses (422 naming scope) a scope the creating token does not have, rather than narrowing it', async () => {
    const { email, password, user } = await api.signedUpUser()
    const narrow = await api.tokens(email, password, { scope: 'profile' })
    assert.equal(narrow.scope, 'profile')
    const response = await api.as(narrow.access_token).post('/me/tokens', { name: 'x', scope: 'todos:write' })
    assertValidationError(response, 'scope')
    assert.match(response.json().error.details[0].message, /todos:write/)
    assert.deepEqual(await storedTokens(ctx(), user.id), [], 'nothing was created')
    const fine = await api.personalToken(narrow.access_token, { scope: 'profile' })
    assert.equal(fine.scope, 'profile')
  })

  it('refuses a scope the roles do not allow, an unknown one and an empty one', async () => {
    const { tokens } = await api.loggedInUser()
    for (const scope of ['admin', 'todos:read launch:missiles', '', '   ']) {
      assertValidationError(
        await api.as(tokens.access_token).post('/me/tokens', { name: 'x', scope }),
        'scope',
      )
    }
  })

  it('takes expires_in from 60 s up to PAT_MAX_TTL; beyond either bound is a 422', async () => {
    const { tokens } = await api.loggedInUser()
    const hour = await api.personalToken(tokens.access_token, { expires_in: 3600 })
    assert.equal(Date.parse(hour.expires_at) - Date.parse(hour.created_at), 3600 * 1000)
    const longest = await api.personalToken(tokens.access_token, { expires_in: 90 * 86400 })
    assert.equal(Date.parse(longest.expires_at) - Date.parse(longest.created_at), 90 * DAY_MS)
    for (const expiresIn of [90 * 86400 + 1, 59, 0, -1, 1.5]) {
      const response = await api
        .as(tokens.access_token)
        .post('/me/tokens', { name: 'x', expires_in: expiresIn })
      assertValidationError(response, 'expires_in')
    }
    assertValidationError(
      await api.as(tokens.access_token).post('/me/tokens', { name: 'x', expires_in: '3600' }),
      'expires_in',
    )
  })

  it('needs a name of 1 to 100 characters', async () => {
    const { tokens } = await api.loggedInUser()
    const client = api.as(tokens.access_token)
    assertValidationError(await client.post('/me/tokens', {}), 'name')
    assertValidationError(await client.post('/me/tokens', { name: '' }), 'name')
    assertValidationError(await client.post('/me/tokens', { name: 'x'.repeat(101) }), 'name')
    assertValidationError(await client.post('/me/tokens', { name: 'tab\there' }), 'name')
    assert.equal((await api.personalToken(tokens.access_token, { name: 'é'.repeat(100) })).name.length, 100)
  })

  it('holds at most 100 tokens per user; deleting one makes room', async () => {
    const { tokens } = await api.loggedInUser()
    const created: PersonalToken[] = []
    for (let i = 0; i < 100; i += 1)
      created.push(await api.personalToken(tokens.access_token, { name: `t${i}` }))
    const refused = await api.as(tokens.access_token).post('/me/tokens', { name: 'one too many' })
    assertValidationError(refused, 'body')
    assert.equal((await api.as(tokens.access_token).delete(`/me/tokens/${created[0]!.id}`)).statusCode, 204)
    await api.personalToken(tokens.access_token, { name: 'now there is room' })
  })

  it('refuses a personal access token: one cannot mint more of itself (403)', async () => {
    const { tokens } = await api.loggedInUser()
    const { token } = await api.personalToken(tokens.access_token)
    assertError(await api.as(token).post('/me/tokens', { name: 'child' }), 403, 'FORBIDDEN')
  })

  it('refuses a machine client’s token: it acts for no user (403)', async () => {
    const client = await registerClient(ctx(), { scopes: ['todos:read'] })
    const issued = await api.token(
      { grant_type: 'client_credentials' },
      { headers: { authorization: basicAuthorization(client.clientId, client.secret) } },
    )
    assert.equal(issued.statusCode, 200, issued.body)
    const machine: string = issued.json().access_token
    assertError(await api.as(machine).post('/me/tokens', { name: 'x' }), 403, 'FORBIDDEN')
    assertError(await api.as(machine).get('/me/tokens'), 403, 'FORBIDDEN')
  })

  it('requires a bearer token', async () => {
    const response = await api.request({ method: 'POST', url: '/me/tokens', body: { name: 'x' } })
    assertError(response, 401, 'AUTH_REQUIRED')
  })
})

await describeOnDatabases('GET /me/tokens', (ctx) => {
  const api = clientFor(ctx)

  it('lists the caller’s tokens newest first, without the tokens or their hashes, and no one else’s', async () => {
    const { tokens } = await api.loggedInUser()
    const first = await api.personalToken(tokens.access_token, { name: 'first' })
    ctx().clock.advance(1)
    const second = await api.personalToken(tokens.access_token, { name: 'second', scope: 'todos:read' })
    const stranger = await api.loggedInUser()
    const theirs = await api.personalToken(stranger.tokens.access_token)

    const response = await api.as(tokens.access_token).get('/me/tokens')
    assert.equal(response.statusCode, 200, response.body)
    const { items } = response.json<{ items: Record<string, unknown>[] }>()
    assert.deepEqual(
      items.map((item) => item.id),
      [second.id, first.id],
    )
    for (const item of items) assert.deepEqual(Object.keys(item).sort(), LISTED_FIELDS)
    assert.deepEqual(items[0], listed(second))
    for (const secret of [first.token, second.token, hashOpaqueToken(first.token), theirs.id])
      assert.ok(!response.body.includes(secret))
  })

  it('is an empty list for a user without tokens', async () => {
    const { tokens } = await api.loggedInUser()
    assert.deepEqual((await api.as(tokens.access_token).get('/me/tokens')).json(), { items: [] })
  })

  it('refuses a personal access token (403)', async () => {
    const { tokens } = await api.loggedInUser()
    const { token } = await api.personalToken(tokens.access_token)
    assertError(await api.as(token).get('/me/tokens'), 403, 'FORBIDDEN')
  })
})

await describeOnDatabases('DELETE /me/tokens/{id}', (ctx) => {
  const api = clientFor(ctx)

  it('answers 204; the token stops working at once and leaves the list; audited', async () => {
    const { tokens, user } = await api.loggedInUser()
    const created = await api.personalToken(tokens.access_token)
    assert.equal((await api.me(created.token)).statusCode, 200, 'used once, so it is cached')
    const response = await api.as(tokens.access_token).delete(`/me/tokens/${created.id}`)
    assert.equal(response.statusCode, 204)
    assert.equal(response.body, '')
    assertError(await api.me(created.token), 401, 'INVALID_TOKEN')
    assert.deepEqual((await api.as(tokens.access_token).get('/me/tokens')).json(), { items: [] })
    const [event] = await auditOf(ctx(), user.id, 'personal_token_deleted')
    assert.deepEqual(JSON.parse(event!.data), { token_id: created.id, by: user.id })
  })

  it('is 404 for another user’s token, which keeps working, and for an unknown or deleted one', async () => {
    const { tokens } = await api.loggedInUser()
    const stranger = await api.loggedInUser()
    const theirs = await api.personalToken(stranger.tokens.access_token)
    assertError(await api.as(tokens.access_token).delete(`/me/tokens/${theirs.id}`), 404, 'NOT_FOUND')
    assert.equal((await api.me(theirs.token)).statusCode, 200)
    assertError(await api.as(tokens.access_token).delete(`/me/tokens/${UNKNOWN_ID}`), 404, 'NOT_FOUND')
    const mine = await api.personalToken(tokens.access_token)
    assert.equal((await api.as(tokens.access_token).delete(`/me/tokens/${mine.id}`)).statusCode, 204)
    assertError(await api.as(tokens.access_token).delete(`/me/tokens/${mine.id}`), 404, 'NOT_FOUND')
  })

  it('is a 422 for an id that is not a UUID, never a 500', async () => {
    const { tokens } = await api.loggedInUser()
    for (const id of ['not-a-uuid', '1', 'x'.repeat(150), '%00'])
      assertValidationError(await api.as(tokens.access_token).delete(`/me/tokens/${id}`), 'id')
  })

  it('refuses a personal access token, even deleting itself (403)', async () => {
    const { tokens } = await api.loggedInUser()
    const created = await api.personalToken(tokens.access_token)
    assertError(await api.as(created.token).delete(`/me/tokens/${created.id}`), 403, 'FORBIDDEN')
    assert.equal((await api.me(created.token)).statusCode, 200)
  })
})

await describeOnDatabases(
  'GET /admin/users/{id}/tokens',
  (ctx) => {
    const api = clientFor(ctx)

    it('lists a user’s tokens for an admin, without the tokens', async () => {
      const admin = await api.adminToken()
      const { tokens, user } = await api.loggedInUser()
      const created = await api.personalToken(tokens.access_token, { name: 'laptop' })
      const response = await api.as(admin).get(`/admin/users/${user.id}/tokens`)
      assert.equal(response.statusCode, 200, response.body)
      assert.deepEqual(response.json(), { items: [listed(created)] })
      assert.ok(!response.body.includes(created.token))
    })

    it('is 404 for an unknown user and 422 for an id that is not a UUID', async () => {
      const admin = await api.adminToken()
      assertError(await api.as(admin).get(`/admin/users/${UNKNOWN_ID}/tokens`), 404, 'NOT_FOUND')
      assertValidationError(await api.as(admin).get('/admin/users/nope/tokens'), 'id')
    })

    it('is 403 for a user who is not an admin', async () => {
      const { tokens, user } = await api.loggedInUser()
      assertError(await api.as(tokens.access_token).get(`/admin/users/${user.id}/tokens`), 403, 'FORBIDDEN')
    })
  },
  { env: ADMIN },
)

await describeOnDatabases(
  'DELETE /admin/users/{id}/tokens/{token_id}',
  (ctx) => {
    const api = clientFor(ctx)

    it('answers 204 and the token stops working at once; audited with the admin', async () => {
      const admin = await api.adminToken()
      const adminId = (await api.me(admin)).json().id
      const { tokens, user } = await api.loggedInUser()
      const created = await api.personalToken(tokens.access_token)
      assert.equal((await api.me(created.token)).statusCode, 200)
      const response = await api.as(admin).delete(`/admin/users/${user.id}/tokens/${created.id}`)
      assert.equal(response.statusCode, 204, response.body)
      assertError(await api.me(created.token), 401, 'INVALID_TOKEN')
      const [event] = await auditOf(ctx(), user.id, 'personal_token_deleted')
      assert.deepEqual(JSON.parse(event!.data), { token_id: created.id, by: adminId })
    })

    it('is 404 unless the token is that user’s, and 422 for ids that are not UUIDs', async () => {
      const admin = await api.adminToken()
      const owner = await api.loggedInUser()
      const other = await api.loggedInUser()
      const created = await api.personalToken(owner.tokens.access_token)
      const client = api.as(admin)
      assertError(await client.delete(`/admin/users/${other.user.id}/tokens/${created.id}`), 404, 'NOT_FOUND')
      assertError(await client.delete(`/admin/users/${UNKNOWN_ID}/tokens/${created.id}`), 404, 'NOT_FOUND')
      assertError(await client.delete(`/admin/users/${owner.user.id}/tokens/${UNKNOWN_ID}`), 404, 'NOT_FOUND')
      assertValidationError(await client.delete(`/admin/users/${owner.user.id}/tokens/nope`), 'token_id')
      assert.equal((await api.me(created.token)).statusCode, 200, 'still works')
    })
  },
  { env: ADMIN },
)
