import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { it } from 'node:test'
import type { LightMyRequestResponse } from 'fastify'
import { decodeJwt } from 'jose'
import { pruneAuditEvents, recordAuditEvent } from '../../../src/identity/audit/audit-log.ts'
import {
  STRONG_PASSWORD,
  TestClock,
  describeOnDatabases,
  uniqueEmail,
  type TestApp,
} from '../../support/harness.ts'
import { ADMIN, clientFor } from '../../support/client.ts'

const DAY = 86_400

interface AuditItem {
  id: string
  type: string
  user_id: string | null
  ip: string | null
  request_id: string | null
  at: string
  data: Record<string, unknown>
}

interface Stats {
  users_total: number
  sessions_active: number
  logins_24h: number
  failed_logins_24h: number
}

const unique = () => randomBytes(5).toString('hex')

async function failLogin(t: TestApp, username: string, password: string, requestId?: string) {
  const response = await clientFor(t).login(username, password, { requestId })
  assert.equal(response.statusCode, 401, response.body)
}

const audit = (t: TestApp, token: string, query: string) => clientFor(t).as(token).get(`/admin/audit${query}`)

/** Every page of an audit listing, following `next_cursor`, with the raw bodies. */
async function auditPages(t: TestApp, token: string, query: string) {
  const pages: AuditItem[][] = []
  const bodies: string[] = []
  let cursor: string | null = null
  do {
    const response = await audit(t, token, cursor === null ? query : `${query}&cursor=${cursor}`)
    assert.equal(response.statusCode, 200, response.body)
    const page = response.json<{ items: AuditItem[]; next_cursor: string | null }>()
    pages.push(page.items)
    bodies.push(response.body)
    cursor = page.next_cursor
  } while (cursor !== null)
  return { items: pages.flat(), pages, body: bodies.join('\n') }
}

/** The stored events in the order the contract promises: newest first, ties broken by id, descending. */
async function storedNewestFirst(t: TestApp, userId: string) {
  return t.context.db
    .selectFrom('audit_events')
    .select(['id', 'at'])
    .where('user_id', '=', userId)
    .orderBy('at', 'desc')
    .orderBy('id', 'desc')
    .execute()
}

function assertValidationError(response: LightMyRequestResponse, field: string) {
  assert.equal(response.statusCode, 422, response.body)
  const { error } = response.json()
  assert.equal(error.code, 'VALIDATION_ERROR')
  assert.ok(
    error.details.some((detail: { field: string }) => detail.field === field),
    JSON.stringify(error.details),
  )
}

