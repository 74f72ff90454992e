import type { Db } from '../../platform/storage/database.ts'
import { preparedQuery } from '../../platform/storage/prepared.ts'

/*
 * The one place with SQL on `sessions` and `refresh_tokens`. Logins and refreshes run the prepared
 * statements on every request: built once (see preparedQuery), their arguments passed as they are.
 */

export interface NewSession {
  id: string
  userId: string
  createdAt: string
  expiresAt: string
  userAgent: string | null
  ip: string | null
  /** Space-separated scope granted at login. */
  scope: string
  authentication: SessionAuthentication
}

/** How the session's user proved who they are at login: RFC 8176 methods and the assurance level. */
export interface SessionAuthentication {
  amr: readonly string[]
  acr: string
}

export interface NewRefreshToken {
  id: string
  sessionId: string
  /** `hashOpaqueToken` of the token; the token itself is never stored. */
  tokenHash: string
  createdAt: string
  expiresAt: string
}

/** How a token was rotated away: its time, and its successor while it is kept for replays. */
export interface Rotation {
  rotatedAt: string | null
  /** The successor token, sealed, until the reuse grace window has passed. */
  successorSealed: string | null
  successorExpiresAt: string | null
}

/** A presented refresh token with its session, and its rotation if it was rotated away. */
export interface PresentedRefreshToken extends Rotation {
  id: string
  sessionId: string
  createdAt: string
  expiresAt: string
  userId: string
  scope: string
  sessionRevokedAt: string | null
  sessionExpiresAt: string
  /** When the session opened: the login, when the user last proved who they are. */
  sessionCreatedAt: string
  authentication: SessionAuthentication
}

export interface ActiveSession {
  id: string
  createdAt: string
  lastUsedAt: string
  /** When the session ends unless it is refreshed before. */
  expiresAt: string
  userAgent: string | null
  ip: string | null
}

const insertSessionRow = preparedQuery(
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
      amr: string
      acr: string
    },
  ) =>
    db.insertInto('sessions').values({
      ...session,
      last_used_at: session.created_at,
      revoked_at: null,
      revoked_reason: null,
    }),
)

export async function insertSession(db: Db, session: NewSession): Promise<void> {
  await insertSessionRow(db, {
    id: session.id,
    user_id: session.userId,
    created_at: session.createdAt,
    expires_at: session.expiresAt,
    user_agent: session.userAgent,
    ip: session.ip,
    scope: session.scope,
    amr: session.authentication.amr.join(' '),
    acr: session.authentication.acr,
  })
}

const insertRefreshTokenRow = preparedQuery(
  (
    db,
    token: { id: string; session_id: string; token_hash: string; created_at: string; expires_at: string },
  ) =>
    db
      .insertInto('refresh_tokens')
      .values({ ...token, rotated_at: null, replaced_by: null, successor_sealed: null }),
)

export async function insertRefreshToken(db: Db, token: NewRefreshToken): Promise<void> {
  await insertRefreshTokenRow(db, {
    id: token.id,
    session_id: token.sessionId,
    token_hash: token.tokenHash,
    created_at: token.createdAt,
    expires_at: token.expiresAt,
  })
}

const selectRefreshToken = preparedQuery((db, { token_hash }: { token_hash: string }) =>
  db
    .selectFrom('refresh_tokens as t')
    .innerJoin('sessions as s', 's.id', 't.session_id')
    .leftJoin('refresh_tokens as n', 'n.id', 't.replaced_by')
    .select(['t.id', 't.session_id', 't.created_at', 't.expires_at', 't.rotated_at', 't.successor_sealed'])
    .select(['s.user_id', 's.scope', 's.revoked_at', 's.expires_at as session_expires_at'])
    .select(['s.created_at as session_created_at', 's.amr', 's.acr'])
    .select('n.expires_at as successor_expires_at')
    .where('t.token_hash', '=', token_hash),
)

/** The refresh token whose hash is `tokenHash`, with its session. */
export async function findRefreshToken(
  db: Db,
  tokenHash: string,
): Promise<PresentedRefreshToken | undefined> {
  const [row] = (await selectRefreshToken(db, { token_hash: tokenHash })).rows
  return (
    row && {
      id: row.id,
      sessionId: row.session_id,
      createdAt: row.created_at,
      expiresAt: row.expires_at,
      rotatedAt: row.rotated_at,
      successorSealed: row.successor_sealed,
      successorExpiresAt: row.successor_expires_at,
      userId: row.user_id,
      scope: row.scope,
      sessionRevokedAt: row.revoked_at,
      sessionExpiresAt: row.session_expires_at,
      sessionCreatedAt: row.session_created_at,
      authentication: { amr: row.amr.split(' '), acr: row.acr },
    }
  )
}

