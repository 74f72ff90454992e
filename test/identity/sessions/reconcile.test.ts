import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { sql } from 'kysely'
import pino from 'pino'
import { updateUserAsAdmin } from '../../../src/features/admin/service.ts'
import { systemClock } from '../../../src/platform/clock.ts'
import { loadConfig } from '../../../src/platform/config/config.ts'
import { RedisRevocationChannel } from '../../../src/identity/revocations/redis-channel.ts'
import {
  RECONCILE_INTERVAL_MS,
  Revocations,
  type Revocation,
} from '../../../src/identity/revocations/revocations.ts'
import { openDatabase } from '../../../src/platform/storage/database.ts'
import { migrateToLatest } from '../../../src/migrations.ts'
import { createTestDatabase, databaseKinds, REDIS_URL, sharedServicesSkip } from '../../support/databases.ts'
import { startTcpProxy } from '../../support/tcp-proxy.ts'
import {
  describeOnDatabases,
  startAnotherInstance,
  startTestApp,
  stopTestApp,
  type TestApp,
} from '../../support/harness.ts'
import { clientFor } from '../../support/client.ts'

const sid = (value: string): Revocation => ({ kind: 'sid', value })

/** Asks `/me` until the token is refused, for at most two reconcile intervals and a second. */
async function statusOnceReconciled(t: TestApp, authorization: string): Promise<number> {
  const deadline = Date.now() + 2 * RECONCILE_INTERVAL_MS + 1000
  let status = 200
  while (status === 200 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100))
    status = (await clientFor(t).request({ method: 'GET', url: '/me', headers: { authorization } }))
      .statusCode
  }
  return status
}

await describeOnDatabases('Revocations made by another process', (ctx) => {
  const api = clientFor(ctx)

  it('a user disabled by another process is refused here within one reconcile interval, without Redis', async () => {
    const { authorization, tokens, user } = await api.loggedInUser()
    assert.equal((await api.me(tokens.access_token)).statusCode, 200)
    const cli = await startAnotherInstance(ctx())
    try {
      await updateUserAsAdmin(
        cli.context,
        'cli',
        user.id,
        { disabled: true },
        {
          ip: null,
          userAgent: 'gatehouse-cli',
          requestId: undefined,
        },
      )
    } finally {
      await stopTestApp(cli)
    }
    assert.equal(
      await statusOnceReconciled(ctx(), authorization),
      401,
      'refused once the timer has read the record',
    )
  })

  it('reads every record after the last one seen, in batches, and none twice', async () => {
    const writer = await startAnotherInstance(ctx())
    try {
      const ids = Array.from({ length: 2500 }, () => randomUUID())
      await writer.context.db
        .transaction()
        .execute((trx) => writer.context.revocations.persist(trx, ids.map(sid)))
      await ctx().context.revocations.reconcile()
      for (const id of [ids[0]!, ids[1234]!, ids.at(-1)!]) {
        assert.equal(await ctx().context.revocations.isRevoked('sid', id), true, id)
      }
      assert.equal(await ctx().context.revocations.isRevoked('sid', randomUUID()), false)
    } finally {
      await stopTestApp(writer)
    }
  })
})

const postgres = (await databaseKinds()).find((entry) => entry.kind === 'postgres')!

describe('Revocation records on PostgreSQL, committed out of order', { skip: postgres.skip }, () => {
  let reader: TestApp
  let writer: TestApp
  let drop: () => Promise<void> = () => Promise.resolve()

  before(async () => {
    const database = await createTestDatabase('postgres')
    drop = () => database.drop()
    reader = await startTestApp(database)
    writer = await startAnotherInstance(reader)
  })
  after(async () => {
    await stopTestApp(writer)
    await stopTestApp(reader)
    await drop()
  })

  it('a revocation that commits after a later-started one is never skipped by the watermark', async () => {
    const { db, revocations } = writer.context
    const early = randomUUID()
    const late = randomUUID()
    // The first transaction records `early` and stays open, as a slow request's would.
    const slow = await db.startTransaction().execute()
    await revocations.persist(slow, [sid(early)])
    // A second one records `late` and commits meanwhile (without the ordering lock it would take a
    // higher number and commit first; a read then would move the watermark past `early` for good).
    const quick = db.transaction().execute((trx) => revocations.persist(trx, [sid(late)]))
    await new Promise((resolve) => setTimeout(resolve, 300))
    await reader.context.revocations.reconcile()
    await slow.commit().execute()
    await quick
    await reader.context.revocations.reconcile()
    assert.equal(await reader.context.revocations.isRevoked('sid', early), true, 'the late commit is read')
    assert.equal(await reader.context.revocations.isRevoked('sid', late), true)
  })
})

