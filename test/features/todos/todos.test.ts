import assert from 'node:assert/strict'
import { it } from 'node:test'
import type { LightMyRequestResponse } from 'fastify'
import { describeOnDatabases, type TestApp } from '../../support/harness.ts'
import { ADMIN, clientFor } from '../../support/client.ts'

const UNKNOWN_ID = '00000000-0000-4000-8000-000000000000'

interface Todo {
  id: string
  title: string
  done: boolean
  created_at: string
  updated_at: string
}

/** A fresh user with a full token and, from separate logins, a `todos:read`-only and a `profile`-only one. */
async function userWithScopedTokens(t: TestApp) {
  const api = clientFor(t)
  const { user, email, password, tokens } = await api.loggedInUser()
  const readOnly = (await api.tokens(email, password, { scope: 'todos:read' })).access_token
  const profileOnly = (await api.tokens(email, password, { scope: 'profile' })).access_token
  return { user, email, password, token: tokens.access_token, readOnly, profileOnly }
}

async function createTodo(t: TestApp, token: string, title: string): Promise<Todo> {
  const response = await clientFor(t).as(token).post('/todos', { title })
  assert.equal(response.statusCode, 201, response.body)
  return response.json()
}

const getTodo = (t: TestApp, token: string, id: string) => clientFor(t).as(token).get(`/todos/${id}`)

const listTodos = (t: TestApp, token: string, query = '') => clientFor(t).as(token).get(`/todos${query}`)

/** The todo row as stored, whoever owns it. */
const storedTodo = (t: TestApp, id: string) =>
  t.context.db.selectFrom('todos').selectAll().where('id', '=', id).executeTakeFirst()

async function countTodosOf(t: TestApp, userId: string): Promise<number> {
  const rows = await t.context.db.selectFrom('todos').select('id').where('user_id', '=', userId).execute()
  return rows.length
}

/** Every page of a listing, following `next_cursor` until it is null. */
async function allPages(t: TestApp, token: string, query: string): Promise<Todo[][]> {
  const pages: Todo[][] = []
  let cursor: string | null = null
  do {
    const separator = query === '' ? '?' : '&'
    const url: string = cursor === null ? query : `${query}${separator}cursor=${cursor}`
    const response = await listTodos(t, token, url)
    assert.equal(response.statusCode, 200, response.body)
    const page = response.json<{ items: Todo[]; next_cursor: string | null }>()
    pages.push(page.items)
    cursor = page.next_cursor
    assert.ok(pages.length <= 1000, 'the listing never ends')
  } while (cursor !== null)
  return pages
}

/** Code-unit order, as the databases compare these ASCII columns (not the locale's order). */
const byCodeUnits = (x: string, y: string) => (x < y ? -1 : x > y ? 1 : 0)

/** Newest first, ties on the timestamp broken by id, descending: the order the contract promises. */
function newestFirst(todos: Todo[]): Todo[] {
  return [...todos].sort((a, b) => byCodeUnits(b.created_at, a.created_at) || byCodeUnits(b.id, a.id))
}

function assertValidationError(response: LightMyRequestResponse, field: string) {
  assert.equal(response.statusCode, 422, response.body)
  const { error } = response.json()
  assert.equal(error.code, 'VALIDATION_ERROR')
  assert.ok(
    error.details.some((detail: { field: string }) => detail.field === field),
    `details name ${field}: ${JSON.stringify(error.details)}`,
  )
}

function assertForbidden(response: LightMyRequestResponse) {
  assert.equal(response.statusCode, 403, response.body)
  assert.equal(response.json().error.code, 'FORBIDDEN')
}

function assertNotFound(response: LightMyRequestResponse) {
  assert.equal(response.statusCode, 404, response.body)
  assert.equal(response.json().error.code, 'NOT_FOUND')
}

function assertAuthRequired(response: LightMyRequestResponse) {
  assert.equal(response.statusCode, 401, response.body)
  assert.equal(response.json().error.code, 'AUTH_REQUIRED')
  assert.equal(response.headers['www-authenticate'], 'Bearer')
}

