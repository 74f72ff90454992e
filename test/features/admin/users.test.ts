import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { it } from 'node:test'
import type { LightMyRequestResponse } from 'fastify'
import { USER_FIELDS, describeOnDatabases, uniqueEmail, type TestApp } from '../../support/harness.ts'
import { ADMIN, clientFor, type NewUser } from '../../support/client.ts'

const UNKNOWN_ID = '00000000-0000-4000-8000-000000000000'

interface User {
  id: string
  email: string
  username: string | null
  full_name: string | null
  roles: string[]
  disabled: boolean
  created_at: string
  updated_at: string
}

/** Lowercase letters and digits, unique to one test: what its users' names share. */
const marker = () => `m${randomBytes(5).toString('hex')}`

const newUser = async (t: TestApp, fields: NewUser) => (await clientFor(t).signedUpUser(fields)).user
const adminId = async (t: TestApp, token: string): Promise<string> => (await clientFor(t).me(token)).json().id

const getUser = (t: TestApp, token: string, id: string) => clientFor(t).as(token).get(`/admin/users/${id}`)

const patchUser = (t: TestApp, token: string, id: string, payload: object, requestId?: string) =>
  clientFor(t).as(token).patch(`/admin/users/${id}`, payload, { requestId })

const deleteUser = (t: TestApp, token: string, id: string, requestId?: string) =>
  clientFor(t).as(token).delete(`/admin/users/${id}`, { requestId })

const storedUser = (t: TestApp, id: string) =>
  t.context.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst()

const auditOf = (t: TestApp, userId: string) =>
  t.context.db
    .selectFrom('audit_events')
    .selectAll()
    .where('user_id', '=', userId)
    .orderBy('at')
    .orderBy('id')
    .execute()

/** An event's data without the id the server adds when the client chose the X-Request-ID. */
function withoutServerRequestId(data: string): Record<string, unknown> {
  const { server_request_id: serverRequestId, ...rest } = JSON.parse(data) as Record<string, unknown>
  assert.match(String(serverRequestId), /^[0-9a-f-]{36}$/)
  return rest
}

async function searchIds(t: TestApp, token: string, q: string): Promise<string[]> {
  const response = await clientFor(t)
    .as(token)
    .get(`/admin/users?limit=100&q=${encodeURIComponent(q)}`)
  assert.equal(response.statusCode, 200, response.body)
  assert.equal(response.json().next_cursor, null)
  return response.json().items.map((user: User) => user.id)
}

/** Code-unit order, as the databases compare these ASCII columns (not the locale's order). */
const byCodeUnits = (x: string, y: string) => (x < y ? -1 : x > y ? 1 : 0)

/** Oldest first, ties on the timestamp broken by id, ascending. */
function oldestFirst(users: User[]): User[] {
  return [...users].sort((a, b) => byCodeUnits(a.created_at, b.created_at) || byCodeUnits(a.id, b.id))
}

function assertError(response: LightMyRequestResponse, status: number, code: string) {
  assert.equal(response.statusCode, status, response.body)
  assert.equal(response.json().error.code, code)
}

function assertValidationError(response: LightMyRequestResponse, field: string) {
  assertError(response, 422, 'VALIDATION_ERROR')
  const { details } = response.json().error
  assert.ok(
    details.some((detail: { field: string }) => detail.field === field),
    `details name ${field}: ${JSON.stringify(details)}`,
  )
}