await describeOnDatabases(
  'GET /admin/audit',
  (ctx) => {
    const api = clientFor(ctx)
    it('records signup, login, failed logins, logout and refresh reuse with their request id, user id and ip', async () => {
      const r = unique()
      const email = uniqueEmail()
      const signup = await api.signup({ email, password: STRONG_PASSWORD }, { requestId: `${r}-signup` })
      assert.equal(signup.statusCode, 201)
      const userId = signup.json().id as string
      const session = await api.tokens(email, STRONG_PASSWORD, { requestId: `${r}-login` })
      await failLogin(ctx(), email, 'not the password at all', `${r}-wrong-password`)
      const stranger = uniqueEmail('nobody')
      await failLogin(ctx(), stranger, 'not the password at all', `${r}-unknown-user`)
      const logout = await api.as(session.access_token).post('/auth/logout', {}, { requestId: `${r}-logout` })
      assert.equal(logout.statusCode, 204)

      const stolen = await api.tokens(email, STRONG_PASSWORD)
      const rotated = await api.refresh(stolen.refresh_token)
      assert.equal(rotated.statusCode, 200)
      ctx().clock.advance(11)
      const reuse = await api.refresh(stolen.refresh_token, { requestId: `${r}-reuse` })
      assert.equal(reuse.statusCode, 401)

      const token = await api.adminToken()
      const { items: mine } = await auditPages(ctx(), token, `?user_id=${userId}&limit=100`)
      const { items: failures } = await auditPages(ctx(), token, '?type=login_failed&limit=100')
      const find = (items: AuditItem[], requestId: string, type: string) => {
        const event = items.find((item) => item.request_id === requestId && item.type === type)
        assert.ok(event, `${type} with request id ${requestId}`)
        assert.equal(event.ip, '127.0.0.1')
        assert.deepEqual(Object.keys(event).sort(), [
          'at',
          'data',
          'id',
          'ip',
          'request_id',
          'type',
          'user_id',
        ])
        // The client chose the request id; the server's own is kept beside it.
        const { server_request_id: serverRequestId, ...data } = event.data
        assert.match(String(serverRequestId), /^[0-9a-f-]{36}$/)
        return { ...event, data }
      }

      assert.equal(find(mine, `${r}-signup`, 'signup').user_id, userId)
      const loggedIn = find(mine, `${r}-login`, 'login_succeeded')
      assert.equal(loggedIn.user_id, userId)
      assert.deepEqual(loggedIn.data, { session_id: decodeJwt(session.access_token).sid })
      const wrong = find(mine, `${r}-wrong-password`, 'login_failed')
      assert.equal(wrong.user_id, userId)
      assert.deepEqual(wrong.data, { username: email, reason: 'wrong_password' })
      const unknown = find(failures, `${r}-unknown-user`, 'login_failed')
      assert.equal(unknown.user_id, null)
      assert.deepEqual(unknown.data, { username: stranger, reason: 'unknown_user' })
      assert.equal(find(mine, `${r}-logout`, 'logout').user_id, userId)
      assert.equal(find(mine, `${r}-reuse`, 'refresh_reuse_detected').user_id, userId)
      assert.equal(find(mine, `${r}-reuse`, 'sessions_ended').data.reason, 'refresh_token_reuse')
    })

    it('keeps the attempted username of a failed login and never a password, in the API or the logs', async () => {
      const r = unique()
      const password = `right ${r} horse battery`
      const wrongPassword = `wrong ${r} horse battery`
      const { email } = await api.loggedInUser({ password })
      await failLogin(ctx(), email, wrongPassword, `${r}-failed`)
      await failLogin(ctx(), `ghost.${r}@example.com`, wrongPassword)

      const token = await api.adminToken()
      const { items, body } = await auditPages(ctx(), token, '?type=login_failed&limit=100')
      const failed = items.find((item) => item.request_id === `${r}-failed`)
      assert.equal(failed?.data.username, email)
      assert.ok(items.some((item) => item.data.username === `ghost.${r}@example.com`))
      assert.equal(body.includes(password), false)
      assert.equal(body.includes(wrongPassword), false)
      const everything = await auditPages(ctx(), token, '?limit=100')
      assert.equal(everything.body.includes(password), false)
      assert.equal(everything.body.includes(wrongPassword), false)
      assert.equal(
        ctx()
          .logs.text()
          .includes(r + ' horse'),
        false,
      )
    })

    it('filters by user_id, by type, and by both', async () => {
      const first = await api.loggedInUser()
      const second = await api.loggedInUser()
      await failLogin(ctx(), first.email, 'wrong wrong wrong')
      await api.tokens(first.email, first.password)
      await failLogin(ctx(), second.email, 'wrong wrong wrong')
      const token = await api.adminToken()

      const byUser = (await auditPages(ctx(), token, `?user_id=${first.user.id}&limit=7`)).items
      assert.ok(byUser.every((item) => item.user_id === first.user.id))
      assert.deepEqual(byUser.map((item) => item.type).sort(), [
        'login_failed',
        'login_succeeded',
        'login_succeeded',
        'signup',
      ])

      const byType = (await auditPages(ctx(), token, '?type=login_failed&limit=2')).items
      assert.ok(byType.length >= 2)
      assert.ok(byType.every((item) => item.type === 'login_failed'))
      assert.ok(byType.some((item) => item.user_id === second.user.id))

      const both = (await auditPages(ctx(), token, `?user_id=${first.user.id}&type=login_succeeded`)).items
      assert.equal(both.length, 2)
      assert.ok(both.every((item) => item.user_id === first.user.id && item.type === 'login_succeeded'))
    })

    it('pages newest first without gaps or repeats, while new events arrive between pages', async () => {
      const { user, email, password } = await api.loggedInUser()
      // Three failures then a success, three times: fewer than five in a row, so never throttled.
      for (let i = 0; i < 12; i++) {
        if (i % 4 === 3) await api.tokens(email, password)
        else await failLogin(ctx(), email, `wrong password ${i}`)
        if (i % 4 === 0) ctx().clock.advance(1)
      }
      const expected = await storedNewestFirst(ctx(), user.id)
      assert.equal(expected.length, 14)
      const token = await api.adminToken()

      const seen: AuditItem[] = []
      let cursor: string | null = null
      do {
        const query: string = `?user_id=${user.id}&limit=4${cursor === null ? '' : `&cursor=${cursor}`}`
        const response = await audit(ctx(), token, query)
        assert.equal(response.statusCode, 200, response.body)
        const page = response.json<{ items: AuditItem[]; next_cursor: string | null }>()
        assert.ok(page.items.length <= 4)
        seen.push(...page.items)
        cursor = page.next_cursor
        ctx().clock.advance(0.001)
        await failLogin(ctx(), email, 'arrives between pages')
      } while (cursor !== null)

      assert.deepEqual(
        seen.map((item) => item.id),
        expected.map((row) => row.id),
      )
      const times = seen.map((item) => item.at)
      assert.deepEqual(times, [...times].sort().reverse())
    })

    it('answers an unknown type, a user_id that is not a UUID, a bad cursor or limit with 422 naming it', async () => {
      const token = await api.adminToken()
      assertValidationError(await audit(ctx(), token, '?type=password_stolen'), 'type')
      assertValidationError(await audit(ctx(), token, '?user_id=42'), 'user_id')
      assertValidationError(await audit(ctx(), token, '?cursor=nope'), 'cursor')
      assertValidationError(await audit(ctx(), token, '?limit=0'), 'limit')
      assertValidationError(await audit(ctx(), token, '?limit=101'), 'limit')
    })
  },
  { env: ADMIN },
)

