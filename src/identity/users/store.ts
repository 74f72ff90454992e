import { sql, type Selectable } from 'kysely'
import type { Db } from '../../platform/storage/database.ts'
import { preparedQuery } from '../../platform/storage/prepared.ts'
import type { UsersTable } from '../../platform/storage/schema.ts'
import { identityKey, looksLikeEmail, normalizeEmail } from './login-names.ts'
import type { User } from './schemas.ts'

/*
 * The one place with SQL on `users` (joins inside identity/, such as the mail and one-time-token
 * statements, aside). Everything leaves as a `UserRecord`: the 0/1 flags and the JSON text of the
 * roles never reach a caller.
 */

/** A user as the kernel sees it, password hash included; `toUser` is the public view. */
export interface UserRecord {
  id: string
  email: string
  /** Trimmed, NFKC-normalised, lower-cased: what emails are compared by. */
  emailKey: string
  username: string | null
  fullName: string | null
  passwordHash: string
  roles: string[]
  emailVerified: boolean
  disabled: boolean
  createdAt: string
  updatedAt: string
}

type UserRow = Selectable<UsersTable>

function toRecord(row: UserRow): UserRecord {
  return {
    id: row.id,
    email: row.email,
    emailKey: row.email_key,
    username: row.username,
    fullName: row.full_name,
    passwordHash: row.password_hash,
    roles: JSON.parse(row.roles) as string[],
    emailVerified: row.email_verified === 1,
    disabled: row.disabled === 1,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  }
}

export function toUser(user: UserRecord): User {
  return {
    id: user.id,
    email: user.email,
    username: user.username,
    full_name: user.fullName,
    roles: user.roles,
    email_verified: user.emailVerified,
    disabled: user.disabled,
    created_at: user.createdAt,
    updated_at: user.updatedAt,
  }
}

export interface NewUser {
  id: string
  email: string
  username: string | null
  fullName: string | null
  passwordHash: string
  roles: string[]
  now: string
}

/**
 * Inserts a user, the email address normalised (`normalizeEmail`); a taken email or username
 * surfaces as the database's unique violation.
 */
export async function insertUser(db: Db, user: NewUser): Promise<UserRecord> {
  const row = await db
    .insertInto('users')
    .values({
      id: user.id,
      email: normalizeEmail(user.email),
      email_key: identityKey(user.email),
      username: user.username,
      username_key: user.username === null ? null : identityKey(user.username),
      full_name: user.fullName,
      password_hash: user.passwordHash,
      roles: JSON.stringify(user.roles),
      email_verified: 0,
      disabled: 0,
      created_at: user.now,
      updated_at: user.now,
    })
    .returningAll()
    .executeTakeFirstOrThrow()
  return toRecord(row)
}

const selectUserById = preparedQuery((db, { id }: { id: string }) =>
  db.selectFrom('users').selectAll().where('id', '=', id),
)

export async function findUserById(db: Db, id: string): Promise<UserRecord | undefined> {
  const [row] = (await selectUserById(db, { id })).rows
  return row && toRecord(row)
}

export async function findUserByEmail(db: Db, email: string): Promise<UserRecord | undefined> {
  const row = await db
    .selectFrom('users')
    .selectAll()
    .where('email_key', '=', identityKey(email))
    .executeTakeFirst()
  return row && toRecord(row)
}

const selectUserByEmailKey = preparedQuery((db, { key }: { key: string }) =>
  db.selectFrom('users').selectAll().where('email_key', '=', key),
)
const selectUserByUsernameKey = preparedQuery((db, { key }: { key: string }) =>
  db.selectFrom('users').selectAll().where('username_key', '=', key),
)

/** The user a login name refers to: an email address, or else a username. */
export async function findUserByLogin(db: Db, login: string): Promise<UserRecord | undefined> {
  const select = looksLikeEmail(login) ? selectUserByEmailKey : selectUserByUsernameKey
  const [row] = (await select(db, { key: identityKey(login) })).rows
  return row && toRecord(row)
}

