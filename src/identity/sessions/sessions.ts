import { randomUUID } from 'node:crypto'
import { recordAuditEvent } from '../audit/audit-log.ts'
import { isoAt, type Clock } from '../../platform/clock.ts'
import type { Config } from '../../platform/config/config.ts'
import type { RateLimits } from '../limits/limits.ts'
import { SealedSecretError, type SecretBox } from '../../platform/crypto/secrets.ts'
import { invalidRefreshToken } from '../../platform/http/errors.ts'
import type { Db } from '../../platform/storage/database.ts'
import { preparedQuery } from '../../platform/storage/prepared.ts'
import { hashRefreshToken, newRefreshToken } from '../../platform/crypto/opaque-tokens.ts'
import type { IssuedRefreshToken } from '../tokens/token-response.ts'
import type { Revocation, Revocations } from '../revocations/revocations.ts'
import { type RequestOrigin } from '../../platform/http/request-context.ts'

/** What starting, rotating and ending sessions needs. */
export interface SessionDeps {
  db: Db
  clock: Clock
  config: Config
  revocations: Revocations
  limits: RateLimits
  /** Seals a rotated refresh token's successor for the reuse grace window. */
  refreshSuccessorKey: SecretBox
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

// Logins and refreshes run these on every request: built once (see preparedQuery).
const insertSession = preparedQuery(
  (
    db,
    session: {
      id: string
      user_id: string
      created_at: string
      expires_at: string
      user_agent: string | null
      ip: string | null
      scope: string
    },
  ) =>
    db.insertInto('sessions').values({
      ...session,
      last_used_at: session.created_at,
      revoked_at: null,
      revoked_reason: null,
    }),
)
const insertRefreshTokenRow = preparedQuery(
  (
    db,
    token: { id: string; session_id: string; token_hash: string; created_at: string; expires_at: string },
  ) =>
    db
      .insertInto('refresh_tokens')
      .values({ ...token, rotated_at: null, replaced_by: null, successor_sealed: null }),
)
const selectRefreshToken = preparedQuery((db, { token_hash }: { token_hash: string }) =>
  db
    .selectFrom('refresh_tokens as t')
    .innerJoin('sessions as s', 's.id', 't.session_id')
    .leftJoin('refresh_tokens as n', 'n.id', 't.replaced_by')
    .select(['t.id', 't.session_id', 't.expires_at', 't.rotated_at', 't.successor_sealed'])
    .select(['s.user_id', 's.scope', 's.revoked_at', 's.expires_at as session_expires_at'])
    .select('n.expires_at as successor_expires_at')
    .where('t.token_hash', '=', token_hash),
)
/** How a token was rotated away, read after losing the race to rotate it. */
const selectRotation = preparedQuery((db, { id }: { id: string }) =>
  db
    .selectFrom('refresh_tokens as t')
    .leftJoin('refresh_tokens as n', 'n.id', 't.replaced_by')
    .select(['t.rotated_at', 't.successor_sealed', 'n.expires_at as successor_expires_at'])
    .where('t.id', '=', id),
)
/** The compare-and-swap: only a token not rotated yet is rotated, so one request wins. */
const markRotated = preparedQuery(
  (db, args: { id: string; rotated_at: string; replaced_by: string; successor_sealed: string | null }) =>
    db
      .updateTable('refresh_tokens')
      .set({
        rotated_at: args.rotated_at,
        replaced_by: args.replaced_by,
        successor_sealed: args.successor_sealed,
      })
      .where('id', '=', args.id)
      .where('rotated_at', 'is', null),
)
const touchSession = preparedQuery((db, { id, last_used_at }: { id: string; last_used_at: string }) =>
  db.updateTable('sessions').set({ last_used_at }).where('id', '=', id),
)

/**
 * Opens a session for a user who just proved their password, with its first refresh token.
 * Both rows are written in one transaction: there is never a session without a token.
 */
export async function startSession(
  ctx: SessionDeps,
  userId: string,
  scope: string,
  origin: RequestOrigin,
): Promise<IssuedRefreshToken> {
  const { db, clock, config } = ctx
  const now = clock.now()
  const sessionId = randomUUID()
  const sessionExpiresAt = now + config.sessionLifetimeSeconds * 1000
  const refreshToken = newRefreshToken()
  const tokenExpiresAt = Math.min(now + config.refreshTokenTtlSeconds * 1000, sessionExpiresAt)
  await db.transaction().execute(async (trx) => {
    await insertSession(trx, {
      id: sessionId,
      user_id: userId,
      created_at: isoAt(now),
      expires_at: isoAt(sessionExpiresAt),
      user_agent: origin.userAgent?.slice(0, 512) ?? null,
      ip: origin.ip?.slice(0, 64) ?? null,
      scope,
    })
    await insertRefreshToken(trx, sessionId, refreshToken, now, tokenExpiresAt)
  })
  return {
    userId,
    sessionId,
    scope,
    refreshToken,
    refreshExpiresInSeconds: secondsUntil(tokenExpiresAt, now),
  }
}

/** How a rotation is remembered for replays: its time, and its successor while it is kept. */
interface Rotation {
  rotated_at: string | null
  successor_sealed: string | null
  successor_expires_at: string | null
}

/**
 * Exchanges a refresh token for its successor (rotation). Exactly one request consumes a token:
 * the database decides with a compare-and-swap on `rotated_at`, in the transaction that inserts
 * the successor. Presenting a token that was already rotated:
 *  - within `REFRESH_REUSE_GRACE` of its rotation (a client's concurrent requests, or a retry after
 *    a lost response), gets the same successor the rotation issued — kept sealed for that window
 *    only — so a session stays one chain of tokens, never a fork;
 *  - later, is taken as theft: the whole session ends, every refresh and access token with it.
 */
export async function rotateRefreshToken(
  ctx: SessionDeps,
  presented: string,
  origin: RequestOrigin,
): Promise<IssuedRefreshToken> {
  const { db, clock } = ctx
  const now = clock.now()
  const [current] = (await selectRefreshToken(db, { token_hash: hashRefreshToken(presented) })).rows
  if (
    !current ||
    current.revoked_at !== null ||
    current.expires_at <= isoAt(now) ||
    current.session_expires_at <= isoAt(now)
  ) {
    throw invalidRefreshToken()
  }
  await ctx.limits.refresh(current.session_id)
  const issued = (token: string, expiresAt: number): IssuedRefreshToken => ({
    userId: current.user_id,
    sessionId: current.session_id,
    scope: current.scope,
    refreshToken: token,
    refreshExpiresInSeconds: secondsUntil(expiresAt, now),
  })

  if (current.rotated_at === null) {
    const successor = await rotate(ctx, current, now)
    if (successor) return issued(successor.token, successor.expiresAt)
  }
  // Rotated by another request, before ours or just now while we raced it: its transaction has
  // committed once our compare-and-swap failed, so its successor can be read.
  const [rotation] =
    current.rotated_at === null ? (await selectRotation(db, { id: current.id })).rows : [current]
  const replayed = rotation && replayedSuccessor(ctx, current.id, rotation, now)
  if (replayed) return issued(replayed.token, replayed.expiresAt)

  await endSessions(ctx, current.user_id, { only: [current.session_id] }, 'refresh_token_reuse', origin)
  await db
    .updateTable('refresh_tokens')
    .set({ successor_sealed: null })
    .where('session_id', '=', current.session_id)
    .where('successor_sealed', 'is not', null)
    .execute()
  await recordAuditEvent(db, clock, {
    type: 'refresh_reuse_detected',
    userId: current.user_id,
    origin,
    data: { session_id: current.session_id },
  })
  throw invalidRefreshToken()
}

/**
 * Rotates `current` unless another request did first (then nothing). The successor is random —
 * never derived from its parent, which would make every later token computable from an old one —
 * and kept sealed beside the parent for the grace window.
 */
async function rotate(
  ctx: SessionDeps,
  current: { id: string; session_id: string; session_expires_at: string },
  now: number,
): Promise<{ token: string; expiresAt: number } | undefined> {
  const { db, config } = ctx
  const token = newRefreshToken()
  const expiresAt = Math.min(
    now + config.refreshTokenTtlSeconds * 1000,
    Date.parse(current.session_expires_at),
  )
  const id = randomUUID()
  const rotated = await db.transaction().execute(async (trx) => {
    const swap = await markRotated(trx, {
      id: current.id,
      rotated_at: isoAt(now),
      replaced_by: id,
      successor_sealed:
        config.refreshReuseGraceSeconds > 0
          ? ctx.refreshSuccessorKey.seal(token, successorPurpose(current.id))
          : null,
    })
    if (swap.numAffectedRows !== 1n) return false
    await insertRefreshToken(trx, current.session_id, token, now, expiresAt, id)
    await touchSession(trx, { id: current.session_id, last_used_at: isoAt(now) })
    return true
  })
  return rotated ? { token, expiresAt } : undefined
}

/** The successor a replay within the grace window gets back; nothing once the window has passed. */
function replayedSuccessor(
  ctx: SessionDeps,
  parentId: string,
  rotation: Rotation,
  now: number,
): { token: string; expiresAt: number } | undefined {
  const { rotated_at, successor_sealed, successor_expires_at } = rotation
  if (rotated_at === null || successor_sealed === null || successor_expires_at === null) return undefined
  if (now - Date.parse(rotated_at) > ctx.config.refreshReuseGraceSeconds * 1000) return undefined
  try {
    const token = ctx.refreshSuccessorKey.open(successor_sealed, successorPurpose(parentId)).toString('utf8')
    return { token, expiresAt: Date.parse(successor_expires_at) }
  } catch (error) {
    if (error instanceof SealedSecretError) return undefined
    throw error
  }
}

/** A sealed successor opens only beside the token it replaced. */
const successorPurpose = (parentId: string) => `refresh_successor:${parentId}`

/**
 * Erases the sealed successors whose grace window has passed, so the database never holds a
 * usable refresh token longer than that (maintenance runs this; a replay after the window erases
 * its session's at once).
 */
export async function eraseReplayableSuccessors(
  ctx: Pick<SessionDeps, 'db' | 'clock' | 'config'>,
): Promise<number> {
  const { db, clock, config } = ctx
  const result = await db
    .updateTable('refresh_tokens')
    .set({ successor_sealed: null })
    .where('successor_sealed', 'is not', null)
    .where('rotated_at', '<', isoAt(clock.now() - config.refreshReuseGraceSeconds * 1000))
    .executeTakeFirst()
  return Number(result.numUpdatedRows)
}

/**
 * The one way sessions end — logout, logout everywhere, a deleted session, refresh-token theft,
 * and (later) password changes, resets, disabling and deleting users. The database records it,
 * then every instance stops accepting the sessions' access tokens; refresh tokens die with their
 * session. Returns the ids of the sessions that were still live.
 */
export async function endSessions(
  ctx: Pick<SessionDeps, 'db' | 'clock' | 'revocations'>,
  userId: string,
  which: { only?: string[]; except?: string },
  reason: EndReason,
  origin: RequestOrigin,
): Promise<string[]> {
  const { db, clock, revocations } = ctx
  if (which.only?.length === 0) return []
  const ended = await db.transaction().execute(async (trx) => {
    let query = trx
      .updateTable('sessions')
      .set({ revoked_at: isoAt(clock.now()), revoked_reason: reason })
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null)
    if (which.only) query = query.where('id', 'in', which.only)
    if (which.except !== undefined) query = query.where('id', '!=', which.except)
    const ids = (await query.returning('id').execute()).map((row) => row.id)
    await revocations.persist(trx, sessionRevocations(ids))
    return ids
  })
  if (ended.length === 0) return ended
  await revocations.announce(sessionRevocations(ended))
  await recordAuditEvent(db, clock, {
    type: reason === 'logout' ? 'logout' : 'sessions_ended',
    userId,
    origin,
    data: { reason, session_ids: ended },
  })
  return ended
}