await describeOnDatabases('POST /todos', (ctx) => {
  const api = clientFor(ctx)
  it('creates a todo for the caller with 201: not done, timestamps of now', async () => {
    const { user, tokens } = await api.loggedInUser()
    const todo = await createTodo(ctx(), tokens.access_token, 'Buy milk')
    assert.deepEqual(Object.keys(todo).sort(), ['created_at', 'done', 'id', 'title', 'updated_at'])
    assert.match(todo.id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/)
    assert.equal(todo.title, 'Buy milk')
    assert.equal(todo.done, false)
    assert.equal(todo.created_at, new Date(ctx().clock.now()).toISOString())
    assert.equal(todo.updated_at, todo.created_at)
    assert.equal((await storedTodo(ctx(), todo.id))?.user_id, user.id)
    assert.deepEqual((await getTodo(ctx(), tokens.access_token, todo.id)).json(), todo)
  })

  it('accepts titles of 1 and of 500 characters, counting characters rather than bytes', async () => {
    const { tokens } = await api.loggedInUser()
    for (const title of ['x', 'x'.repeat(500), 'é'.repeat(500), 'Tab-free “quotes” and emoji 🙂']) {
      assert.equal((await createTodo(ctx(), tokens.access_token, title)).title, title)
    }
  })

  it('rejects an empty, a 501-character, a control-character, a non-string or a missing title with 422', async () => {
    const { user, tokens } = await api.loggedInUser()
    const invalid: unknown[] = [
      { title: '' },
      { title: 'x'.repeat(501) },
      { title: 'line\nbreak' },
      { title: 'tab\there' },
      { title: 'nul\u0000byte' },
      { title: 'escape\u001b[31m' },
      { title: 'delete\u007f' },
      { title: 42 },
      { title: null },
      {},
    ]
    for (const payload of invalid) {
      const response = await api.as(tokens.access_token).post('/todos', payload as object)
      assertValidationError(response, 'title')
    }
    assert.equal(await countTodosOf(ctx(), user.id), 0)
  })

  it('needs the todos:write scope: a todos:read or profile token gets 403 FORBIDDEN and nothing is created', async () => {
    const { user, readOnly, profileOnly } = await userWithScopedTokens(ctx())
    for (const token of [readOnly, profileOnly]) {
      const response = await api.as(token).post('/todos', { title: 'not allowed' })
      assertForbidden(response)
    }
    assert.equal(await countTodosOf(ctx(), user.id), 0)
  })

  it('answers 401 AUTH_REQUIRED without a token', async () => {
    const before = await ctx().context.db.selectFrom('todos').select('id').execute()
    assertAuthRequired(await ctx().app.inject({ method: 'POST', url: '/todos', payload: { title: 'anon' } }))
    const after = await ctx().context.db.selectFrom('todos').select('id').execute()
    assert.equal(after.length, before.length)
  })
})

