import type { Context } from '../../context.ts'
import { countAuditEvents, recordAuditEvent } from '../../identity/audit/audit-log.ts'
import { endSessions } from '../../identity/sessions/ending.ts'
import { countActiveSessions } from '../../identity/sessions/store.ts'
import { isKnownRole } from '../../identity/tokens/scopes.ts'
import type { User } from '../../identity/users/schemas.ts'
import {
  countUsers,
  deleteUser,
  findUserById,
  searchUsers,
  toUser,
  updateUser,
} from '../../identity/users/store.ts'
import { isoAt } from '../../platform/clock.ts'
import { ValidationError, notFound } from '../../platform/http/errors.ts'
import { decodeCursor, toPage } from '../../platform/http/pagination.ts'
import { type RequestOrigin } from '../../platform/http/request-context.ts'
import type { AdminUpdateUserBody } from './schemas.ts'

type AdminDeps = Pick<Context, 'db' | 'clock' | 'config' | 'revocations'>

/** Oldest first, keyset-paginated (see `searchUsers`). */
export async function listUsers(
  ctx: Pick<Context, 'db'>,
  q: string | undefined,
  limit: number,
  cursor: string | undefined,
) {
  const after = decodeCursor(cursor)
  const users = await searchUsers(ctx.db, { q, after, limit: limit + 1 })
  const page = toPage(users, limit, (user) => ({ at: user.createdAt, id: user.id }))
  return { items: page.items.map(toUser), next_cursor: page.next_cursor }
}

export async function getUserById(ctx: Pick<Context, 'db'>, id: string): Promise<User> {
  const row = await findUserById(ctx.db, id)
  if (!row) throw notFound('user')
  return toUser(row)
}

/**
 * Changes roles, the disabled flag or the name, each audited. Disabling, or taking any role away,
 * ends every session at once and drops the user's personal access tokens from every instance's
 * cache (their next use reads the user again). An admin cannot disable or demote themselves, so
 * there is always someone left to undo a mistake.
 */
export async function updateUserAsAdmin(
  ctx: AdminDeps,
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

  const updated = await updateUser(
    db,
    id,
    { roles: changes.roles, disabled: changes.disabled, fullName: changes.full_name },
    isoAt(clock.now()),
  )
  if (!updated) throw notFound('user')
  const after = toUser(updated)

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
    // Access tokens carry `roles` and the scopes the old roles allowed to every other service until
    // `exp`: whatever role went, they must die now.
    if (before.roles.some((role) => !after.roles.includes(role)))
      await endSessions(ctx, id, {}, 'role_removed', origin)
  }
  if (after.full_name !== before.full_name)
    await audit('profile_changed', { full_name: { from: before.full_name, to: after.full_name } })
  return after
}

/**
 * Ends every session (their revocations outlive the rows) and deletes the user, their todos and
 * personal access tokens, in one transaction.
 */
export async function deleteUserAsAdmin(
  ctx: AdminDeps,
  actorId: string,
  id: string,
  origin: RequestOrigin,
): Promise<void> {
  if (actorId === id) throw new ValidationError([{ field: 'id', message: 'you cannot delete yourself' }])
  await getUserById(ctx, id)
  const outcome = { deleted: false }
  await endSessions(ctx, id, {}, 'user_deleted', origin, async (trx) => {
    outcome.deleted = await deleteUser(trx, id)
  })
  if (!outcome.deleted) throw notFound('user')
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
  const [users, sessions, logins, failures] = await Promise.all([
    countUsers(db),
    countActiveSessions(db, now),
    countAuditEvents(db, 'login_succeeded', dayAgo),
    countAuditEvents(db, 'login_failed', dayAgo),
  ])
  return {
    users_total: users,
    sessions_active: sessions,
    logins_24h: logins,
    failed_logins_24h: failures,
  }
}
