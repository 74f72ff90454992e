import type { Selectable } from 'kysely'
import type { Db } from '../../platform/storage/database.ts'
import { preparedQuery } from '../../platform/storage/prepared.ts'
import type { UsersTable } from '../../platform/storage/schema.ts'
import { identityKey, looksLikeEmail, normalizeEmail } from './login-names.ts'
import type { User } from './schemas.ts'

export type UserRow = Selectable<UsersTable>

export interface NewUser {
  id: string
  email: string
  username: string | null
  fullName: string | null
  passwordHash: string
  roles: string[]
  now: string
}

export function toUser(row: UserRow): User {
  return {
    id: row.id,
    email: row.email,
    username: row.username,
    full_name: row.full_name,
    roles: JSON.parse(row.roles) as string[],
    email_verified: row.email_verified === 1,
    disabled: row.disabled === 1,
    created_at: row.created_at,
    updated_at: row.updated_at,
  }
}

/**
 * Inserts a user, the email address normalised (`normalizeEmail`); a taken email or username
 * surfaces as the database's unique violation.
 */
export async function insertUser(db: Db, user: NewUser): Promise<UserRow> {
  return db
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
}

const selectUserById = preparedQuery((db, { id }: { id: string }) =>
  db.selectFrom('users').selectAll().where('id', '=', id),
)

export async function findUserById(db: Db, id: string): Promise<UserRow | undefined> {
  return (await selectUserById(db, { id })).rows[0]
}

export async function findUserByEmail(db: Db, email: string): Promise<UserRow | undefined> {
  return db.selectFrom('users').selectAll().where('email_key', '=', identityKey(email)).executeTakeFirst()
}

const selectUserByEmailKey = preparedQuery((db, { key }: { key: string }) =>
  db.selectFrom('users').selectAll().where('email_key', '=', key),
)
const selectUserByUsernameKey = preparedQuery((db, { key }: { key: string }) =>
  db.selectFrom('users').selectAll().where('username_key', '=', key),
)

/** The user a login name refers to: an email address, or else a username. */
export async function findUserByLogin(db: Db, login: string): Promise<UserRow | undefined> {
  const select = looksLikeEmail(login) ? selectUserByEmailKey : selectUserByUsernameKey
  return (await select(db, { key: identityKey(login) })).rows[0]
}

export interface UserChanges {
  fullName?: string | null
  username?: string | null
  passwordHash?: string
  roles?: string[]
}

export async function updateUser(
  db: Db,
  id: string,
  changes: UserChanges,
  now: string,
): Promise<UserRow | undefined> {
  return db
    .updateTable('users')
    .set({
      updated_at: now,
      ...(changes.fullName !== undefined && { full_name: changes.fullName }),
      ...(changes.username !== undefined && {
        username: changes.username,
        username_key: changes.username === null ? null : identityKey(changes.username),
      }),
      ...(changes.passwordHash !== undefined && { password_hash: changes.passwordHash }),
      ...(changes.roles !== undefined && { roles: JSON.stringify(changes.roles) }),
    })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst()
}