export interface UserSearch {
  /** Matched, case-insensitively and literally (`%` and `_` are no wildcards), in the email, username or name. */
  q?: string | undefined
  /** The last user of the previous page. */
  after?: { at: string; id: string } | undefined
  limit: number
}

/** `%` and `_` in a search are literal characters, not wildcards. */
function containsPattern(text: string): string {
  return `%${text.toLowerCase().replace(/[\\%_]/g, (char) => `\\${char}`)}%`
}

/**
 * Oldest first, keyset-paginated on (created_at, id): users who sign up while an admin pages
 * land after the cursor, so no page skips or repeats anyone.
 */
export async function searchUsers(db: Db, search: UserSearch): Promise<UserRecord[]> {
  const { after } = search
  let query = db.selectFrom('users').selectAll()
  const text = search.q?.trim()
  if (text) {
    const pattern = containsPattern(text)
    query = query.where((eb) =>
      eb.or([
        sql<boolean>`${eb.ref('email_key')} like ${pattern} escape '\\'`,
        sql<boolean>`${eb.ref('username_key')} like ${pattern} escape '\\'`,
        sql<boolean>`lower(${eb.ref('full_name')}) like ${pattern} escape '\\'`,
      ]),
    )
  }
  if (after) {
    query = query.where((eb) =>
      eb.or([
        eb('created_at', '>', after.at),
        eb.and([eb('created_at', '=', after.at), eb('id', '>', after.id)]),
      ]),
    )
  }
  const rows = await query.orderBy('created_at').orderBy('id').limit(search.limit).execute()
  return rows.map(toRecord)
}

export interface UserChanges {
  fullName?: string | null | undefined
  username?: string | null | undefined
  roles?: string[] | undefined
  disabled?: boolean | undefined
}

/** Applies the changes given (an undefined one is left alone); undefined when there is no such user. */
export async function updateUser(
  db: Db,
  id: string,
  changes: UserChanges,
  now: string,
): Promise<UserRecord | undefined> {
  const row = await db
    .updateTable('users')
    .set({
      updated_at: now,
      ...(changes.fullName !== undefined && { full_name: changes.fullName }),
      ...(changes.username !== undefined && {
        username: changes.username,
        username_key: changes.username === null ? null : identityKey(changes.username),
      }),
      ...(changes.roles !== undefined && { roles: JSON.stringify(changes.roles) }),
      ...(changes.disabled !== undefined && { disabled: changes.disabled ? 1 : 0 }),
    })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst()
  return row && toRecord(row)
}

/**
 * Replaces the password hash. `markVerified`: the change proves the address too (a reset link
 * mailed to it), so it is marked verified in the same statement.
 */
export async function setPassword(
  db: Db,
  id: string,
  passwordHash: string,
  now: string,
  options: { markVerified?: boolean } = {},
): Promise<void> {
  await db
    .updateTable('users')
    .set({
      password_hash: passwordHash,
      updated_at: now,
      ...(options.markVerified === true && { email_verified: 1 }),
    })
    .where('id', '=', id)
    .execute()
}

/**
 * Marks the address verified, only while the account still has the address `emailKey` (the one a
 * link was mailed to). Returns whether it did.
 */
export async function markEmailVerified(db: Db, id: string, emailKey: string, now: string): Promise<boolean> {
  const updated = await db
    .updateTable('users')
    .set({ email_verified: 1, updated_at: now })
    .where('id', '=', id)
    .where('email_key', '=', emailKey)
    .executeTakeFirst()
  return updated.numUpdatedRows === 1n
}

/** Deletes the user (rows referencing it by foreign key go with it); false when there was none. */
export async function deleteUser(db: Db, id: string): Promise<boolean> {
  const result = await db.deleteFrom('users').where('id', '=', id).executeTakeFirst()
  return result.numDeletedRows !== 0n
}

export async function countUsers(db: Db): Promise<number> {
  const row = await db
    .selectFrom('users')
    .select((eb) => eb.fn.countAll().as('count'))
    .executeTakeFirst()
  return Number(row?.count ?? 0)
}
