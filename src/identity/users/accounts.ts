import { randomUUID } from 'node:crypto'
import { recordAuditEvent, type RequestOrigin } from '../audit/audit-log.ts'
import { passwordProblems } from './password-policy.ts'
import { isoAt } from '../../platform/clock.ts'
import { AppError, AuthenticationError, ValidationError } from '../../platform/http/errors.ts'
import type { Context } from '../../compose.ts'
import { isUniqueViolation } from '../../platform/storage/database.ts'
import { EMAIL_PROBLEM, isStorableEmail } from './login-names.ts'
import { findUserByEmail, findUserById, insertUser, toUser, updateUser } from './store.ts'
import type { UpdateMeBody, User } from './schemas.ts'

export interface NewAccount {
  email: string
  password: string
  username?: string | undefined
  fullName?: string | undefined
  roles: string[]
}

/** Start-up acts for nobody's request. */
const BOOTSTRAP_ORIGIN: RequestOrigin = { ip: null, userAgent: undefined, requestId: undefined }

const accountExists = (cause?: unknown) =>
  new AppError('ACCOUNT_EXISTS', 'An account with this email or username already exists.', { cause })

/**
 * Creates an account after checking the password policy and the address as it will be stored
 * (normalised). A taken email or username is a 409.
 */
export async function createAccount(
  ctx: Pick<Context, 'db' | 'clock' | 'hasher'>,
  account: NewAccount,
): Promise<User> {
  const problems = [
    ...(isStorableEmail(account.email) ? [] : [{ field: 'email', message: EMAIL_PROBLEM }]),
    ...passwordProblems(account.password, account),
  ]
  if (problems.length > 0) throw new ValidationError(problems)
  const passwordHash = await ctx.hasher.hash(account.password)
  try {
    const row = await insertUser(ctx.db, {
      id: randomUUID(),
      email: account.email,
      username: account.username ?? null,
      fullName: account.fullName ?? null,
      passwordHash,
      roles: account.roles,
      now: isoAt(ctx.clock.now()),
    })
    return toUser(row)
  } catch (error) {
    if (isUniqueViolation(error)) throw accountExists(error)
    throw error
  }
}

/** The user behind a verified token. A deleted user's tokens stop working. */
export async function getUser(ctx: Pick<Context, 'db'>, userId: string): Promise<User> {
  const row = await findUserById(ctx.db, userId)
  if (!row) throw new AuthenticationError('INVALID_TOKEN', 'The access token is not valid.')
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
  if (!before) throw new AuthenticationError('INVALID_TOKEN', 'The access token is not valid.')
  try {
    const row = await updateUser(
      ctx.db,
      userId,
      { fullName: changes.full_name, username: changes.username },
      isoAt(ctx.clock.now()),
    )
    if (!row) throw new AuthenticationError('INVALID_TOKEN', 'The access token is not valid.')
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

/** Why start-up stops: the configured address belongs to an account the operator cannot vouch for. */
const foreignAccount = (email: string, why: string) =>
  new Error(
    `ADMIN_EMAIL: an account someone else may control already holds ${email} (${why}); ` +
      'it was not made an admin. Check it (gatehouse users list --q), then promote it with ' +
      '`gatehouse users set-role` or delete it, or choose another ADMIN_EMAIL.',
  )

/**
 * `ADMIN_EMAIL`/`ADMIN_PASSWORD` at server start: the account is created as an admin when missing.
 * An existing admin is left alone (its password may have changed since). An existing account
 * without the role is promoted only when it is provably the operator's: its stored address is
 * `ADMIN_EMAIL` itself (not a look-alike that only folds to it under NFKC) and `ADMIN_PASSWORD`
 * opens it. Anything else stops start-up, since anyone may have signed up with that address first.
 */
export async function ensureAdmin(
  ctx: Pick<Context, 'config' | 'db' | 'clock' | 'hasher' | 'logger'>,
): Promise<void> {
  const admin = ctx.config.admin
  if (!admin) return
  const existing = await findUserByEmail(ctx.db, admin.email)
  if (!existing) {
    try {
      await createAccount(ctx, {
        email: admin.email,
        password: admin.password,
        roles: ['user', 'admin'],
      })
      ctx.logger.info({ user_email: admin.email }, 'admin account created')
      return
    } catch (error) {
      if (error instanceof ValidationError) {
        const reasons = (error.details ?? []).map((d) => d.message).join('; ')
        throw new Error(`ADMIN_PASSWORD: ${reasons}`, { cause: error })
      }
      if (!(error instanceof AppError && error.code === 'ACCOUNT_EXISTS')) throw error
      // Another instance created it in the meantime; it is checked like any existing account.
    }
  }
  const row = existing ?? (await findUserByEmail(ctx.db, admin.email))
  if (!row) throw new Error('ADMIN_EMAIL: the account disappeared while it was being created')
  const roles = JSON.parse(row.roles) as string[]
  if (roles.includes('admin')) return
  if (row.email.trim().toLowerCase() !== admin.email.trim().normalize('NFKC').toLowerCase())
    throw foreignAccount(admin.email, `stored as ${JSON.stringify(row.email)}`)
  const { ok } = await ctx.hasher.verify(row.password_hash, admin.password)
  if (!ok) throw foreignAccount(admin.email, 'ADMIN_PASSWORD does not open it')
  await updateUser(ctx.db, row.id, { roles: [...roles, 'admin'] }, isoAt(ctx.clock.now()))
  await recordAuditEvent(ctx.db, ctx.clock, {
    type: 'role_changed',
    userId: row.id,
    origin: BOOTSTRAP_ORIGIN,
    data: { from: roles, to: [...roles, 'admin'], by: 'bootstrap' },
  })
  ctx.logger.warn({ user_id: row.id }, 'ADMIN_EMAIL: admin role granted to an existing account')
}
