import type { Logger } from 'pino'
import { isoAt, type Clock } from '../clock.ts'
import type { Db } from '../storage/database.ts'

/** Slack beyond an access token's lifetime, covering the verifier's clock tolerance. */
const TOLERANCE_MS = 60_000

/** Carries revocations between instances. `healthy` is false while messages may be missed. */
export interface RevocationChannel {
  readonly healthy: boolean
  publish(sessionIds: string[]): Promise<void>
  /**
   * `onMessage` for every revocation another instance publishes; `onRecovered` once each
   * subscription is confirmed, the first included: revocations published before it were missed.
   */
  subscribe(handlers: { onMessage: (sessionIds: string[]) => void; onRecovered: () => void }): void
  close(): Promise<void>
}

/**
 * Which sessions are revoked, answered from memory on every request. A revoked session id is kept
 * until every access token that can carry it has expired (one access-token lifetime after the
 * revocation), so memory stays bounded by the revocation rate, not by the number of sessions.
 *
 * The `revoked_sessions` table is the record: revocations survive restarts and are re-read at start
 * and after a channel outage. While the channel is unhealthy a message may have been missed, so
 * the answer comes from the database instead — slower, never wrong.
 */
export class Revocations {
  private readonly revoked = new Map<string, number>()
  /** Subscriptions confirmed so far, and how many of them a completed re-read covers. */
  private recoveries = 0
  private caughtUp = 0

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly accessTokenTtlSeconds: number,
    private readonly channel: RevocationChannel | undefined,
    private readonly logger: Logger,
  ) {}

  /** Loads recent revocations and starts listening to other instances. */
  async start(): Promise<void> {
    await this.reload()
    this.channel?.subscribe({
      onMessage: (sessionIds) => {
        this.remember(sessionIds, this.keepUntil())
      },
      onRecovered: () => {
        // Until the re-read completes, memory may lack what the channel missed: ask the database.
        const recovery = ++this.recoveries
        this.reload().then(
          () => {
            this.caughtUp = Math.max(this.caughtUp, recovery)
          },
          (error: unknown) => {
            this.logger.error({ err: error }, 'could not re-read revocations after the channel recovered')
          },
        )
      },
    })
  }

  async isRevoked(sessionId: string): Promise<boolean> {
    if (this.revoked.has(sessionId)) return true
    // Memory is complete without a channel, or while it is up and re-read since it last came up.
    const complete = !this.channel || (this.channel.healthy && this.caughtUp === this.recoveries)
    if (complete) return false
    const row = await this.db
      .selectFrom('revoked_sessions')
      .select('session_id')
      .where('session_id', '=', sessionId)
      .executeTakeFirst()
    return row !== undefined
  }

  /** Records revocations, in the caller's transaction. Call `announce` once it has committed. */
  async persist(db: Db, sessionIds: string[]): Promise<void> {
    if (sessionIds.length === 0) return
    const revokedAt = isoAt(this.clock.now())
    const keepUntil = isoAt(this.keepUntil())
    await db
      .insertInto('revoked_sessions')
      .values(sessionIds.map((id) => ({ session_id: id, revoked_at: revokedAt, keep_until: keepUntil })))
      .onConflict((oc) => oc.column('session_id').doNothing())
      .execute()
  }

  /** Makes persisted revocations effective here at once, and on every other instance. */
  async announce(sessionIds: string[]): Promise<void> {
    if (sessionIds.length === 0) return
    this.remember(sessionIds, this.keepUntil())
    if (!this.channel) return
    try {
      await this.channel.publish(sessionIds)
    } catch (error) {
      // The database has it; instances that miss the message re-read it when their channel recovers.
      this.logger.warn({ err: error }, 'could not publish a revocation')
    }
  }

  /** Deletes records no token can need any more; returns how many. */
  async pruneRecords(): Promise<number> {
    const result = await this.db
      .deleteFrom('revoked_sessions')
      .where('keep_until', '<', isoAt(this.clock.now()))
      .executeTakeFirst()
    return Number(result.numDeletedRows)
  }

  async close(): Promise<void> {
    await this.channel?.close()
  }

  private keepUntil(): number {
    return this.clock.now() + this.accessTokenTtlSeconds * 1000 + TOLERANCE_MS
  }

  private remember(sessionIds: string[], until: number): void {
    this.prune()
    for (const id of sessionIds) {
      // Re-inserted at the end, so the map stays ordered by expiry for prune().
      this.revoked.delete(id)
      this.revoked.set(id, Math.max(until, this.revoked.get(id) ?? 0))
    }
  }

  /** Drops ids whose tokens have all expired. Entries are in expiry order, oldest first. */
  private prune(): void {
    const now = this.clock.now()
    for (const [id, until] of this.revoked) {
      if (until > now) break
      this.revoked.delete(id)
    }
  }

  private async reload(): Promise<void> {
    const rows = await this.db
      .selectFrom('revoked_sessions')
      .select(['session_id', 'keep_until'])
      .where('keep_until', '>', isoAt(this.clock.now()))
      .orderBy('keep_until')
      .execute()
    for (const row of rows) this.remember([row.session_id], Date.parse(row.keep_until))
  }
}
