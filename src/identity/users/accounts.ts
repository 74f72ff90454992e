import { randomUUID } from 'node:crypto'
import { isoAt, type Clock } from '../../platform/clock.ts'
import { type PasswordHasher } from '../../platform/crypto/passwords.ts'
import { ValidationError, accountExists } from '../../platform/http/errors.ts'
import { isUniqueViolation, type Db } from '../../platform/storage/database.ts'
import { EMAIL_PROBLEM, isStorableEmail } from './login-names.ts'
import { passwordProblems } from './password-policy.ts'
import type { User } from './schemas.ts'
import { insertUser, toUser } from './store.ts'

export interface NewAccount {
  email: string
  password: string
  username?: string | undefined
  fullName?: string | undefined
  roles: string[]
}

/**
 * Creates an account after checking the password policy and the address as it will be stored
 * (normalised). A taken email or username is a 409.
 */
export async function createAccount(
  ctx: { db: Db; clock: Clock; hasher: PasswordHasher },
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
