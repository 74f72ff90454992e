import type { Db } from '../../platform/storage/database.ts'
import { preparedQuery } from '../../platform/storage/prepared.ts'

/* The one place with SQL on `personal_access_tokens`. */

export interface PersonalToken {
  id: string
  userId: string
  name: string
  /** Space-separated scope given at creation (before narrowing to the user's roles). */
  scope: string
  createdAt: string
  expiresAt: string
  lastUsedAt: string | null
}

/** A presented token with what its use depends on: its user's current roles and state. */
export interface PresentedPersonalToken extends PersonalToken {
  userRoles: string[]
  userDisabled: boolean
  username: string | null
}

interface PersonalTokenRow {
  id: string
  user_id: string
  name: string
  scope: string
  created_at: string
  expires_at: string
  last_used_at: string | null
}

const toPersonalToken = (row: PersonalTokenRow): PersonalToken => ({
  id: row.id,
  userId: row.user_id,
  name: row.name,
  scope: row.scope,
  createdAt: row.created_at,
  expiresAt: row.expires_at,
  lastUsedAt: row.last_used_at,
})

const COLUMNS = ['id', 'user_id', 'name', 'scope', 'created_at', 'expires_at', 'last_used_at'] as const

export async function insertPersonalToken(
  db: Db,
  token: PersonalToken & { tokenHash: string },
): Promise<void> {
  await db
    .insertInto('personal_access_tokens')
    .values({
      id: token.id,
      user_id: token.userId,
      name: token.name,
      token_hash: token.tokenHash,
      scope: token.scope,
      created_at: token.createdAt,
      expires_at: token.expiresAt,
      last_used_at: token.lastUsedAt,
    })
    .execute()
}

const selectByHash = preparedQuery((db, { token_hash }: { token_hash: string }) =>
  db
    .selectFrom('personal_access_tokens as t')
    .innerJoin('users as u', 'u.id', 't.user_id')
    .select(COLUMNS.map((column) => `t.${column}` as const))
    .select(['u.roles', 'u.disabled', 'u.username'])
    .where('t.token_hash', '=', token_hash),
)

/** The token whose hash is `tokenHash`, with its user: one lookup by a unique index. */
export async function findPersonalTokenByHash(
  db: Db,
  tokenHash: string,
): Promise<PresentedPersonalToken | undefined> {
  const [row] = (await selectByHash(db, { token_hash: tokenHash })).rows
  if (!row) return undefined
  return {
    ...toPersonalToken(row),
    userRoles: JSON.parse(row.roles) as string[],
    userDisabled: row.disabled === 1,
    username: row.username,
  }
}

/** The user's tokens, newest first, expired ones included until they are pruned. */
export async function listPersonalTokens(db: Db, userId: string): Promise<PersonalToken[]> {
  const rows = await db
    .selectFrom('personal_access_tokens')
    .select(COLUMNS)
    .where('user_id', '=', userId)
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .execute()
  return rows.map(toPersonalToken)
}

export async function countPersonalTokens(db: Db, userId: string): Promise<number> {
  const row = await db
    .selectFrom('personal_access_tokens')
    .select((eb) => eb.fn.countAll<number | string>().as('count'))
    .where('user_id', '=', userId)
    .executeTakeFirstOrThrow()
  return Number(row.count)
}

/** Deletes the user's token `id`; false when the user has no such token. */
export async function deletePersonalToken(db: Db, userId: string, id: string): Promise<boolean> {
  const result = await db
    .deleteFrom('personal_access_tokens')
    .where('id', '=', id)
    .where('user_id', '=', userId)
    .executeTakeFirst()
  return result.numDeletedRows > 0n
}

const updateLastUsed = preparedQuery((db, { id, at }: { id: string; at: string }) =>
  db.updateTable('personal_access_tokens').set({ last_used_at: at }).where('id', '=', id),
)

export async function touchPersonalToken(db: Db, id: string, at: string): Promise<void> {
  await updateLastUsed(db, { id, at })
}

/** Deletes tokens past their expiry; returns how many. */
export async function pruneExpiredPersonalTokens(db: Db, now: string): Promise<number> {
  const result = await db
    .deleteFrom('personal_access_tokens')
    .where('expires_at', '<', now)
    .executeTakeFirst()
  return Number(result.numDeletedRows)
}
