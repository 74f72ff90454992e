import { sql } from 'kysely'
import { recordAuditEvent } from '../../identity/audit/audit-log.ts'
import { isKnownRole } from '../../identity/tokens/scopes.ts'
import { isoAt } from '../../platform/clock.ts'
import { ValidationError, notFound } from '../../platform/http/errors.ts'
import { decodeCursor, toPage } from '../../platform/http/pagination.ts'
import type { Context } from '../../context.ts'
import { endSessions } from '../../identity/sessions/sessions.ts'
import { findUserById, toUser } from '../../identity/users/store.ts'
import type { User } from '../../identity/users/schemas.ts'
import type { AdminUpdateUserBody } from './schemas.ts'
import { type RequestOrigin } from '../../platform/http/request-context.ts'

type AdminServices = Pick<Context, 'db' | 'clock' | 'config' | 'revocations'>

/** `%` and `_` in a search are literal characters, not wildcards. */
function containsPattern(text: string): string {
  return `%${text.toLowerCase().replace(/[\\%_]/g, (char) => `\\${char}`)}%`
}

/**
 * Oldest first, keyset-paginated on (created_at, id): users who sign up while an admin pages
 * land after the cursor, so no page skips or repeats anyone.
 */
export async function searchUsers(
  ctx: AdminServices,
  q: string | undefined,
  limit: number,
  cursor: string | undefined,
) {
  const after = decodeCursor(cursor)
  let query = ctx.db.selectFrom('users').selectAll()
  const text = q?.trim()
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
  const rows = await query
    .orderBy('created_at')
    .orderBy('id')
    .limit(limit + 1)
    .execute()
  const page = toPage(rows, limit, (row) => ({ at: row.created_at, id: row.id }))
  return { items: page.items.map(toUser), next_cursor: page.next_cursor }
}

export async function getUserById(ctx: Pick<Context, 'db'>, id: string): Promise<User> {
  const row = await findUserById(ctx.db, id)
  if (!row) throw notFound('user')
  return toUser(row)
}

/**
 * Changes roles, the disabled flag or the name, each audited. Disabling, or taking the admin role
 * away, ends every session at once. An admin
 * cannot disable or demote themselves, so there is always someone left to undo a mistake.
 */
export async function updateUserAsAdmin(
  ctx: AdminServices,
  actorId: string,
  id: string,
  changes: AdminUpdateUserBody,
  origin: RequestOrigin,
): Promise<User> {
  const { db, clock, config } = ctx
  const before = await getUserById(ctx, id)
  const problems = []
  const unknownRoles = (changes.roles ?? []).filter((role) => !isKnownRole(config.roleScopes, role))
  if (unknownRoles.length > 0) {
    problems.push({
      field: 'roles',
      message: `unknown roles: ${unknownRoles.join(', ')}; known: ${Object.keys(config.roleScopes).join(', ')}`,
    })
  }
  if (actorId === id && changes.roles !== undefined && !changes.roles.includes('admin')) {
    problems.push({ field: 'roles', message: 'you cannot remove your own admin role' })
  }
  if (actorId === id && changes.disabled === true)
    problems.push({ field: 'disabled', message: 'you cannot disable yourself' })
  if (problems.length > 0) throw new ValidationError(problems)

  const row = await db
    .updateTable('users')
    .set({
      updated_at: isoAt(clock.now()),
      ...(changes.roles !== undefined && { roles: JSON.stringify(changes.roles) }),
      ...(changes.disabled !== undefined && { disabled: changes.disabled ? 1 : 0 }),
      ...(changes.full_name !== undefined && { full_name: changes.full_name }),
    })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst()
  if (!row) throw notFound('user')
  const after = toUser(row)

  const audit = (
    type: 'role_changed' | 'user_disabled' | 'user_enabled' | 'profile_changed',
    data: Record<string, unknown> = {},
  ) => recordAuditEvent(db, clock, { type, userId: id, origin, data: { ...data, by: actorId } })
  if (after.disabled && !before.disabled) {
    await endSessions(ctx, id, {}, 'user_disabled', origin)
    await audit('user_disabled')
  }
  if (!after.disabled && before.disabled) await audit('user_enabled')
  if (changes.roles !== undefined && JSON.stringify(before.roles) !== JSON.stringify(after.roles)) {
    await audit('role_changed', { from: before.roles, to: after.roles })
    // Access tokens carry `roles` to every other service until `exp`: a demoted admin's must die now.
    if (before.roles.includes('admin') && !after.roles.includes('admin'))
      await endSessions(ctx, id, {}, 'role_removed', origin)
  }
  if (after.full_name !== before.full_name)
    await audit('profile_changed', { full_name: { from: before.full_name, to: after.full_name } })
  return after
}

/** Ends every session (their revocations outlive the rows), then deletes the user and their todos. */
export async function deleteUserAsAdmin(
  ctx: AdminServices,
  actorId: string,
  id: string,
  origin: RequestOrigin,
): Promise<void> {
  if (actorId === id) throw new ValidationError([{ field: 'id', message: 'you cannot delete yourself' }])
  await getUserById(ctx, id)
  await endSessions(ctx, id, {}, 'user_deleted', origin)
  const result = await ctx.db.deleteFrom('users').where('id', '=', id).executeTakeFirst()
  if (result.numDeletedRows === 0n) throw notFound('user')
  await recordAuditEvent(ctx.db, ctx.clock, {
    type: 'user_deleted',
    userId: id,
    origin,
    data: { by: actorId },
  })
}

export async function stats(ctx: Pick<Context, 'db' | 'clock'>) {
  const { db, clock } = ctx
  const now = isoAt(clock.now())
  const dayAgo = isoAt(clock.now() - 86_400_000)
  const count = (rows: { count: string | number | bigint } | undefined) => Number(rows?.count ?? 0)
  const [users, sessions, logins, failures] = await Promise.all([
    db
      .selectFrom('users')
      .select((eb) => eb.fn.countAll().as('count'))
      .executeTakeFirst(),
    db
      .selectFrom('sessions')
      .select((eb) => eb.fn.countAll().as('count'))
      .where('revoked_at', 'is', null)
      .where('expires_at', '>', now)
      .executeTakeFirst(),
    db
      .selectFrom('audit_events')
      .select((eb) => eb.fn.countAll().as('count'))
      .where('type', '=', 'login_succeeded')
      .where('at', '>', dayAgo)
      .executeTakeFirst(),
    db
      .selectFrom('audit_events')
      .select((eb) => eb.fn.countAll().as('count'))
      .where('type', '=', 'login_failed')
      .where('at', '>', dayAgo)
      .executeTakeFirst(),
  ])
  return {
    users_total: count(users),
    sessions_active: count(sessions),
    logins_24h: count(logins),
    failed_logins_24h: count(failures),
  }
}
