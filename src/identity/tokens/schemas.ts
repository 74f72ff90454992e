import { Type, type Static } from 'typebox'
import { Email, FullName, Username } from '../users/schemas.ts'
import { PASSWORD_POLICY_CHECK } from '../users/password-policy.ts'

const Password = Type.String({
  minLength: 1,
  maxLength: 1024,
  description: '8 to 128 characters for a new password.',
})
/** A password being chosen: its general rules are checked with the rest of the body. */
export const NewPassword = Type.String({
  minLength: 1,
  maxLength: 1024,
  [PASSWORD_POLICY_CHECK.keyword]: true,
  description: '8 to 128 characters, not a common password, not the email address or username.',
})
const LoginName = Type.String({ minLength: 1, maxLength: 254, description: 'Username or email address.' })
const Scope = Type.String({
  maxLength: 1024,
  description: 'Space-separated scopes to ask for; narrowed to what the roles allow.',
})

export const SignupBody = Type.Object(
  {
    email: Email,
    password: NewPassword,
    username: Type.Optional(Username),
    full_name: Type.Optional(FullName),
  },
  { additionalProperties: false },
)
export type SignupBody = Static<typeof SignupBody>

export const LoginBody = Type.Object(
  { username: LoginName, password: Password, scope: Type.Optional(Scope) },
  { additionalProperties: false },
)
export type LoginBody = Static<typeof LoginBody>

export const RefreshBody = Type.Object(
  { refresh_token: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })) },
  { additionalProperties: false },
)
export type RefreshBody = Static<typeof RefreshBody>

/** RFC 6749 §4.3.2 and §6. Unknown parameters (e.g. a public `client_id`) are ignored (§3.2). */
export const TokenRequestBody = Type.Object(
  {
    grant_type: Type.String({ maxLength: 64, description: '`password` or `refresh_token`' }),
    username: Type.Optional(LoginName),
    password: Type.Optional(Password),
    scope: Type.Optional(Scope),
    refresh_token: Type.Optional(Type.String({ maxLength: 1024 })),
  },
  { additionalProperties: true },
)
export type TokenRequestBody = Static<typeof TokenRequestBody>

export const TokenResponse = Type.Object(
  {
    access_token: Type.String(),
    token_type: Type.Literal('bearer'),
    expires_in: Type.Integer({ description: 'Seconds until the access token expires.' }),
    refresh_token: Type.String(),
    refresh_expires_in: Type.Integer({ description: 'Seconds until the refresh token expires.' }),
    scope: Type.String(),
  },
  { $id: 'TokenResponse', title: 'TokenResponse' },
)
export type TokenResponse = Static<typeof TokenResponse>
export const TokenResponseRef = Type.Unsafe<TokenResponse>({ $ref: 'TokenResponse#' })

export const OAuthErrorResponse = Type.Object(
  {
    error: Type.Union([
      Type.Literal('invalid_request'),
      Type.Literal('invalid_grant'),
      Type.Literal('unsupported_grant_type'),
      Type.Literal('invalid_scope'),
      Type.Literal('server_error'),
      Type.Literal('temporarily_unavailable'),
    ]),
    error_description: Type.String(),
  },
  { title: 'OAuthError', description: 'RFC 6749 §5.2 error response.' },
)
