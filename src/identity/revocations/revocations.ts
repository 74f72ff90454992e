import { PostgresAdapter, sql } from 'kysely'
import type { Logger } from 'pino'
import { isoAt, type Clock } from '../../platform/clock.ts'
import type { Db } from '../../platform/storage/database.ts'
import { REVOCATION_KINDS, type RevocationKind } from '../../platform/storage/schema.ts'

export { REVOCATION_KINDS, type RevocationKind }

/**
 * One revoked thing: a session's tokens (`sid`), everything a signing key signed (`kid`), one
 * machine token (`jti`), one personal access token (`pat`), or — as of `at` — a client's tokens
 * (`client`) or what is known about a user (`user`).
 */
export interface Revocation {
  kind: RevocationKind
  value: string
  /** When it was revoked (ms); the moment it is recorded when absent. */
  at?: number
}

/**
 * Kinds that cover what was issued up to a moment, so a later revocation of the same value moves
 * that moment: a client disabled, enabled and disabled again. Their record is replaced, not kept.
 */
const AS_OF_KINDS: ReadonlySet<RevocationKind> = new Set(['client', 'user'])

interface Remembered {
  /** When every token the record covers has expired (ms). */
  until: number
  /** When it was revoked (ms). */
  at: number
}

/** Slack beyond an access token's lifetime, covering the verifier's clock tolerance. */
const TOLERANCE_MS = 60_000
/** How often the records are read again: what another process revoked is effective here by then. */
export const RECONCILE_INTERVAL_MS = 2000
/** Records read per query while catching up. */
const RECONCILE_BATCH = 1000
/**
 * Held by every transaction that writes revocation records, from its insert to its commit: records
 * are then numbered in commit order on PostgreSQL too (SQLite has one writer), so a reader that has
 * seen record n has seen every record before it, and a late commit is never skipped.
 */
const RECORD_ORDER_LOCK = 0x6761_7465

/** Carries revocations between instances. `healthy` is false while messages may be missed. */
export interface RevocationChannel {
  readonly healthy: boolean
  publish(revocations: Revocation[]): Promise<void>
  /**
   * `onMessage` for every revocation another instance publishes; `onRecovered` once each
   * subscription is confirmed, the first included: revocations published before it were missed.
   */
  subscribe(handlers: { onMessage: (revocations: Revocation[]) => void; onRecovered: () => void }): void
  close(): Promise<void>
}

/**
 * What is revoked, answered from memory on every request. A record is kept until every access
 * token it can cover has expired (one access-token lifetime after the revocation), so memory stays
 * bounded by the revocation rate, not by the number of sessions.
 *
 * The `revocations` table is the record, numbered in commit order. Every instance reads the records
 * after the last one it has seen every `RECONCILE_INTERVAL_MS` — with or without Redis — so what
 * another process revoked (the CLI, an instance whose publish failed) is effective here within
 * seconds. The channel makes it effective at once; while the channel is unhealthy a message may have
 * been missed, so a session's answer comes from the database instead — slower, never wrong.
 */
