import { randomUUID } from 'node:crypto'
import type { Clock } from '../clock.ts'
import { isoAt } from '../clock.ts'
import type { Db } from '../storage/database.ts'
import { hashRefreshToken, newRefreshToken } from './refresh-tokens.ts'

export interface ClientInfo {
  ip: string
  userAgent: string | undefined
}

export interface StartedSession {
  sessionId: string
  refreshToken: string
  refreshExpiresInSeconds: number
}

/**
 * Opens a session for a user who just proved their password, with its first refresh token.
 * Both rows are written in one transaction: there is never a session without a token.
 */
export async function startSession(
  db: Db,
  clock: Clock,
  refreshTtlSeconds: number,
  userId: string,
  client: ClientInfo,
): Promise<StartedSession> {
  const now = clock.now()
  const sessionId = randomUUID()
  const refreshToken = newRefreshToken()
  const expiresAt = isoAt(now + refreshTtlSeconds * 1000)
  await db.transaction().execute(async (trx) => {
    await trx
      .insertInto('sessions')
      .values({
        id: sessionId,
        user_id: userId,
        created_at: isoAt(now),
        last_used_at: isoAt(now),
        expires_at: expiresAt,
        revoked_at: null,
        revoked_reason: null,
        user_agent: client.userAgent?.slice(0, 512) ?? null,
        ip: client.ip.slice(0, 64),
      })
      .execute()
    await trx
      .insertInto('refresh_tokens')
      .values({
        id: randomUUID(),
        session_id: sessionId,
        token_hash: hashRefreshToken(refreshToken),
        created_at: isoAt(now),
        expires_at: expiresAt,
        rotated_at: null,
        replaced_by: null,
      })
      .execute()
  })
  return { sessionId, refreshToken, refreshExpiresInSeconds: refreshTtlSeconds }
}
