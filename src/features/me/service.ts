import type { Context } from '../../context.ts'
import { recordAuditEvent } from '../../identity/audit/audit-log.ts'
import type { User } from '../../identity/users/schemas.ts'
import { findUserById, toUser, updateUser } from '../../identity/users/store.ts'
import { isoAt } from '../../platform/clock.ts'
import { accountExists, invalidAccessToken } from '../../platform/http/errors.ts'
import { type RequestOrigin } from '../../platform/http/request-context.ts'
import { isUniqueViolation } from '../../platform/storage/database.ts'
import type { UpdateMeBody } from './schemas.ts'

/** The user behind a verified token. A deleted user's tokens stop working. */
export async function getUser(ctx: Pick<Context, 'db'>, userId: string): Promise<User> {
  const row = await findUserById(ctx.db, userId)
  if (!row) throw invalidAccessToken()
  return toUser(row)
}

/** Changes the caller's name or username; a new username is audited, as it is a login name. */
export async function updateProfile(
  ctx: Pick<Context, 'db' | 'clock'>,
  userId: string,
  changes: UpdateMeBody,
  origin: RequestOrigin,
): Promise<User> {
  const before = await findUserById(ctx.db, userId)
  if (!before) throw invalidAccessToken()
  try {
    const row = await updateUser(
      ctx.db,
      userId,
      { fullName: changes.full_name, username: changes.username },
      isoAt(ctx.clock.now()),
    )
    if (!row) throw invalidAccessToken()
    if (row.username !== before.username) {
      await recordAuditEvent(ctx.db, ctx.clock, {
        type: 'profile_changed',
        userId,
        origin,
        data: { username: { from: before.username, to: row.username }, by: userId },
      })
    }
    return toUser(row)
  } catch (error) {
    if (isUniqueViolation(error)) throw accountExists(error)
    throw error
  }
}