await describeOnDatabases('GET /todos/{id}', (ctx) => {
  const api = clientFor(ctx)
  it('returns one of the caller’s todos', async () => {
    const { tokens } = await api.loggedInUser()
    const todo = await createTodo(ctx(), tokens.access_token, 'Read me')
    const response = await getTodo(ctx(), tokens.access_token, todo.id)
    assert.equal(response.statusCode, 200)
    assert.deepEqual(response.json(), todo)
  })

  it('answers 404 for another user’s todo, exactly as for one that does not exist', async () => {
    const owner = await api.loggedInUser()
    const stranger = await api.loggedInUser()
    const todo = await createTodo(ctx(), owner.tokens.access_token, 'Private')
    const theirs = await getTodo(ctx(), stranger.tokens.access_token, todo.id)
    const unknown = await getTodo(ctx(), stranger.tokens.access_token, UNKNOWN_ID)
    assertNotFound(theirs)
    assertNotFound(unknown)
    const withoutId = (response: LightMyRequestResponse) => ({
      ...response.json().error,
      request_id: undefined,
    })
    assert.deepEqual(withoutId(theirs), withoutId(unknown))
    assert.equal(theirs.body.includes('Private'), false)
  })

  it('answers 422 for an id that is not a UUID', async () => {
    const { tokens } = await api.loggedInUser()
    assertValidationError(await getTodo(ctx(), tokens.access_token, "1' OR '1'='1"), 'id')
  })

  it('needs the todos:read scope: todos:read alone is enough, profile alone gets 403 FORBIDDEN', async () => {
    const { token, readOnly, profileOnly } = await userWithScopedTokens(ctx())
    const todo = await createTodo(ctx(), token, 'Scoped')
    const read = await getTodo(ctx(), readOnly, todo.id)
    assert.equal(read.statusCode, 200)
    assert.equal(read.json().id, todo.id)
    assertForbidden(await getTodo(ctx(), profileOnly, todo.id))
  })

  it('answers 401 AUTH_REQUIRED without a token', async () => {
    const { tokens } = await api.loggedInUser()
    const todo = await createTodo(ctx(), tokens.access_token, 'Hidden')
    assertAuthRequired(await ctx().app.inject({ method: 'GET', url: `/todos/${todo.id}` }))
  })
})

await describeOnDatabases('PATCH /todos/{id}', (ctx) => {
  const api = clientFor(ctx)
  const patch = (token: string, id: string, payload: object) => api.as(token).patch(`/todos/${id}`, payload)

  it('changes the title and the done flag, moves updated_at and keeps created_at', async () => {
    const { tokens } = await api.loggedInUser()
    const todo = await createTodo(ctx(), tokens.access_token, 'Draft')
    ctx().clock.advance(5)
    const response = await patch(tokens.access_token, todo.id, { title: 'Final', done: true })
    assert.equal(response.statusCode, 200, response.body)
    const changed = response.json<Todo>()
    assert.deepEqual(changed, {
      ...todo,
      title: 'Final',
      done: true,
      updated_at: new Date(ctx().clock.now()).toISOString(),
    })
    assert.deepEqual((await getTodo(ctx(), tokens.access_token, todo.id)).json(), changed)
  })

  it('changes only the fields sent', async () => {
    const { tokens } = await api.loggedInUser()
    const todo = await createTodo(ctx(), tokens.access_token, 'Keep this title')
    const done = (await patch(tokens.access_token, todo.id, { done: true })).json<Todo>()
    assert.equal(done.title, 'Keep this title')
    assert.equal(done.done, true)
    const renamed = (await patch(tokens.access_token, todo.id, { title: 'Renamed' })).json<Todo>()
    assert.equal(renamed.title, 'Renamed')
    assert.equal(renamed.done, true)
    const undone = (await patch(tokens.access_token, todo.id, { done: false })).json<Todo>()
    assert.equal(undone.done, false)
  })

  it('rejects an invalid title or done flag with 422 and leaves the todo unchanged', async () => {
    const { tokens } = await api.loggedInUser()
    const todo = await createTodo(ctx(), tokens.access_token, 'Stable')
    for (const [payload, field] of [
      [{ title: '' }, 'title'],
      [{ title: 'x'.repeat(501) }, 'title'],
      [{ title: 'bell\u0007' }, 'title'],
      [{ done: 'yes' }, 'done'],
    ] as const) {
      assertValidationError(await patch(tokens.access_token, todo.id, payload), field)
    }
    assert.deepEqual((await getTodo(ctx(), tokens.access_token, todo.id)).json(), todo)
  })

  it('answers 404 for another user’s todo and leaves it unchanged', async () => {
    const owner = await api.loggedInUser()
    const stranger = await api.loggedInUser()
    const todo = await createTodo(ctx(), owner.tokens.access_token, 'Mine')
    ctx().clock.advance(1)
    assertNotFound(await patch(stranger.tokens.access_token, todo.id, { title: 'Hijacked', done: true }))
    assertNotFound(await patch(stranger.tokens.access_token, UNKNOWN_ID, { done: true }))
    assert.deepEqual((await getTodo(ctx(), owner.tokens.access_token, todo.id)).json(), todo)
  })

  it('needs the todos:write scope: todos:read or profile tokens get 403 FORBIDDEN and change nothing', async () => {
    const { token, readOnly, profileOnly } = await userWithScopedTokens(ctx())
    const todo = await createTodo(ctx(), token, 'Untouchable')
    ctx().clock.advance(1)
    for (const scoped of [readOnly, profileOnly]) {
      assertForbidden(await patch(scoped, todo.id, { title: 'Touched', done: true }))
    }
    assert.deepEqual((await getTodo(ctx(), token, todo.id)).json(), todo)
  })

  it('answers 401 AUTH_REQUIRED without a token and changes nothing', async () => {
    const { tokens } = await api.loggedInUser()
    const todo = await createTodo(ctx(), tokens.access_token, 'Anonymous-proof')
    assertAuthRequired(
      await ctx().app.inject({ method: 'PATCH', url: `/todos/${todo.id}`, payload: { done: true } }),
    )
    assert.equal((await getTodo(ctx(), tokens.access_token, todo.id)).json().done, false)
  })
})

