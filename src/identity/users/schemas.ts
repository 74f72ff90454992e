import { Type, type Static } from 'typebox'
import { EMAIL_MAX_LENGTH, EMAIL_PATTERN, EMAIL_PROBLEM, NORMALIZED_EMAIL_CHECK } from './login-names.ts'
import { PASSWORD_POLICY_CHECK } from './password-policy.ts'

/*
 * Every pattern here runs in time linear in its input: neighbouring parts never match the same
 * character, so a failing match never retries another split.
 */
export const USERNAME_PATTERN = '^[A-Za-z0-9_.-]{3,32}$'

export const Email = Type.String({
  maxLength: EMAIL_MAX_LENGTH,
  pattern: EMAIL_PATTERN,
  [NORMALIZED_EMAIL_CHECK.keyword]: true,
  description:
    'Stored and mailed trimmed and NFKC-normalised (full-width `ｏｐｓ` becomes `ops`), in the case typed; compared case-insensitively.',
  'x-error-message': EMAIL_PROBLEM,
})
export const Username = Type.String({
  maxLength: 32,
  pattern: USERNAME_PATTERN,
  description: 'Compared case-insensitively.',
  'x-error-message': 'must be 3 to 32 letters, digits, dots, dashes or underscores',
})
export const FullName = Type.String({
  minLength: 1,
  maxLength: 200,
  pattern: '^[^\\p{Cc}]*$',
  'x-error-message': 'must be 1 to 200 characters without control characters',
})

/** A password being chosen: its general rules are checked with the rest of the body. */
export const NewPassword = Type.String({
  minLength: 1,
  maxLength: 1024,
  [PASSWORD_POLICY_CHECK.keyword]: true,
  description: '8 to 128 characters, not a common password, not the email address or username.',
})

export const User = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    email: Type.String(),
    username: Type.Union([Type.String(), Type.Null()]),
    full_name: Type.Union([Type.String(), Type.Null()]),
    roles: Type.Array(Type.String()),
    email_verified: Type.Boolean(),
    disabled: Type.Boolean(),
    created_at: Type.String({ format: 'date-time' }),
    updated_at: Type.String({ format: 'date-time' }),
  },
  { $id: 'User', title: 'User' },
)
export type User = Static<typeof User>

export const UserRef = Type.Unsafe<User>({ $ref: 'User#' })