await describeOnDatabases(
  'GET /admin/users',
  (ctx) => {
    const api = clientFor(ctx)
    it('finds users by part of their email, username or full name, in any case', async () => {
      const token = await api.adminToken()
      const m = marker()
      const byEmail = await newUser(ctx(), { email: `Alpha.${m}@Example.com` })
      const byUsername = await newUser(ctx(), { email: uniqueEmail(), username: `Bravo_${m}` })
      const byName = await newUser(ctx(), { email: uniqueEmail(), full_name: `Charlie ${m.toUpperCase()}` })
      await newUser(ctx(), { email: uniqueEmail(), full_name: 'Delta' })

      const all = [byEmail.id, byUsername.id, byName.id].sort()
      assert.deepEqual((await searchIds(ctx(), token, m.toUpperCase())).sort(), all)
      assert.deepEqual((await searchIds(ctx(), token, m)).sort(), all)
      assert.deepEqual(await searchIds(ctx(), token, `ALPHA.${m}@example.COM`), [byEmail.id])
      assert.deepEqual(await searchIds(ctx(), token, `bravo_${m.toUpperCase()}`), [byUsername.id])
      assert.deepEqual(await searchIds(ctx(), token, `charlie ${m}`), [byName.id])
      assert.deepEqual(await searchIds(ctx(), token, `  ${m}  `), await searchIds(ctx(), token, m))
    })

    it('matches full names case-insensitively beyond ASCII', async () => {
      const token = await api.adminToken()
      const m = marker()
      const user = await newUser(ctx(), { email: uniqueEmail(), full_name: `ÉLODIE ÖZTÜRK ${m}` })
      assert.deepEqual(await searchIds(ctx(), token, `élodie öztürk ${m}`), [user.id])
    })

    it('treats % and _ in the search as literal characters, not wildcards', async () => {
      const token = await api.adminToken()
      const m = marker()
      const percent = await newUser(ctx(), { email: uniqueEmail(), full_name: `${m} 50% off` })
      const noPercent = await newUser(ctx(), { email: uniqueEmail(), full_name: `${m} 50 off` })
      const underscore = await newUser(ctx(), { email: uniqueEmail(), username: `${m}_x` })
      const letter = await newUser(ctx(), { email: uniqueEmail(), username: `${m}ax` })
      const backslash = await newUser(ctx(), { email: uniqueEmail(), full_name: `${m} back\\slash` })

      assert.deepEqual(await searchIds(ctx(), token, '50%'), [percent.id])
      assert.deepEqual(await searchIds(ctx(), token, `${m}%off`), [])
      assert.deepEqual(await searchIds(ctx(), token, `${m}_x`), [underscore.id])
      assert.deepEqual(await searchIds(ctx(), token, `${m}_`), [underscore.id])
      assert.deepEqual(await searchIds(ctx(), token, `${m}\\`), [])
      assert.deepEqual(await searchIds(ctx(), token, 'back\\slash'), [backslash.id])
      const everyone = await searchIds(ctx(), token, m)
      for (const user of [percent, noPercent, underscore, letter, backslash])
        assert.ok(everyone.includes(user.id))
    })

    it('answers User objects with the contract fields only', async () => {
      const token = await api.adminToken()
      const m = marker()
      const user = await newUser(ctx(), { email: `${m}@example.com`, username: m, full_name: 'Fields Test' })
      const response = await api.as(token).get(`/admin/users?q=${m}`)
      assert.equal(response.statusCode, 200)
      assert.deepEqual(response.json(), { items: [user], next_cursor: null })
      assert.deepEqual(Object.keys(response.json().items[0]).sort(), USER_FIELDS)
      assert.equal(response.body.includes('argon2'), false)
    })

    it('pages oldest first without skipping or repeating anyone while others sign up between pages', async () => {
      const token = await api.adminToken()
      const m = marker()
      const original: User[] = []
      for (let i = 0; i < 4; i++) {
        original.push(await newUser(ctx(), { email: `${m}.spaced${i}@example.com` }))
        ctx().clock.advance(1)
      }
      // Four in one millisecond: only their ids order them.
      original.push(
        ...(await Promise.all(
          Array.from({ length: 4 }, (_, i) => newUser(ctx(), { email: `${m}.burst${i}@example.com` })),
        )),
      )

      const seen: User[] = []
      const added: User[] = []
      let cursor: string | null = null
      do {
        const query: string = cursor === null ? '' : `&cursor=${cursor}`
        const response = await api.as(token).get(`/admin/users?q=${m}&limit=3${query}`)
        assert.equal(response.statusCode, 200, response.body)
        const page = response.json<{ items: User[]; next_cursor: string | null }>()
        assert.ok(page.items.length <= 3)
        seen.push(...page.items)
        cursor = page.next_cursor
        ctx().clock.advance(0.001)
        added.push(await newUser(ctx(), { email: `${m}.late${added.length}@example.com` }))
      } while (cursor !== null)

      assert.deepEqual(seen.slice(0, original.length), oldestFirst(original))
      const late = seen.slice(original.length)
      assert.deepEqual(late, added.slice(0, late.length), 'late signups only after everyone listed before')
      assert.equal(new Set(seen.map((user) => user.id)).size, seen.length)
    })

    it('answers a bad cursor, limit or q with 422 naming it', async () => {
      const token = await api.adminToken()
      const get = (query: string) => api.as(token).get(`/admin/users?${query}`)
      assertValidationError(await get('cursor=garbage'), 'cursor')
      assertValidationError(await get('limit=0'), 'limit')
      assertValidationError(await get('limit=101'), 'limit')
      assertValidationError(await get(`q=${'a'.repeat(255)}`), 'q')
    })
  },
  { env: ADMIN },
)

