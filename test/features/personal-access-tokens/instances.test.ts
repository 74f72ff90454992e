import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { RECONCILE_INTERVAL_MS } from '../../../src/identity/revocations/revocations.ts'
import {
  createTestDatabase,
  REDIS_URL,
  sharedServicesSkip,
  type TestDatabase,
} from '../../support/databases.ts'
import {
  describeOnDatabases,
  startAnotherInstance,
  startTestApp,
  stopTestApp,
  untilSubscribed,
  type TestApp,
} from '../../support/harness.ts'
import { ADMIN, clientFor } from '../../support/client.ts'

/**
 * Asks `t` with `token` every 50 ms until it is refused; returns the status and how long it took.
 * Gives up after `timeoutMs`.
 */
async function refusal(
  t: TestApp,
  token: string,
  timeoutMs: number,
): Promise<{ status: number; ms: number }> {
  const since = Date.now()
  for (;;) {
    const { statusCode } = await clientFor(t).as(token).get('/todos')
    const ms = Date.now() - since
    if (statusCode !== 200 || ms > timeoutMs) return { status: statusCode, ms }
    await sleep(50)
  }
}

/** Without Redis another instance reads the record within one reconcile interval (2 s); a second spare. */
const WITHOUT_REDIS_MS = RECONCILE_INTERVAL_MS + 1000
/** With Redis it hears the record at once. */
const WITH_REDIS_MS = 1000

/** `a` deletes (or disables) what `b` has just cached, and `b` must refuse it within `withinMs`. */
function propagationCases(instances: () => { a: TestApp; b: TestApp }, withinMs: number) {
  it(`a token deleted on one instance is refused by another, which had it cached, within ${withinMs} ms`, async () => {
    const { a, b } = instances()
    const { tokens } = await clientFor(a).loggedInUser()
    const created = await clientFor(a).personalToken(tokens.access_token)
    assert.equal((await clientFor(b).as(created.token).get('/todos')).statusCode, 200, 'cached on B')
    const deleted = await clientFor(a).as(tokens.access_token).delete(`/me/tokens/${created.id}`)
    assert.equal(deleted.statusCode, 204)
    const { status, ms } = await refusal(b, created.token, withinMs)
    assert.equal(status, 401, `still accepted after ${ms} ms`)
  })

  it(`a token of a user disabled on one instance is refused by another within ${withinMs} ms`, async () => {
    const { a, b } = instances()
    const admin = await clientFor(a).adminToken()
    const { tokens, user } = await clientFor(a).loggedInUser()
    const { token } = await clientFor(a).personalToken(tokens.access_token)
    assert.equal((await clientFor(b).as(token).get('/todos')).statusCode, 200, 'cached on B')
    const disabled = await clientFor(a).as(admin).patch(`/admin/users/${user.id}`, { disabled: true })
    assert.equal(disabled.statusCode, 200)
    const { status, ms } = await refusal(b, token, withinMs)
    assert.equal(status, 401, `still accepted after ${ms} ms`)
  })
}

await describeOnDatabases(
  'Personal access tokens across instances, without Redis',
  (ctx) => {
    let b: TestApp | undefined
    before(async () => {
      b = await startAnotherInstance(ctx(), { env: ADMIN })
    })
    after(async () => {
      if (b) await stopTestApp(b)
    })
    propagationCases(() => ({ a: ctx(), b: b! }), WITHOUT_REDIS_MS)
  },
  { env: ADMIN },
)

const sharedSkip = await sharedServicesSkip()

describe('Personal access tokens across instances, with Redis', { skip: sharedSkip }, () => {
  let database: TestDatabase | undefined
  let a: TestApp | undefined
  let b: TestApp | undefined

  before(async () => {
    database = await createTestDatabase('postgres')
    const env = { ...ADMIN, REDIS_URL, REDIS_KEY_PREFIX: `test:${randomUUID()}:` }
    a = await startTestApp(database, { env })
    b = await startAnotherInstance(a, { env })
    await untilSubscribed(a, b)
  })
  after(async () => {
    if (b) await stopTestApp(b)
    if (a) await stopTestApp(a)
    await database?.drop()
  })

  propagationCases(() => ({ a: a!, b: b! }), WITH_REDIS_MS)
})
