import { Type, type Static } from 'typebox'
import { LoginName, Password, Scope } from '../../identity/login/schemas.ts'
import { OAUTH_ERROR_CODES } from '../../platform/http/errors.ts'

/** RFC 6749 §2.3.1 and RFC 7523 §2.2: how a client may prove itself in the body. */
const ClientAuthenticationFields = {
  client_id: Type.Optional(Type.String({ maxLength: 255 })),
  client_secret: Type.Optional(Type.String({ maxLength: 255 })),
  client_assertion_type: Type.Optional(Type.String({ maxLength: 255 })),
  client_assertion: Type.Optional(Type.String({ maxLength: 8192 })),
}

/**
 * RFC 6749 §4.3.2, §4.4.2 and §6. Unknown parameters are ignored (§3.2); a parameter sent twice
 * is `invalid_request` (§3.1), as the schema sees a list where it expects one string.
 */
export const TokenRequestBody = Type.Object(
  {
    grant_type: Type.String({
      maxLength: 64,
      description: '`password`, `refresh_token` or `client_credentials`',
    }),
    username: Type.Optional(LoginName),
    password: Type.Optional(Password),
    scope: Type.Optional(Scope),
    refresh_token: Type.Optional(Type.String({ maxLength: 1024 })),
    ...ClientAuthenticationFields,
  },
  { additionalProperties: true },
)
export type TokenRequestBody = Static<typeof TokenRequestBody>

/** RFC 6749 §4.4.3: a client's own token, without a refresh token. */
export const ClientTokenResponse = Type.Object(
  {
    access_token: Type.String(),
    token_type: Type.Literal('bearer'),
    expires_in: Type.Integer({ description: 'Seconds until the access token expires.' }),
    scope: Type.String(),
  },
  { title: 'ClientTokenResponse' },
)
export type ClientTokenResponse = Static<typeof ClientTokenResponse>

const TokenParameter = Type.String({ minLength: 1, maxLength: 8192 })
const TokenTypeHint = Type.Optional(
  Type.String({
    maxLength: 64,
    description:
      '`access_token`, `refresh_token` or `personal_access_token`; a hint only — every kind is recognised without it.',
  }),
)

/** RFC 7662 §2.1. */
export const IntrospectionRequestBody = Type.Object(
  { token: TokenParameter, token_type_hint: TokenTypeHint, ...ClientAuthenticationFields },
  { additionalProperties: true },
)
export type IntrospectionRequestBody = Static<typeof IntrospectionRequestBody>

/** RFC 7009 §2.1. */
export const RevocationRequestBody = IntrospectionRequestBody
export type RevocationRequestBody = IntrospectionRequestBody

/** RFC 7662 §2.2: only `active` for a token that is not live, whatever the reason. */
export const IntrospectionResponse = Type.Object(
  {
    active: Type.Boolean(),
    token_type: Type.Optional(
      Type.Union([Type.Literal('bearer'), Type.Literal('refresh_token')], {
        description:
          '`bearer` for access tokens and personal access tokens, `refresh_token` for refresh tokens.',
      }),
    ),
    scope: Type.Optional(Type.String()),
    client_id: Type.Optional(
      Type.String({ description: '`gatehouse` for user tokens, else the machine client.' }),
    ),
    sub: Type.Optional(Type.String()),
    username: Type.Optional(Type.String()),
    exp: Type.Optional(Type.Integer()),
    iat: Type.Optional(Type.Integer()),
    iss: Type.Optional(Type.String()),
    aud: Type.Optional(Type.String()),
    jti: Type.Optional(
      Type.String({ description: "The access token's `jti`, or a personal access token's id." }),
    ),
    sid: Type.Optional(Type.String({ description: 'The session of a user access token or refresh token.' })),
  },
  { title: 'IntrospectionResponse' },
)
export type IntrospectionResponse = Static<typeof IntrospectionResponse>

export const OAuthErrorResponse = Type.Object(
  {
    error: Type.Union(OAUTH_ERROR_CODES.map((code) => Type.Literal(code))),
    error_description: Type.String(),
  },
  { title: 'OAuthError', description: 'RFC 6749 §5.2 error response.' },
)
