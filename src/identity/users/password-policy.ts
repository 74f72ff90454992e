import { createRequire } from 'node:module'
import type * as LanguageCommon from '@zxcvbn-ts/language-common'
import { normalizePassword } from '../../platform/crypto/passwords.ts'
import type { FieldProblem } from '../../platform/http/errors.ts'
import type { StringCheck } from '../../platform/http/validation.ts'
import { identityKey } from './login-names.ts'

export const PASSWORD_MIN_LENGTH = 8
export const PASSWORD_MAX_LENGTH = 128

let commonPasswords: ReadonlySet<string> | undefined

/**
 * ~18 000 passwords of 8+ characters from zxcvbn-ts' maintained list of the most common ones
 * (shorter ones fail the length rule anyway). Compared case-insensitively. Loaded at the first
 * check, not at start-up, which it would slow down (and grow by megabytes) for every process.
 */
function isCommonPassword(lowered: string): boolean {
  if (!commonPasswords) {
    const { dictionary } = createRequire(import.meta.url)(
      '@zxcvbn-ts/language-common',
    ) as typeof LanguageCommon
    commonPasswords = new Set(
      dictionary['passwords-common']
        .filter((word) => word.length >= PASSWORD_MIN_LENGTH)
        .map((word) => word.toLowerCase()),
    )
  }
  return commonPasswords.has(lowered)
}

/**
 * The rules that need no account: the length in code points after NFKC (NIST counts Unicode code
 * points, which is exactly what string iteration yields) and the list of common passwords.
 */
export function generalPasswordProblem(password: string): string | undefined {
  const normalized = normalizePassword(password)
  // eslint-disable-next-line @typescript-eslint/no-misused-spread
  const length = [...normalized].length
  if (length < PASSWORD_MIN_LENGTH || length > PASSWORD_MAX_LENGTH) {
    return `must be ${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters long`
  }
  if (isCommonPassword(normalized.toLowerCase())) {
    return 'is too common; choose a password that is not on lists of leaked passwords'
  }
  return undefined
}

/**
 * The schema keyword `x-password-policy: true`: a new password's general rules are checked with
 * the request's other fields, so one 422 names the password beside, say, a malformed email.
 */
export const PASSWORD_POLICY_CHECK: StringCheck = {
  keyword: 'x-password-policy',
  problem: generalPasswordProblem,
}

/**
 * NIST SP 800-63B §5.1.1.2: length limits, no composition rules, and a blocklist of common and
 * context-specific passwords (the account's own email and username). Returns the problems found.
 */
export function passwordProblems(
  password: string,
  context: { email?: string | undefined; username?: string | null | undefined },
  field = 'password',
): FieldProblem[] {
  const general = generalPasswordProblem(password)
  if (general !== undefined) return [{ field, message: general }]
  const lowered = normalizePassword(password).toLowerCase()
  const email = context.email === undefined ? undefined : identityKey(context.email)
  const username = context.username == null ? undefined : identityKey(context.username)
  const personal = [email, email?.split('@')[0], username]
  if (personal.some((word) => word !== undefined && word !== '' && word === lowered)) {
    return [{ field, message: 'must not be your email address or username' }]
  }
  return []
}
