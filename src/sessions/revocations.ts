import type { Logger } from 'pino'
import { isoAt, type Clock } from '../clock.ts'
import type { Db } from '../storage/database.ts'

/** Slack beyond an access token's lifetime, matching the verifier's clock tolerance. */
const TOLERANCE_MS = 60_000

/** Carries revocations between instances. `healthy` is false while messages may be missed. */
export interface RevocationChannel {
  readonly healthy: boolean
  publish(sessionIds: string[]): Promise<void>
  /** `onMessage` for every revocation another instance publishes; `onRecovered` after an outage. */
  subscribe(handlers: { onMessage: (sessionIds: string[]) => void; onRecovered: () => void }): void
  close(): Promise<void>
}

/**
 * Which sessions are revoked, answered from memory on every request. A revoked session id is kept
 * until every access token that can carry it has expired (one access-token lifetime after the
 * revocation), so memory stays bounded by the revocation rate, not by the number of sessions.
 *
 * The database is the record: revocations survive restarts and are re-read at start and after a
 * channel outage. While the channel is unhealthy a message may have been missed, so the answer
 * comes from the database instead — slower, never wrong.
 */
export class Revocations {
  private readonly revoked = new Map<string, number>()

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
        this.remember(sessionIds)
      },
      onRecovered: () => {
        this.reload().catch((error: unknown) => {
          this.logger.error({ err: error }, 'could not re-read revocations after the channel recovered')
        })
      },
    })
  }

  async isRevoked(sessionId: string): Promise<boolean> {
    if (this.revoked.has(sessionId)) return true
    if (this.channel === undefined || this.channel.healthy) return false
    const row = await this.db
      .selectFrom('sessions')
      .select('revoked_at')
      .where('id', '=', sessionId)
      .executeTakeFirst()
    return row?.revoked_at != null
  }

  /** Makes revocations the database has just recorded effective here and on every other instance. */
  async announce(sessionIds: string[]): Promise<void> {
    if (sessionIds.length === 0) return
    this.remember(sessionIds)
    if (!this.channel) return
    try {
      await this.channel.publish(sessionIds)
    } catch (error) {
      // The database has it; instances that miss the message re-read it when their channel recovers.
      this.logger.warn({ err: error }, 'could not publish a revocation')
    }
  }

  async close(): Promise<void> {
    await this.channel?.close()
  }

  private forgetAt(): number {
    return this.clock.now() + this.accessTokenTtlSeconds * 1000 + TOLERANCE_MS
  }

  private remember(sessionIds: string[]): void {
    this.prune()
    const until = this.forgetAt()
    for (const id of sessionIds) {
      // Re-inserted at the end, so the map stays ordered by expiry for prune().
      this.revoked.delete(id)
      this.revoked.set(id, until)
    }
  }

  /** Drops ids whose tokens have all expired. Entries are in insertion order, so oldest first. */
  private prune(): void {
    const now = this.clock.now()
    for (const [id, until] of this.revoked) {
      if (until > now) break
      this.revoked.delete(id)
    }
  }

  private async reload(): Promise<void> {
    const since = isoAt(this.clock.now() - this.accessTokenTtlSeconds * 1000 - TOLERANCE_MS)
    const rows = await this.db
      .selectFrom('sessions')
      .select(['id', 'revoked_at'])
      .where('revoked_at', '>', since)
      .execute()
    this.remember(rows.map((row) => row.id))
  }
}
