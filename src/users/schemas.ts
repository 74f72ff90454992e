import { Type, type Static } from 'typebox'

export const USERNAME_PATTERN = '^[A-Za-z0-9_.-]{3,32}$'
/**
 * Deliberately simple: something@domain.tld, no spaces or control characters, at most 254 long.
 * Linear: a domain label cannot contain the dot that separates labels, so there is one way to
 * split a domain and a failed match never backtracks over it (the old `[^@]+\\.[^@]+` took
 * seconds on "a@" + "a." × 30 000).
 */
export const EMAIL_PATTERN = '^\\s*[^\\s@\\p{Cc}]{1,64}@[^\\s@.\\p{Cc}]+(?:\\.[^\\s@.\\p{Cc}]+)+\\s*$'

export const Email = Type.String({
  maxLength: 254,
  pattern: EMAIL_PATTERN,
  description: 'Trimmed; compared case-insensitively.',
  'x-error-message': 'must be an email address of at most 254 characters',
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

export const UpdateMeBody = Type.Object(
  {
    full_name: Type.Optional(Type.Union([FullName, Type.Null()])),
    username: Type.Optional(Type.Union([Username, Type.Null()])),
  },
  { additionalProperties: false },
)
export type UpdateMeBody = Static<typeof UpdateMeBody>