await describeOnDatabases(
  'GET /admin/users/{id}',
  (ctx) => {
    const api = clientFor(ctx)
    it('answers the User', async () => {
      const token = await api.adminToken()
      const user = await newUser(ctx(), { email: uniqueEmail(), full_name: 'Looked Up' })
      const response = await getUser(ctx(), token, user.id)
      assert.equal(response.statusCode, 200)
      assert.deepEqual(response.json(), user)
      assert.deepEqual(Object.keys(response.json()).sort(), USER_FIELDS)
    })

    it('answers 404 NOT_FOUND for an unknown id and 422 for one that is not a UUID', async () => {
      const token = await api.adminToken()
      assertError(await getUser(ctx(), token, UNKNOWN_ID), 404, 'NOT_FOUND')
      assertValidationError(await getUser(ctx(), token, 'not-a-uuid'), 'id')
    })
  },
  { env: ADMIN },
)

await describeOnDatabases(
  'PATCH /admin/users/{id}',
  (ctx) => {
    const api = clientFor(ctx)
    it('changes the roles, audits role_changed, and the next login carries them', async () => {
      const token = await api.adminToken()
      const actor = await adminId(ctx(), token)
      const { user, email, password } = await api.loggedInUser()
      const response = await patchUser(ctx(), token, user.id, { roles: ['user', 'admin'] }, 'promote-1')
      assert.equal(response.statusCode, 200, response.body)
      assert.deepEqual(response.json().roles, ['user', 'admin'])
      assert.deepEqual((await getUser(ctx(), token, user.id)).json(), response.json())

      const changed = (await auditOf(ctx(), user.id)).filter((event) => event.type === 'role_changed')
      assert.equal(changed.length, 1)
      assert.equal(changed[0]!.request_id, 'promote-1')
      assert.deepEqual(withoutServerRequestId(changed[0]!.data), {
        from: ['user'],
        to: ['user', 'admin'],
        by: actor,
      })

      const promoted = await api.tokens(email, password)
      assert.match(promoted.scope, /\badmin\b/)
      assert.equal((await api.as(promoted.access_token).get('/admin/stats')).statusCode, 200)
    })

    it('answers an unknown or malformed role with 422 naming roles, and changes nothing', async () => {
      const token = await api.adminToken()
      const { user } = await api.loggedInUser()
      const before = await storedUser(ctx(), user.id)
      for (const [roles, field] of [
        [['user', 'superuser'], 'roles'],
        [[], 'roles'],
        ['admin', 'roles'],
        [['admin ; drop'], 'roles.0'],
      ] as const) {
        assertValidationError(await patchUser(ctx(), token, user.id, { roles }), field)
      }
      assert.deepEqual(await storedUser(ctx(), user.id), before)
      assert.equal((await auditOf(ctx(), user.id)).filter((e) => e.type === 'role_changed').length, 0)
    })

    it('refuses the names every object inherits (constructor, __proto__, hasOwnProperty, toString) as roles with 422', async () => {
      const token = await api.adminToken()
      const { user } = await api.loggedInUser()
      const before = await storedUser(ctx(), user.id)
      for (const role of ['constructor', '__proto__', 'hasOwnProperty', 'toString', 'valueOf']) {
        assertValidationError(await patchUser(ctx(), token, user.id, { roles: ['user', role] }), 'roles')
      }
      assert.deepEqual(await storedUser(ctx(), user.id), before)
    })

    it('grants no scope for an inherited name found among the stored roles', async () => {
      const { user, email, password } = await api.loggedInUser()
      await ctx()
        .context.db.updateTable('users')
        .set({ roles: JSON.stringify(['user', 'constructor', '__proto__', 'hasOwnProperty']) })
        .where('id', '=', user.id)
        .execute()
      const tokens = await api.tokens(email, password)
      assert.equal(tokens.scope, 'profile todos:read todos:write')
      const refreshed = await api.refresh(tokens.refresh_token)
      assert.equal(refreshed.json().scope, 'profile todos:read todos:write')
    })

    it('renames with full_name, and null clears it', async () => {
      const token = await api.adminToken()
      const user = await newUser(ctx(), { email: uniqueEmail() })
      assert.equal(
        (await patchUser(ctx(), token, user.id, { full_name: 'Ada L.' })).json().full_name,
        'Ada L.',
      )
      assert.equal((await patchUser(ctx(), token, user.id, { full_name: null })).json().full_name, null)
      assertValidationError(await patchUser(ctx(), token, user.id, { full_name: 'a\nb' }), 'full_name')
    })

    it('changes nothing but roles, disabled and full_name', async () => {
      const token = await api.adminToken()
      const user = await newUser(ctx(), { email: uniqueEmail() })
      const before = await storedUser(ctx(), user.id)
      await patchUser(ctx(), token, user.id, {
        email: 'hijack@example.com',
        password_hash: 'x',
        email_verified: true,
        id: UNKNOWN_ID,
      })
      const after = await storedUser(ctx(), user.id)
      assert.equal(after?.email, before?.email)
      assert.equal(after?.password_hash, before?.password_hash)
      assert.equal(after?.email_verified, before?.email_verified)
    })

    it('disabling ends every session at once: access tokens 401 INVALID_TOKEN, refresh 401, login 403 ACCOUNT_DISABLED', async () => {
      const token = await api.adminToken()
      const { user, email, password, tokens } = await api.loggedInUser()
      const other = await api.tokens(email, password)
      const bystander = await api.loggedInUser()

      const response = await patchUser(ctx(), token, user.id, { disabled: true }, 'disable-1')
      assert.equal(response.statusCode, 200, response.body)
      assert.equal(response.json().disabled, true)

      for (const session of [tokens, other]) {
        const after = await api.me(session.access_token)
        assertError(after, 401, 'INVALID_TOKEN')
        assertError(await api.refresh(session.refresh_token), 401, 'INVALID_REFRESH_TOKEN')
      }
      assertError(await api.login(email, password), 403, 'ACCOUNT_DISABLED')
      assert.equal((await api.me(bystander.tokens.access_token)).statusCode, 200)

      const live = await ctx()
        .context.db.selectFrom('sessions')
        .select('id')
        .where('user_id', '=', user.id)
        .where('revoked_at', 'is', null)
        .execute()
      assert.deepEqual(live, [])
      const events = await auditOf(ctx(), user.id)
      const disabled = events.find((event) => event.type === 'user_disabled')
      assert.equal(disabled?.request_id, 'disable-1')
      const ended = events.find((event) => event.type === 'sessions_ended')
      assert.equal(JSON.parse(ended!.data).reason, 'user_disabled')
      assert.equal(JSON.parse(ended!.data).session_ids.length, 2)
    })

    it('enabling again lets the user log in, and audits user_enabled; the ended sessions stay ended', async () => {
      const token = await api.adminToken()
      const { user, email, password, tokens } = await api.loggedInUser()
      await patchUser(ctx(), token, user.id, { disabled: true })
      const response = await patchUser(ctx(), token, user.id, { disabled: false })
      assert.equal(response.statusCode, 200)
      assert.equal(response.json().disabled, false)
      const fresh = await api.tokens(email, password)
      assert.equal((await api.me(fresh.access_token)).statusCode, 200)
      assertError(await api.me(tokens.access_token), 401, 'INVALID_TOKEN')
      assertError(await api.refresh(tokens.refresh_token), 401, 'INVALID_REFRESH_TOKEN')
      assert.ok((await auditOf(ctx(), user.id)).some((event) => event.type === 'user_enabled'))
    })

    it('refuses to let an admin disable or demote themselves with 422, and changes nothing', async () => {
      const token = await api.adminToken()
      const self = await adminId(ctx(), token)
      const before = await storedUser(ctx(), self)
      assertValidationError(await patchUser(ctx(), token, self, { disabled: true }), 'disabled')
      assertValidationError(await patchUser(ctx(), token, self, { roles: ['user'] }), 'roles')
      assert.deepEqual(await storedUser(ctx(), self), before)
      assert.equal((await api.me(token)).statusCode, 200)
      assert.equal((await getUser(ctx(), token, self)).statusCode, 200, 'still an admin')
    })

    it('answers 404 NOT_FOUND for an unknown user', async () => {
      const token = await api.adminToken()
      assertError(await patchUser(ctx(), token, UNKNOWN_ID, { disabled: true }), 404, 'NOT_FOUND')
    })
  },
  { env: ADMIN },
)

