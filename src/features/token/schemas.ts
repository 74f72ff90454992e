import { Type, type Static } from 'typebox'
import { LoginName, Password, Scope } from '../../identity/login/schemas.ts'
import { OAUTH_ERROR_CODES } from '../../platform/http/errors.ts'

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

export const OAuthErrorResponse = Type.Object(
  {
    error: Type.Union(OAUTH_ERROR_CODES.map((code) => Type.Literal(code))),
    error_description: Type.String(),
  },
  { title: 'OAuthError', description: 'RFC 6749 §5.2 error response.' },
)