const sharedSkip = await sharedServicesSkip()

describe('A revocation whose publish failed', { skip: sharedSkip }, () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>
  let listening: TestApp

  before(async () => {
    database = await createTestDatabase('postgres')
    listening = await startTestApp(database, {
      env: { REDIS_URL, REDIS_KEY_PREFIX: `test:${randomUUID()}:` },
    })
  })
  after(async () => {
    await stopTestApp(listening)
    await database.drop()
  })

  it('reaches an instance whose channel is healthy, from the database, within one reconcile interval', async () => {
    const { authorization, tokens } = await clientFor(listening).loggedInUser()
    // The revoking process cannot reach Redis: its publish fails.
    const cut = await startAnotherInstance(listening, { env: { REDIS_URL: 'redis://127.0.0.1:1' } })
    try {
      const logout = await clientFor(cut).logout(tokens.access_token)
      assert.equal(logout.statusCode, 204)
    } finally {
      await stopTestApp(cut)
    }
    assert.equal(listening.context.revocationChannel?.healthy, true, 'the listener trusts its channel')
    assert.equal(await statusOnceReconciled(listening, authorization), 401)
  })

  it('is published again once Redis answers, so instances that trust their channel hear it', async () => {
    const prefix = `test:${randomUUID()}:`
    const proxy = await startTcpProxy(Number(new URL(REDIS_URL).port || 6379), new URL(REDIS_URL).hostname)
    const proxied = new URL(REDIS_URL)
    proxied.hostname = '127.0.0.1'
    proxied.port = String(proxy.port)
    const publisher = new RedisRevocationChannel(proxied.toString(), prefix, listening.context.logger)
    const subscriber = new RedisRevocationChannel(REDIS_URL, prefix, listening.context.logger)
    const heard: Revocation[] = []
    const subscribed = new Promise<void>((resolve) =>
      subscriber.subscribe({ onMessage: (revocations) => heard.push(...revocations), onRecovered: resolve }),
    )
    try {
      await subscribed
      await proxy.close()
      const revoked = [sid(randomUUID()), { kind: 'kid', value: 'a-revoked-kid' } as const]
      await assert.rejects(publisher.publish(revoked), 'Redis is unreachable: the publish fails')
      await proxy.reopen()
      const deadline = Date.now() + 5000
      while (heard.length < revoked.length && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
      assert.deepEqual(heard, revoked, 'retried, both kinds intact')
    } finally {
      await publisher.close()
      await subscriber.close()
      await proxy.close()
    }
  })
})

for (const { kind, skip } of await databaseKinds()) {
  describe(`Migration 0008_revocation_records [${kind}]`, { skip }, () => {
    it('carries every revoked session over as a record, so an upgrade forgets no logout', async () => {
      const database = await createTestDatabase(kind)
      const db = openDatabase(loadConfig({ DATABASE_URL: database.url }).database)
      try {
        await migrateToLatest(db, '0007_login_places')
        const revokedSession = randomUUID()
        const keepUntil = new Date(Date.now() + 3600_000).toISOString()
        await sql`insert into revoked_sessions (session_id, revoked_at, keep_until)
          values (${revokedSession}, ${new Date().toISOString()}, ${keepUntil})`.execute(db)
        await migrateToLatest(db)
        const records = await db.selectFrom('revocations').select(['kind', 'value', 'keep_until']).execute()
        assert.deepEqual(records, [{ kind: 'sid', value: revokedSession, keep_until: keepUntil }])
        const revocations = new Revocations(db, systemClock, 900, undefined, pino({ level: 'silent' }))
        await revocations.start()
        assert.equal(await revocations.isRevoked('sid', revokedSession), true)
        await revocations.close()
      } finally {
        await db.destroy()
        await database.drop()
      }
    })
  })
}