await describeOnDatabases('DELETE /todos/{id}', (ctx) => {
  const api = clientFor(ctx)
  const remove = (token: string, id: string) => api.as(token).delete(`/todos/${id}`)

  it('deletes one of the caller’s todos with 204; it is gone afterwards', async () => {
    const { tokens } = await api.loggedInUser()
    const todo = await createTodo(ctx(), tokens.access_token, 'Short-lived')
    const kept = await createTodo(ctx(), tokens.access_token, 'Long-lived')
    const response = await remove(tokens.access_token, todo.id)
    assert.equal(response.statusCode, 204)
    assert.equal(response.body, '')
    assertNotFound(await getTodo(ctx(), tokens.access_token, todo.id))
    assert.equal(await storedTodo(ctx(), todo.id), undefined)
    assertNotFound(await remove(tokens.access_token, todo.id))
    assert.equal((await getTodo(ctx(), tokens.access_token, kept.id)).statusCode, 200)
  })

  it('answers 404 for another user’s todo, which stays', async () => {
    const owner = await api.loggedInUser()
    const stranger = await api.loggedInUser()
    const todo = await createTodo(ctx(), owner.tokens.access_token, 'Do not delete')
    assertNotFound(await remove(stranger.tokens.access_token, todo.id))
    assert.deepEqual((await getTodo(ctx(), owner.tokens.access_token, todo.id)).json(), todo)
  })

  it('needs the todos:write scope: todos:read or profile tokens get 403 FORBIDDEN and delete nothing', async () => {
    const { token, readOnly, profileOnly } = await userWithScopedTokens(ctx())
    const todo = await createTodo(ctx(), token, 'Protected')
    for (const scoped of [readOnly, profileOnly]) assertForbidden(await remove(scoped, todo.id))
    assert.equal((await getTodo(ctx(), token, todo.id)).statusCode, 200)
  })

  it('answers 401 AUTH_REQUIRED without a token and deletes nothing', async () => {
    const { tokens } = await api.loggedInUser()
    const todo = await createTodo(ctx(), tokens.access_token, 'Survivor')
    assertAuthRequired(await ctx().app.inject({ method: 'DELETE', url: `/todos/${todo.id}` }))
    assert.equal((await getTodo(ctx(), tokens.access_token, todo.id)).statusCode, 200)
  })
})

