import { randomUUID } from 'node:crypto'
import { passwordProblems } from '../auth/password-policy.ts'
import { isoAt } from '../clock.ts'
import { AppError, AuthenticationError, ValidationError } from '../http/errors.ts'
import type { Services } from '../services.ts'
import { isUniqueViolation } from '../storage/database.ts'
import { EMAIL_PROBLEM, isStorableEmail } from './identity.ts'
import { findUserByEmail, findUserById, insertUser, toUser, updateUser } from './repository.ts'
import type { UpdateMeBody, User } from './schemas.ts'

export interface NewAccount {
  email: string
  password: string
  username?: string | undefined
  fullName?: string | undefined
  roles: string[]
}

const accountExists = (cause?: unknown) =>
  new AppError('ACCOUNT_EXISTS', 'An account with this email or username already exists.', { cause })

/**
 * Creates an account after checking the password policy and the address as it will be stored
 * (normalised). A taken email or username is a 409.
 */
export async function createAccount(
  services: Pick<Services, 'db' | 'clock' | 'hasher'>,
  account: NewAccount,
): Promise<User> {
  const problems = [
    ...(isStorableEmail(account.email) ? [] : [{ field: 'email', message: EMAIL_PROBLEM }]),
    ...passwordProblems(account.password, account),
  ]
  if (problems.length > 0) throw new ValidationError(problems)
  const passwordHash = await services.hasher.hash(account.password)
  try {
    const row = await insertUser(services.db, {
      id: randomUUID(),
      email: account.email,
      username: account.username ?? null,
      fullName: account.fullName ?? null,
      passwordHash,
      roles: account.roles,
      now: isoAt(services.clock.now()),
    })
    return toUser(row)
  } catch (error) {
    if (isUniqueViolation(error)) throw accountExists(error)
    throw error
  }
}

/** The user behind a verified token. A deleted user's tokens stop working. */
export async function getUser(services: Pick<Services, 'db'>, userId: string): Promise<User> {
  const row = await findUserById(services.db, userId)
  if (!row) throw new AuthenticationError('INVALID_TOKEN', 'The access token is not valid.')
  return toUser(row)
}

export async function updateProfile(
  services: Pick<Services, 'db' | 'clock'>,
  userId: string,
  changes: UpdateMeBody,
): Promise<User> {
  try {
    const row = await updateUser(
      services.db,
      userId,
      { fullName: changes.full_name, username: changes.username },
      isoAt(services.clock.now()),
    )
    if (!row) throw new AuthenticationError('INVALID_TOKEN', 'The access token is not valid.')
    return toUser(row)
  } catch (error) {
    if (isUniqueViolation(error)) throw accountExists(error)
    throw error
  }
}

/**
 * `ADMIN_EMAIL`/`ADMIN_PASSWORD`: the account is created as an admin when missing, or given the
 * admin role when it exists. An existing password is left alone, so a password the admin changed
 * later is not reset by the next restart.
 */
export async function ensureAdmin(services: Services): Promise<void> {
  const admin = services.config.admin
  if (!admin) return
  const existing = await findUserByEmail(services.db, admin.email)
  if (!existing) {
    try {
      await createAccount(services, {
        email: admin.email,
        password: admin.password,
        roles: ['user', 'admin'],
      })
    } catch (error) {
      if (error instanceof ValidationError) {
        const reasons = (error.details ?? []).map((d) => d.message).join('; ')
        throw new Error(`ADMIN_PASSWORD: ${reasons}`, { cause: error })
      }
      if (!(error instanceof AppError && error.code === 'ACCOUNT_EXISTS')) throw error
      // Another instance created it in the meantime; fall through to the role check.
    }
    services.logger.info({ user_email: admin.email }, 'admin account ensured')
  }
  const row = existing ?? (await findUserByEmail(services.db, admin.email))
  const roles = row ? (JSON.parse(row.roles) as string[]) : []
  if (row && !roles.includes('admin')) {
    await updateUser(services.db, row.id, { roles: [...roles, 'admin'] }, isoAt(services.clock.now()))
    services.logger.info({ user_id: row.id }, 'admin role granted to existing account')
  }
}
