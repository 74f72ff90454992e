import { Type } from 'typebox'

/** The fields of every way to log in with a password (`/auth/login`, the password grant). */
export const LoginName = Type.String({
  minLength: 1,
  maxLength: 254,
  description: 'Username or email address.',
})
export const Password = Type.String({
  minLength: 1,
  maxLength: 1024,
  description: '8 to 128 characters for a new password.',
})
export const Scope = Type.String({
  maxLength: 1024,
  description: 'Space-separated scopes to ask for; narrowed to what the roles allow.',
})