await describeOnDatabases(
  'GET /todos',
  (ctx) => {
    const api = clientFor(ctx)
    it('lists only the caller’s todos, newest first', async () => {
      const mine = await api.loggedInUser()
      const theirs = await api.loggedInUser()
      const first = await createTodo(ctx(), mine.tokens.access_token, 'first')
      ctx().clock.advance(1)
      await createTodo(ctx(), theirs.tokens.access_token, 'not mine')
      const second = await createTodo(ctx(), mine.tokens.access_token, 'second')
      const response = await listTodos(ctx(), mine.tokens.access_token)
      assert.equal(response.statusCode, 200)
      assert.deepEqual(response.json(), { items: [second, first], next_cursor: null })
    })

    it('needs the todos:read scope: todos:read alone is enough, profile alone gets 403 FORBIDDEN', async () => {
      const { token, readOnly, profileOnly } = await userWithScopedTokens(ctx())
      const todo = await createTodo(ctx(), token, 'Visible')
      const read = await listTodos(ctx(), readOnly)
      assert.equal(read.statusCode, 200)
      assert.deepEqual(read.json().items, [todo])
      assertForbidden(await listTodos(ctx(), profileOnly))
    })

    it('answers 401 AUTH_REQUIRED without a token', async () => {
      assertAuthRequired(await ctx().app.inject({ method: 'GET', url: '/todos' }))
    })

    it('answers ?all=true from a user with 403 FORBIDDEN', async () => {
      const { tokens } = await api.loggedInUser()
      assertForbidden(await listTodos(ctx(), tokens.access_token, '?all=true'))
    })

    it('lists everyone’s todos for an admin with ?all=true, and only the admin’s own without it', async () => {
      const alice = await api.loggedInUser()
      const bob = await api.loggedInUser()
      const aliceTodo = await createTodo(ctx(), alice.tokens.access_token, 'alice’s')
      const bobTodo = await createTodo(ctx(), bob.tokens.access_token, 'bob’s')
      const admin = await api.adminToken()
      const adminTodo = await createTodo(ctx(), admin, 'admin’s')

      const everyone = (await allPages(ctx(), admin, '?all=true&limit=100')).flat()
      const stored = await ctx().context.db.selectFrom('todos').select('id').execute()
      assert.deepEqual(everyone.map((todo) => todo.id).sort(), stored.map((row) => row.id).sort())
      for (const todo of [aliceTodo, bobTodo, adminTodo]) {
        assert.deepEqual(
          everyone.find((item) => item.id === todo.id),
          todo,
        )
      }
      assert.deepEqual(everyone, newestFirst(everyone))

      const own = await listTodos(ctx(), admin)
      assert.deepEqual(own.json().items, [adminTodo])
    })

    it('re-checks the admin role on the user’s current record for ?all=true', async () => {
      const { user, email, password } = await api.loggedInUser()
      const { db } = ctx().context
      const setRoles = (roles: string[]) =>
        db
          .updateTable('users')
          .set({ roles: JSON.stringify(roles) })
          .where('id', '=', user.id)
          .execute()
      await setRoles(['user', 'admin'])
      const token = (await api.tokens(email, password)).access_token
      assert.equal((await listTodos(ctx(), token, '?all=true')).statusCode, 200)
      await setRoles(['user'])
      assertForbidden(await listTodos(ctx(), token, '?all=true'))
      assert.equal((await listTodos(ctx(), token)).statusCode, 200, 'the own listing still works')
    })

    it('pages newest first with next_cursor until null, breaking same-millisecond ties by id, skipping and repeating nothing', async () => {
      const { tokens } = await api.loggedInUser()
      const token = tokens.access_token
      const created: Todo[] = []
      for (let i = 0; i < 10; i++) {
        created.push(await createTodo(ctx(), token, `spaced ${i}`))
        if (i % 3 === 0) ctx().clock.advance(1)
      }
      // Fifteen in one millisecond, sent at once: only the id orders them.
      const burst = await Promise.all(
        Array.from({ length: 15 }, (_, i) => createTodo(ctx(), token, `burst ${i}`)),
      )
      created.push(...burst)
      assert.equal(new Set(burst.map((todo) => todo.created_at)).size, 1)

      const pages = await allPages(ctx(), token, '?limit=10')
      assert.deepEqual(
        pages.map((page) => page.length),
        [10, 10, 5],
      )
      assert.deepEqual(pages.flat(), newestFirst(created))

      const byDefault = await listTodos(ctx(), token)
      assert.equal(byDefault.json().items.length, 20, 'the default page size is 20')
      assert.equal(typeof byDefault.json().next_cursor, 'string')
    })

    it('gives next_cursor null on a last page that is exactly full', async () => {
      const { tokens } = await api.loggedInUser()
      const created: Todo[] = []
      for (let i = 0; i < 6; i++) created.push(await createTodo(ctx(), tokens.access_token, `todo ${i}`))
      const pages = await allPages(ctx(), tokens.access_token, '?limit=3')
      assert.equal(pages.length, 2)
      assert.deepEqual(pages.flat(), newestFirst(created))
    })

    it('skips and repeats none of the listed todos when new ones are created between pages; those show on page 1 of a new listing', async () => {
      const { tokens } = await api.loggedInUser()
      const token = tokens.access_token
      const original: Todo[] = []
      for (let i = 0; i < 12; i++) {
        original.push(await createTodo(ctx(), token, `original ${i}`))
        if (i % 4 === 0) ctx().clock.advance(1)
      }
      const seen: Todo[] = []
      const added: Todo[] = []
      let cursor: string | null = null
      let round = 0
      do {
        const query: string = cursor === null ? '?limit=5' : `?limit=5&cursor=${cursor}`
        const page = (await listTodos(ctx(), token, query)).json<{
          items: Todo[]
          next_cursor: string | null
        }>()
        seen.push(...page.items)
        cursor = page.next_cursor
        // Time moves on, and more todos arrive before the next page is asked for.
        ctx().clock.advance(0.001)
        added.push(
          ...(await Promise.all([
            createTodo(ctx(), token, `added ${round} a`),
            createTodo(ctx(), token, `added ${round} b`),
          ])),
        )
        round += 1
      } while (cursor !== null)

      assert.deepEqual(seen, newestFirst(original))
      const fresh = (await listTodos(ctx(), token, `?limit=${added.length}`)).json().items
      assert.deepEqual(fresh, newestFirst(added))
    })

    it('answers a cursor it did not issue with 422 naming cursor', async () => {
      const { tokens } = await api.loggedInUser()
      const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
      for (const cursor of [
        'not-a-cursor',
        '%00',
        encode({ at: '2026-01-01T00:00:00.000Z', id: UNKNOWN_ID }),
        encode(['2026-01-01T00:00:00.000Z']),
        encode([1, 2]),
        'x'.repeat(513),
      ]) {
        const response = await listTodos(ctx(), tokens.access_token, `?cursor=${cursor}`)
        assertValidationError(response, 'cursor')
      }
    })

    it('answers a well-formed cursor whose parts are not a timestamp and an id with 422 naming cursor', async () => {
      const { tokens } = await api.loggedInUser()
      const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
      for (const cursor of [
        encode(['yesterday', UNKNOWN_ID]),
        encode(['\u0000', UNKNOWN_ID]),
        encode(['2026-01-01T00:00:00.000Z', 'x\u0000']),
      ]) {
        assertValidationError(await listTodos(ctx(), tokens.access_token, `?cursor=${cursor}`), 'cursor')
      }
    })

    it('answers a limit outside 1 to 100 with 422 naming limit', async () => {
      const { tokens } = await api.loggedInUser()
      for (const limit of ['0', '101', '-1', 'ten', '2.5']) {
        assertValidationError(await listTodos(ctx(), tokens.access_token, `?limit=${limit}`), 'limit')
      }
      for (const limit of ['1', '100']) {
        assert.equal((await listTodos(ctx(), tokens.access_token, `?limit=${limit}`)).statusCode, 200)
      }
    })
  },
  { env: ADMIN },
)