await describeOnDatabases(
  'DELETE /admin/users/{id}',
  (ctx) => {
    const api = clientFor(ctx)
    it('deletes the user with 204: their tokens stop at once, their todos go, user_deleted is audited', async () => {
      const token = await api.adminToken()
      const actor = await adminId(ctx(), token)
      const { user, email, password, tokens } = await api.loggedInUser()
      const bystander = await api.loggedInUser()
      for (const owner of [tokens.access_token, bystander.tokens.access_token]) {
        const created = await api.as(owner).post('/todos', { title: 'to be or not' })
        assert.equal(created.statusCode, 201)
      }

      const response = await deleteUser(ctx(), token, user.id, 'delete-1')
      assert.equal(response.statusCode, 204)
      assert.equal(response.body, '')

      assertError(await api.me(tokens.access_token), 401, 'INVALID_TOKEN')
      assertError(await api.as(tokens.access_token).get('/todos'), 401, 'INVALID_TOKEN')
      assertError(await api.refresh(tokens.refresh_token), 401, 'INVALID_REFRESH_TOKEN')
      assertError(await api.login(email, password), 401, 'INVALID_CREDENTIALS')

      const { db } = ctx().context
      assert.equal(await storedUser(ctx(), user.id), undefined)
      assert.deepEqual(await db.selectFrom('todos').select('id').where('user_id', '=', user.id).execute(), [])
      assert.deepEqual(
        await db.selectFrom('sessions').select('id').where('user_id', '=', user.id).execute(),
        [],
      )
      const theirs = await db
        .selectFrom('todos')
        .select('id')
        .where('user_id', '=', bystander.user.id)
        .execute()
      assert.equal(theirs.length, 1)
      assert.equal((await api.me(bystander.tokens.access_token)).statusCode, 200)

      const deleted = (await auditOf(ctx(), user.id)).find((event) => event.type === 'user_deleted')
      assert.ok(deleted, 'user_deleted is on record after the user is gone')
      assert.equal(deleted.request_id, 'delete-1')
      assert.deepEqual(withoutServerRequestId(deleted.data), { by: actor })

      assertError(await getUser(ctx(), token, user.id), 404, 'NOT_FOUND')
      assertError(await deleteUser(ctx(), token, user.id), 404, 'NOT_FOUND')
    })

    it('refuses to let an admin delete themselves with 422', async () => {
      const token = await api.adminToken()
      const self = await adminId(ctx(), token)
      assertValidationError(await deleteUser(ctx(), token, self), 'id')
      assert.ok(await storedUser(ctx(), self))
      assert.equal((await api.me(token)).statusCode, 200)
    })

    it('answers 404 NOT_FOUND for an unknown user', async () => {
      const token = await api.adminToken()
      assertError(await deleteUser(ctx(), token, UNKNOWN_ID), 404, 'NOT_FOUND')
    })
  },
  { env: ADMIN },
)

