import type { Context } from '../../context.ts'
import { pruneAuditEvents } from '../../identity/audit/audit-log.ts'
import { pruneLoginPlaces } from '../../identity/limits/login-places.ts'
import { pruneOneTimeTokens } from '../../identity/one-time-tokens.ts'
import { pruneExpiredPersonalTokens } from '../../identity/personal-access-tokens/store.ts'
import { eraseReplayableSuccessors } from '../../identity/sessions/rotation.ts'
import { deleteEndedSessions } from '../../identity/sessions/store.ts'
import { isoAt } from '../../platform/clock.ts'
import { pruneMailOutbox } from '../../platform/mail/outbox.ts'

export const MAINTENANCE_INTERVAL_MS = 60 * 60 * 1000

/**
 * Deletes what nothing can need any more: audit events past `AUDIT_RETENTION`, revocation records
 * whose tokens have all expired, sessions past their absolute end (with their refresh tokens),
 * expired reset and verification tokens (a day after they were issued: the daily budget of reset
 * mails counts them), mails sent or given up more than a week ago, the places accounts have
 * not logged in from for 30 days, and expired personal access tokens. It also erases rotated refresh tokens' successors kept sealed
 * for replays once the grace window is over.
 */
export async function runMaintenance(
  ctx: Pick<Context, 'db' | 'clock' | 'config' | 'revocations'>,
): Promise<Record<string, number>> {
  const { db, clock, config, revocations } = ctx
  const auditEvents = await pruneAuditEvents(db, clock, config.auditRetentionSeconds)
  const revocationRecords = await revocations.pruneRecords()
  const sessions = await deleteEndedSessions(db, isoAt(clock.now()))
  const oneTimeTokens = await pruneOneTimeTokens(db, clock)
  const mails = await pruneMailOutbox(db, clock)
  const loginPlaces = await pruneLoginPlaces(db, clock)
  const replayableSuccessors = await eraseReplayableSuccessors(ctx)
  const personalTokens = await pruneExpiredPersonalTokens(db, isoAt(clock.now()))
  return {
    auditEvents,
    revocationRecords,
    sessions,
    oneTimeTokens,
    mails,
    loginPlaces,
    replayableSuccessors,
    personalTokens,
  }
}

/** Runs maintenance now and then hourly; every instance may run it, the deletes are idempotent. */
export function startMaintenance(
  ctx: Pick<Context, 'db' | 'clock' | 'config' | 'revocations' | 'logger'>,
): () => void {
  const run = () => {
    runMaintenance(ctx).then(
      (deleted) => ctx.logger.info({ deleted }, 'maintenance done'),
      (error: unknown) => ctx.logger.warn({ err: error }, 'maintenance failed'),
    )
  }
  run()
  const timer = setInterval(run, MAINTENANCE_INTERVAL_MS)
  timer.unref()
  return () => clearInterval(timer)
}