const selectRotation = preparedQuery((db, { id }: { id: string }) =>
  db
    .selectFrom('refresh_tokens as t')
    .leftJoin('refresh_tokens as n', 'n.id', 't.replaced_by')
    .select(['t.rotated_at', 't.successor_sealed', 'n.expires_at as successor_expires_at'])
    .where('t.id', '=', id),
)

/** How the token `id` was rotated away, read after losing the race to rotate it. */
export async function findRotation(db: Db, id: string): Promise<Rotation | undefined> {
  const [row] = (await selectRotation(db, { id })).rows
  return (
    row && {
      rotatedAt: row.rotated_at,
      successorSealed: row.successor_sealed,
      successorExpiresAt: row.successor_expires_at,
    }
  )
}

const markRotatedRow = preparedQuery(
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

/**
 * The compare-and-swap of a rotation: one atomic `UPDATE … WHERE rotated_at IS NULL`, so of
 * concurrent callers exactly one marks the token rotated and gets true. Run it in the transaction
 * that inserts the successor `replacedBy`.
 */
export async function markRotated(
  db: Db,
  rotation: { id: string; rotatedAt: string; replacedBy: string; successorSealed: string | null },
): Promise<boolean> {
  const swap = await markRotatedRow(db, {
    id: rotation.id,
    rotated_at: rotation.rotatedAt,
    replaced_by: rotation.replacedBy,
    successor_sealed: rotation.successorSealed,
  })
  return swap.numAffectedRows === 1n
}

const touchSessionRow = preparedQuery((db, { id, last_used_at }: { id: string; last_used_at: string }) =>
  db.updateTable('sessions').set({ last_used_at }).where('id', '=', id),
)

export async function touchSession(db: Db, id: string, lastUsedAt: string): Promise<void> {
  await touchSessionRow(db, { id, last_used_at: lastUsedAt })
}

/** Erases the sealed successors of one session's tokens (after a replay past the grace window). */
export async function eraseSessionSuccessors(db: Db, sessionId: string): Promise<void> {
  await db
    .updateTable('refresh_tokens')
    .set({ successor_sealed: null })
    .where('session_id', '=', sessionId)
    .where('successor_sealed', 'is not', null)
    .execute()
}

/** Erases the sealed successors of tokens rotated before `before`; returns how many. */
export async function eraseSuccessorsRotatedBefore(db: Db, before: string): Promise<number> {
  const result = await db
    .updateTable('refresh_tokens')
    .set({ successor_sealed: null })
    .where('successor_sealed', 'is not', null)
    .where('rotated_at', '<', before)
    .executeTakeFirst()
  return Number(result.numUpdatedRows)
}

/**
 * Marks the user's live sessions revoked (`only` those, `except` that one) and returns their ids.
 * Run it in the transaction that persists their revocations.
 */
export async function revokeSessions(
  db: Db,
  userId: string,
  which: { only?: string[]; except?: string },
  reason: string,
  now: string,
): Promise<string[]> {
  let query = db
    .updateTable('sessions')
    .set({ revoked_at: now, revoked_reason: reason })
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
  if (which.only) query = query.where('id', 'in', which.only)
  if (which.except !== undefined) query = query.where('id', '!=', which.except)
  return (await query.returning('id').execute()).map((row) => row.id)
}

/** Sessions that can still be refreshed at `now`, most recently used first. */
export async function listActiveSessions(db: Db, userId: string, now: string): Promise<ActiveSession[]> {
  const rows = await db
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
  return rows.map((row) => ({
    id: row.id,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
    expiresAt: row.expires_at,
    userAgent: row.user_agent,
    ip: row.ip,
  }))
}

/** Sessions neither revoked nor past their absolute end at `now`. */
export async function countActiveSessions(db: Db, now: string): Promise<number> {
  const row = await db
    .selectFrom('sessions')
    .select((eb) => eb.fn.countAll().as('count'))
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', now)
    .executeTakeFirst()
  return Number(row?.count ?? 0)
}

/** Deletes the sessions past their absolute end (their refresh tokens go with them); returns how many. */
export async function deleteEndedSessions(db: Db, now: string): Promise<number> {
  const result = await db.deleteFrom('sessions').where('expires_at', '<', now).executeTakeFirst()
  return Number(result.numDeletedRows)
}
