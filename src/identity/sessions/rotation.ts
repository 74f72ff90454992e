import { randomUUID } from 'node:crypto'
import { isoAt } from '../../platform/clock.ts'
import type { Config } from '../../platform/config/config.ts'
import { hashOpaqueToken, newOpaqueToken } from '../../platform/crypto/opaque-tokens.ts'
import { SealedSecretError, type SecretBox } from '../../platform/crypto/secrets.ts'
import { invalidRefreshToken } from '../../platform/http/errors.ts'
import { type RequestOrigin } from '../../platform/http/request-context.ts'
import type { Db } from '../../platform/storage/database.ts'
import { recordAuditEvent } from '../audit/audit-log.ts'
import type { RateLimits } from '../limits/limits.ts'
import type { IssuedRefreshToken } from '../tokens/token-response.ts'
import { endSessions, type SessionEndingDeps } from './ending.ts'
import {
  eraseSessionSuccessors,
  eraseSuccessorsRotatedBefore,
  findRefreshToken,
  findRotation,
  insertRefreshToken,
  insertSession,
  markRotated,
  touchSession,
  type PresentedRefreshToken,
  type Rotation,
  type SessionAuthentication,
} from './store.ts'

/** What starting, rotating and ending sessions needs. */
export interface SessionDeps extends SessionEndingDeps {
  config: Config
  limits: RateLimits
  /** Seals a rotated refresh token's successor for the reuse grace window. */
  refreshSuccessorKey: SecretBox
}

/**
 * Opens a session for a user who just proved their password, with its first refresh token.
 * Both rows are written in one transaction: there is never a session without a token.
 */
export async function startSession(
  ctx: SessionDeps,
  userId: string,
  scope: string,
  authentication: SessionAuthentication,
  origin: RequestOrigin,
): Promise<IssuedRefreshToken> {
  const { db, clock, config } = ctx
  const now = clock.now()
  const sessionId = randomUUID()
  const sessionExpiresAt = now + config.sessionLifetimeSeconds * 1000
  const refreshToken = newOpaqueToken()
  const tokenExpiresAt = Math.min(now + config.refreshTokenTtlSeconds * 1000, sessionExpiresAt)
  await db.transaction().execute(async (trx) => {
    await insertSession(trx, {
      id: sessionId,
      userId,
      createdAt: isoAt(now),
      expiresAt: isoAt(sessionExpiresAt),
      userAgent: origin.userAgent?.slice(0, 512) ?? null,
      ip: origin.ip?.slice(0, 64) ?? null,
      scope,
      authentication,
    })
    await storeRefreshToken(trx, sessionId, refreshToken, now, tokenExpiresAt)
  })
  return {
    userId,
    sessionId,
    scope,
    refreshToken,
    refreshExpiresInSeconds: secondsUntil(tokenExpiresAt, now),
    authTime: Math.floor(now / 1000),
    ...authentication,
  }
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
  const current = await findRefreshToken(db, hashOpaqueToken(presented))
  if (
    !current ||
    current.sessionRevokedAt !== null ||
    current.expiresAt <= isoAt(now) ||
    current.sessionExpiresAt <= isoAt(now)
  ) {
    throw invalidRefreshToken()
  }
  await ctx.limits.refresh(current.sessionId)
  const issued = (token: string, expiresAt: number): IssuedRefreshToken => ({
    userId: current.userId,
    sessionId: current.sessionId,
    scope: current.scope,
    refreshToken: token,
    refreshExpiresInSeconds: secondsUntil(expiresAt, now),
    // A refresh keeps the login's: the user proved nothing new.
    authTime: Math.floor(Date.parse(current.sessionCreatedAt) / 1000),
    ...current.authentication,
  })

  if (current.rotatedAt === null) {
    const successor = await rotate(ctx, current, now)
    if (successor) return issued(successor.token, successor.expiresAt)
  }
  // Rotated by another request, before ours or just now while we raced it: its transaction has
  // committed once our compare-and-swap failed, so its successor can be read.
  const rotation = current.rotatedAt === null ? await findRotation(db, current.id) : current
  const replayed = rotation && replayedSuccessor(ctx, current.id, rotation, now)
  if (replayed) return issued(replayed.token, replayed.expiresAt)

  await endSessions(ctx, current.userId, { only: [current.sessionId] }, 'refresh_token_reuse', origin)
  await eraseSessionSuccessors(db, current.sessionId)
  await recordAuditEvent(db, clock, {
    type: 'refresh_reuse_detected',
    userId: current.userId,
    origin,
    data: { session_id: current.sessionId },
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
  current: Pick<PresentedRefreshToken, 'id' | 'sessionId' | 'sessionExpiresAt'>,
  now: number,
): Promise<{ token: string; expiresAt: number } | undefined> {
  const { db, config } = ctx
  const token = newOpaqueToken()
  const expiresAt = Math.min(now + config.refreshTokenTtlSeconds * 1000, Date.parse(current.sessionExpiresAt))
  const id = randomUUID()
  const rotated = await db.transaction().execute(async (trx) => {
    const swapped = await markRotated(trx, {
      id: current.id,
      rotatedAt: isoAt(now),
      replacedBy: id,
      successorSealed:
        config.refreshReuseGraceSeconds > 0
          ? ctx.refreshSuccessorKey.seal(token, successorPurpose(current.id))
          : null,
    })
    if (!swapped) return false
    await storeRefreshToken(trx, current.sessionId, token, now, expiresAt, id)
    await touchSession(trx, current.sessionId, isoAt(now))
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
  const { rotatedAt, successorSealed, successorExpiresAt } = rotation
  if (rotatedAt === null || successorSealed === null || successorExpiresAt === null) return undefined
  if (now - Date.parse(rotatedAt) > ctx.config.refreshReuseGraceSeconds * 1000) return undefined
  try {
    const token = ctx.refreshSuccessorKey.open(successorSealed, successorPurpose(parentId)).toString('utf8')
    return { token, expiresAt: Date.parse(successorExpiresAt) }
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
  return eraseSuccessorsRotatedBefore(db, isoAt(clock.now() - config.refreshReuseGraceSeconds * 1000))
}

async function storeRefreshToken(
  db: Db,
  sessionId: string,
  token: string,
  now: number,
  expiresAt: number,
  id: string = randomUUID(),
): Promise<void> {
  await insertRefreshToken(db, {
    id,
    sessionId,
    tokenHash: hashOpaqueToken(token),
    createdAt: isoAt(now),
    expiresAt: isoAt(expiresAt),
  })
}

function secondsUntil(at: number, now: number): number {
  return Math.max(0, Math.floor((at - now) / 1000))
}