await describeOnDatabases(
  'Admin routes: the admin role',
  (ctx) => {
    const api = clientFor(ctx)
    /** Every admin route, aimed at `victim` where it takes an id, with a body that would change them. */
    const adminRequests = (victim: string) =>
      [
        { method: 'GET', url: '/admin/users' },
        { method: 'GET', url: `/admin/users/${victim}` },
        { method: 'PATCH', url: `/admin/users/${victim}`, body: { disabled: true, roles: ['admin'] } },
        { method: 'DELETE', url: `/admin/users/${victim}` },
        { method: 'GET', url: '/admin/stats' },
        { method: 'GET', url: '/admin/audit' },
      ] as const

    async function assertUntouched(t: TestApp, victim: { id: string; token: string }, snapshot: unknown) {
      assert.deepEqual(await storedUser(t, victim.id), snapshot)
      assert.equal((await clientFor(t).me(victim.token)).statusCode, 200, 'the victim’s session is alive')
    }

    const countAudit = async (t: TestApp) =>
      (await t.context.db.selectFrom('audit_events').select('id').execute()).length

    it('answers an admin whose token was asked for without the admin scope with 403 on every admin route', async () => {
      const narrow = await api.login({
        username: ADMIN.ADMIN_EMAIL,
        password: ADMIN.ADMIN_PASSWORD,
        scope: 'profile',
      })
      assert.equal(narrow.json().scope, 'profile')
      const victim = await api.loggedInUser()
      const snapshot = await storedUser(ctx(), victim.user.id)
      for (const request of adminRequests(victim.user.id)) {
        const response = await api.request({ ...request, token: narrow.json().access_token })
        assertError(response, 403, 'FORBIDDEN')
      }
      await assertUntouched(ctx(), { id: victim.user.id, token: victim.tokens.access_token }, snapshot)
    })

    it('answers a user without the admin role with 403 FORBIDDEN on every admin route; no handler runs', async () => {
      const caller = await api.loggedInUser()
      const victim = await api.loggedInUser()
      const snapshot = await storedUser(ctx(), victim.user.id)
      const events = await countAudit(ctx())
      for (const request of adminRequests(victim.user.id)) {
        const response = await api.request({ ...request, token: caller.tokens.access_token })
        assertError(response, 403, 'FORBIDDEN')
        assert.equal(response.body.includes(victim.email), false, `${request.method} ${request.url}`)
      }
      await assertUntouched(ctx(), { id: victim.user.id, token: victim.tokens.access_token }, snapshot)
      assert.equal(await countAudit(ctx()), events)
    })

    it('answers 401 AUTH_REQUIRED without a token on every admin route; no handler runs', async () => {
      const victim = await api.loggedInUser()
      const snapshot = await storedUser(ctx(), victim.user.id)
      for (const request of adminRequests(victim.user.id)) {
        const response = await api.request(request)
        assertError(response, 401, 'AUTH_REQUIRED')
        assert.equal(response.headers['www-authenticate'], 'Bearer')
      }
      await assertUntouched(ctx(), { id: victim.user.id, token: victim.tokens.access_token }, snapshot)
    })

    it('answers 403 to an admin demoted in the database whose token still says admin', async () => {
      const { user, email, password } = await api.loggedInUser()
      const { db } = ctx().context
      await db
        .updateTable('users')
        .set({ roles: JSON.stringify(['user', 'admin']) })
        .where('id', '=', user.id)
        .execute()
      const formerAdmin = await api.tokens(email, password)
      assert.equal((await getUser(ctx(), formerAdmin.access_token, user.id)).statusCode, 200)

      await db
        .updateTable('users')
        .set({ roles: JSON.stringify(['user']) })
        .where('id', '=', user.id)
        .execute()
      const victim = await api.loggedInUser()
      const snapshot = await storedUser(ctx(), victim.user.id)
      for (const request of adminRequests(victim.user.id)) {
        const response = await api.request({ ...request, token: formerAdmin.access_token })
        assertError(response, 403, 'FORBIDDEN')
      }
      await assertUntouched(ctx(), { id: victim.user.id, token: victim.tokens.access_token }, snapshot)
    })

    it('demoting an admin ends their sessions: the old token, still saying admin, is 401 and refresh fails', async () => {
      const admin = await api.adminToken()
      const { user, email, password } = await api.loggedInUser()
      const promoted = await patchUser(ctx(), admin, user.id, { roles: ['user', 'admin'] })
      assert.equal(promoted.statusCode, 200)
      const tokens = await api.tokens(email, password)
      assert.equal((await getUser(ctx(), tokens.access_token, user.id)).statusCode, 200)
      await patchUser(ctx(), admin, user.id, { roles: ['user'] }, 'demote-1')
      assertError(await getUser(ctx(), tokens.access_token, user.id), 401, 'INVALID_TOKEN')
      assertError(await api.me(tokens.access_token), 401, 'INVALID_TOKEN')
      assertError(await api.refresh(tokens.refresh_token), 401, 'INVALID_REFRESH_TOKEN')
      const ended = (await auditOf(ctx(), user.id)).find((event) => event.type === 'sessions_ended')
      assert.equal(ended?.request_id, 'demote-1')
      assert.equal(JSON.parse(ended.data).reason, 'role_removed')
      const fresh = await api.tokens(email, password)
      assert.doesNotMatch(fresh.scope, /\badmin\b/, 'a new login works, without admin')
    })

    it('a promotion ends no session', async () => {
      const admin = await api.adminToken()
      const { user, tokens } = await api.loggedInUser()
      await patchUser(ctx(), admin, user.id, { roles: ['user', 'admin'] })
      assert.equal((await api.me(tokens.access_token)).statusCode, 200)
    })

    it('an admin rename is audited as profile_changed with the old and the new name', async () => {
      const token = await api.adminToken()
      const actor = await adminId(ctx(), token)
      const user = await newUser(ctx(), { email: uniqueEmail(), full_name: 'Ada' })
      await patchUser(ctx(), token, user.id, { full_name: 'Mallory' }, 'rename-1')
      await patchUser(ctx(), token, user.id, { full_name: 'Mallory' })
      const renames = (await auditOf(ctx(), user.id)).filter((event) => event.type === 'profile_changed')
      assert.equal(renames.length, 1, 'an unchanged name is no event')
      assert.equal(renames[0]!.request_id, 'rename-1')
      assert.deepEqual(withoutServerRequestId(renames[0]!.data), {
        full_name: { from: 'Ada', to: 'Mallory' },
        by: actor,
      })
    })
  },
  { env: ADMIN },
)