await describeOnDatabases(
  'GET /admin/stats',
  (ctx) => {
    const api = clientFor(ctx)
    const stats = async (token: string): Promise<Stats> => {
      const response = await api.as(token).get('/admin/stats')
      assert.equal(response.statusCode, 200, response.body)
      assert.deepEqual(Object.keys(response.json()).sort(), [
        'failed_logins_24h',
        'logins_24h',
        'sessions_active',
        'users_total',
      ])
      return response.json()
    }

    it('counts users, live sessions, logins and failed logins as they happen', async () => {
      const token = await api.adminToken()
      const s0 = await stats(token)
      assert.equal(s0.users_total, 1, 'the admin')
      assert.equal(s0.sessions_active, 1)
      assert.equal(s0.logins_24h, 1)
      assert.equal(s0.failed_logins_24h, 0)

      const email = uniqueEmail()
      await api.signup({ email, password: STRONG_PASSWORD })
      assert.deepEqual(await stats(token), { ...s0, users_total: s0.users_total + 1 })

      const session = await api.tokens(email, STRONG_PASSWORD)
      const second = await api.tokens(email, STRONG_PASSWORD)
      await failLogin(ctx(), email, 'wrong wrong wrong')
      await failLogin(ctx(), uniqueEmail(), 'wrong wrong wrong')
      const s1 = await stats(token)
      assert.deepEqual(s1, {
        users_total: s0.users_total + 1,
        sessions_active: s0.sessions_active + 2,
        logins_24h: s0.logins_24h + 2,
        failed_logins_24h: s0.failed_logins_24h + 2,
      })

      await api.as(session.access_token).post('/auth/logout', {})
      assert.deepEqual(await stats(token), { ...s1, sessions_active: s1.sessions_active - 1 })

      const userId = (await api.me(second.access_token)).json().id as string
      const deleted = await api.as(token).delete(`/admin/users/${userId}`)
      assert.equal(deleted.statusCode, 204)
      assert.deepEqual(await stats(token), {
        ...s1,
        users_total: s0.users_total,
        sessions_active: s0.sessions_active,
      })
    })

    it('counts logins and failed logins of the last 24 hours only', async () => {
      const { email, password } = await api.loggedInUser()
      await failLogin(ctx(), email, 'wrong wrong wrong')
      const before = await stats(await api.adminToken())
      assert.ok(before.logins_24h >= 2)
      assert.ok(before.failed_logins_24h >= 1)

      ctx().clock.advance(23 * 3600)
      const laterSameDay = await stats(await api.adminToken())
      assert.equal(laterSameDay.logins_24h, before.logins_24h + 1)
      assert.equal(laterSameDay.failed_logins_24h, before.failed_logins_24h)

      ctx().clock.advance(3600 + 1)
      const token = await api.adminToken()
      const nextDay = await stats(token)
      assert.equal(nextDay.logins_24h, 2, 'the two admin logins of the last 24 hours')
      assert.equal(nextDay.failed_logins_24h, 0)
      assert.equal(nextDay.users_total, before.users_total)

      await failLogin(ctx(), email, 'wrong again, wrong again')
      await api.tokens(email, password)
      assert.deepEqual(await stats(token), {
        ...nextDay,
        sessions_active: nextDay.sessions_active + 1,
        logins_24h: 3,
        failed_logins_24h: 1,
      })
    })
  },
  { env: ADMIN },
)

await describeOnDatabases(
  'pruneAuditEvents (AUDIT_RETENTION)',
  (ctx) => {
    it('deletes the events older than the retention and keeps the newer ones', async () => {
      const { db, config } = ctx().context
      const retention = config.auditRetentionSeconds
      assert.equal(retention, 30 * DAY, 'AUDIT_RETENTION=30d')
      const now = ctx().clock.now()
      const ages: Record<string, number> = {
        '31d': 31 * DAY * 1000,
        'just-over': retention * 1000 + 1,
        exactly: retention * 1000,
        '29d': 29 * DAY * 1000,
        now: 0,
      }
      for (const [name, age] of Object.entries(ages)) {
        await recordAuditEvent(db, new TestClock(now - age), {
          type: 'login_failed',
          userId: null,
          origin: { ip: '127.0.0.1', userAgent: undefined, requestId: `prune-${name}` },
          data: { username: name },
        })
      }

      assert.equal(await pruneAuditEvents(db, ctx().clock, retention), 2)
      const left = await db
        .selectFrom('audit_events')
        .select('request_id')
        .where('request_id', 'like', 'prune-%')
        .execute()
      assert.deepEqual(left.map((row) => row.request_id).sort(), ['prune-29d', 'prune-exactly', 'prune-now'])
      assert.equal(await pruneAuditEvents(db, ctx().clock, retention), 0, 'nothing more to prune')

      ctx().clock.advance(DAY + 1)
      assert.equal(
        await pruneAuditEvents(db, ctx().clock, retention),
        2,
        'the 29-day and the exact one age out',
      )
    })
  },
  { env: { AUDIT_RETENTION: '30d' } },
)