export interface ActiveSession {
  id: string
  created_at: string
  last_used_at: string
  /** When the session ends unless it is refreshed before. */
  expires_at: string
  user_agent: string | null
  ip: string | null
}

/** Sessions that can still be refreshed, most recently used first. */
export async function listActiveSessions(
  ctx: Pick<SessionDeps, 'db' | 'clock'>,
  userId: string,
): Promise<ActiveSession[]> {
  const now = isoAt(ctx.clock.now())
  return ctx.db
    .selectFrom('sessions as s')
    .innerJoin('refresh_tokens as t', 't.session_id', 's.id')
    .select(['s.id', 's.created_at', 's.last_used_at', 's.user_agent', 's.ip'])
    .select((eb) => eb.fn.max('t.expires_at').as('expires_at'))
    .where('s.user_id', '=', userId)
    .where('s.revoked_at', 'is', null)
    .where('s.expires_at', '>', now)
    .where('t.rotated_at', 'is', null)
    .where('t.expires_at', '>', now)
    .groupBy(['s.id', 's.created_at', 's.last_used_at', 's.user_agent', 's.ip'])
    .orderBy('s.last_used_at', 'desc')
    .orderBy('s.id')
    .execute()
}

async function insertRefreshToken(
  db: Db,
  sessionId: string,
  token: string,
  now: number,
  expiresAt: number,
  id: string = randomUUID(),
): Promise<void> {
  await insertRefreshTokenRow(db, {
    id,
    session_id: sessionId,
    token_hash: hashRefreshToken(token),
    created_at: isoAt(now),
    expires_at: isoAt(expiresAt),
  })
}

function secondsUntil(at: number, now: number): number {
  return Math.max(0, Math.floor((at - now) / 1000))
}

const sessionRevocations = (sessionIds: string[]): Revocation[] =>
  sessionIds.map((value) => ({ kind: 'sid', value }))
