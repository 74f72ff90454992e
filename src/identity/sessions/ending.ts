import { isoAt, type Clock } from '../../platform/clock.ts'
import { type RequestOrigin } from '../../platform/http/request-context.ts'
import type { Db } from '../../platform/storage/database.ts'
import { recordAuditEvent } from '../audit/audit-log.ts'
import type { Revocation, Revocations } from '../revocations/revocations.ts'
import { revokeSessions } from './store.ts'

/** What ending sessions needs. */
export interface SessionEndingDeps {
  db: Db
  clock: Clock
  revocations: Revocations
}

export type EndReason =
  | 'logout'
  | 'logout_all'
  | 'session_deleted'
  | 'refresh_token_reuse'
  | 'password_changed'
  | 'password_reset'
  /** Too many wrong current passwords to `POST /me/password` through the session. */
  | 'password_guessing'
  | 'user_disabled'
  | 'user_deleted'
  | 'role_removed'
  /** `POST /auth/revoke` with one of the session's tokens (RFC 7009). */
  | 'token_revoked'

/**
 * Reasons that change what the user may do, not just which sessions live: they also record a `user`
 * revocation, so every instance (and every service following the feed) drops what it cached about
 * the user — personal access tokens included, which no session carries.
 */
const USER_WIDE_REASONS: ReadonlySet<EndReason> = new Set(['user_disabled', 'user_deleted', 'role_removed'])

/**
 * The one way sessions end — logout, logout everywhere, a deleted session, refresh-token theft,
 * password changes and resets, disabling and deleting users, taking a role away. The database
 * records it, then every instance stops accepting the sessions' access tokens; refresh tokens die
 * with their session. For the user-wide reasons the `user` record is written (and announced) even
 * when no session was live. `alongside` runs in the same transaction, before the records: a change
 * that must commit with them (deleting the user), so that an instance re-reading the user once it
 * hears the record cannot read it from before. Returns the ids of the sessions that were still live.
 */
export async function endSessions(
  ctx: SessionEndingDeps,
  userId: string,
  which: { only?: string[]; except?: string },
  reason: EndReason,
  origin: RequestOrigin,
  alongside?: (trx: Db) => Promise<void>,
): Promise<string[]> {
  const { db, clock, revocations } = ctx
  if (which.only?.length === 0) return []
  const userRecord: Revocation[] = USER_WIDE_REASONS.has(reason) ? [{ kind: 'user', value: userId }] : []
  const ended = await db.transaction().execute(async (trx) => {
    const ids = await revokeSessions(trx, userId, which, reason, isoAt(clock.now()))
    await alongside?.(trx)
    await revocations.persist(trx, [...sessionRevocations(ids), ...userRecord])
    return ids
  })
  await revocations.announce([...sessionRevocations(ended), ...userRecord])
  if (ended.length === 0) return ended
  await recordAuditEvent(db, clock, {
    type: reason === 'logout' ? 'logout' : 'sessions_ended',
    userId,
    origin,
    data: { reason, session_ids: ended },
  })
  return ended
}

const sessionRevocations = (sessionIds: string[]): Revocation[] =>
  sessionIds.map((value) => ({ kind: 'sid', value }))