export class Revocations {
  private readonly revoked = new Map<string, Remembered>()
  private readonly listeners: ((revocation: Revocation) => void)[] = []
  /** The highest record number read; every record up to it is in memory. */
  private watermark = 0
  private reconciling: Promise<void> | undefined
  private reconcileTimer: NodeJS.Timeout | undefined
  private reconcileFailing = false
  /** Subscriptions confirmed so far, and how many of them a completed read covers. */
  private recoveries = 0
  private caughtUp = 0

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly accessTokenTtlSeconds: number,
    private readonly channel: RevocationChannel | undefined,
    private readonly logger: Logger,
  ) {}

  /** Calls `listener` for each revocation that becomes known here, from any source. */
  onRevoked(listener: (revocation: Revocation) => void): void {
    this.listeners.push(listener)
  }

  /** Loads the live records, then follows new ones: from the table, and from other instances. */
  async start(): Promise<void> {
    await this.reconcile()
    this.reconcileTimer = setInterval(
      () => void this.reconcile().catch(() => undefined),
      RECONCILE_INTERVAL_MS,
    )
    this.reconcileTimer.unref()
    this.channel?.subscribe({
      onMessage: (revocations) => {
        this.remember(revocations, this.keepUntil(), this.clock.now())
      },
      onRecovered: () => {
        // Until the read completes, memory may lack what the channel missed: ask the database.
        const recovery = ++this.recoveries
        this.reconcile().then(
          () => {
            this.caughtUp = Math.max(this.caughtUp, recovery)
          },
          () => undefined,
        )
      },
    })
  }

  async isRevoked(kind: RevocationKind, value: string): Promise<boolean> {
    return (await this.revokedAt(kind, value)) !== undefined
  }

  /** When `value` was revoked (ms), if it was: `client` and `user` records cover what came before. */
  async revokedAt(kind: RevocationKind, value: string): Promise<number | undefined> {
    const known = this.revoked.get(keyOf(kind, value))
    if (known) return known.at
    // Memory lags by one reconcile interval without a channel; with one, it is complete while the
    // channel is up and read since it last came up.
    const complete = !this.channel || (this.channel.healthy && this.caughtUp === this.recoveries)
    if (complete) return undefined
    const row = await this.db
      .selectFrom('revocations')
      .select('revoked_at')
      .where('kind', '=', kind)
      .where('value', '=', value)
      .executeTakeFirst()
    return row && Date.parse(row.revoked_at)
  }

  /**
   * Records revocations, in the caller's transaction, as its last statement: the lock it takes is
   * held until the commit. Call `announce` once it has committed.
   */
  async persist(db: Db, revocations: Revocation[]): Promise<void> {
    if (revocations.length === 0) return
    if (db.getExecutor().adapter instanceof PostgresAdapter) {
      await sql`select pg_advisory_xact_lock(${RECORD_ORDER_LOCK})`.execute(db)
    }
    const now = this.clock.now()
    const keepUntil = isoAt(this.keepUntil())
    for (const { kind, value } of revocations.filter(({ kind }) => AS_OF_KINDS.has(kind))) {
      await db.deleteFrom('revocations').where('kind', '=', kind).where('value', '=', value).execute()
    }
    await db
      .insertInto('revocations')
      .values(
        revocations.map(({ kind, value, at }) => ({
          kind,
          value,
          revoked_at: isoAt(at ?? now),
          keep_until: keepUntil,
        })),
      )
      .onConflict((oc) => oc.columns(['kind', 'value']).doNothing())
      .execute()
  }

  /** Makes persisted revocations effective here at once, and on every other instance. */
  async announce(revocations: Revocation[]): Promise<void> {
    if (revocations.length === 0) return
    this.remember(revocations, this.keepUntil(), this.clock.now())
    if (!this.channel) return
    try {
      await this.channel.publish(revocations)
    } catch (error) {
      // The channel retries; other instances read the record within a reconcile interval anyway.
      this.logger.warn({ err: error }, 'could not publish a revocation')
    }
  }

  /**
   * Reads the records committed since the last read (the timer calls this every
   * `RECONCILE_INTERVAL_MS`). Concurrent calls share one read.
   */
  reconcile(): Promise<void> {
    this.reconciling ??= this.readNewRecords().finally(() => {
      this.reconciling = undefined
    })
    return this.reconciling
  }

  /** Deletes records no token can need any more; returns how many. */
  async pruneRecords(): Promise<number> {
    const result = await this.db
      .deleteFrom('revocations')
      .where('keep_until', '<', isoAt(this.clock.now()))
      .executeTakeFirst()
    return Number(result.numDeletedRows)
  }

  async close(): Promise<void> {
    clearInterval(this.reconcileTimer)
    await this.channel?.close()
  }

  private keepUntil(): number {
    return this.clock.now() + this.accessTokenTtlSeconds * 1000 + TOLERANCE_MS
  }

  private async readNewRecords(): Promise<void> {
    try {
      const now = isoAt(this.clock.now())
      for (;;) {
        const rows = await this.db
          .selectFrom('revocations')
          .select(['seq', 'kind', 'value', 'revoked_at', 'keep_until'])
          .where('seq', '>', this.watermark)
          .orderBy('seq')
          .limit(RECONCILE_BATCH)
          .execute()
        for (const row of rows) {
          if (row.keep_until > now) {
            const at = Date.parse(row.revoked_at)
            this.remember([{ kind: row.kind, value: row.value, at }], Date.parse(row.keep_until), at)
          }
          this.watermark = Number(row.seq)
        }
        if (rows.length < RECONCILE_BATCH) break
      }
      if (this.reconcileFailing) this.logger.info('revocation records readable again')
      this.reconcileFailing = false
    } catch (error) {
      // Logged once per outage, not every interval.
      if (!this.reconcileFailing) this.logger.error({ err: error }, 'could not read revocation records')
      this.reconcileFailing = true
      throw error
    }
  }

  private remember(revocations: Revocation[], until: number, now: number): void {
    this.prune()
    for (const revocation of revocations) {
      const key = keyOf(revocation.kind, revocation.value)
      const known = this.revoked.get(key)
      const at = revocation.at ?? now
      // Re-inserted at the end, so the map stays ordered by expiry for prune().
      this.revoked.delete(key)
      this.revoked.set(key, { until: Math.max(until, known?.until ?? 0), at: Math.max(at, known?.at ?? 0) })
      if (known === undefined || at > known.at) for (const listener of this.listeners) listener(revocation)
    }
  }

  /** Drops records whose tokens have all expired. Entries are in expiry order, oldest first. */
  private prune(): void {
    const now = this.clock.now()
    for (const [key, { until }] of this.revoked) {
      if (until > now) break
      this.revoked.delete(key)
    }
  }
}

const keyOf = (kind: RevocationKind, value: string) => `${kind} ${value}`
