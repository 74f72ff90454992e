import { Type, type Static } from 'typebox'
import type { Config } from '../../platform/config/config.ts'
import type { AccessTokens } from './access-tokens.ts'
import { narrowScopes } from './scopes.ts'

/** A refresh token just handed out, and the session it belongs to. */
export interface IssuedRefreshToken {
  userId: string
  sessionId: string
  /** The scope granted when the session started. */
  scope: string
  refreshToken: string
  refreshExpiresInSeconds: number
  /** When the session's login happened (seconds since the epoch), and how the user proved it. */
  authTime: number
  amr: readonly string[]
  acr: string
}

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

/**
 * The tokens of a session's new refresh token: an access token with the user's current roles and
 * the session's scope, narrowed to what those roles allow today.
 */
export async function tokenResponse(
  ctx: { config: Pick<Config, 'roleScopes'>; accessTokens: AccessTokens },
  roles: string[],
  session: IssuedRefreshToken,
): Promise<TokenResponse> {
  const scope = narrowScopes(ctx.config.roleScopes, roles, session.scope)
  const accessToken = await ctx.accessTokens.issue({
    userId: session.userId,
    sessionId: session.sessionId,
    roles,
    scope,
    authTime: session.authTime,
    amr: session.amr,
    acr: session.acr,
  })
  return {
    access_token: accessToken,
    token_type: 'bearer',
    expires_in: ctx.accessTokens.ttlSeconds,
    refresh_token: session.refreshToken,
    refresh_expires_in: session.refreshExpiresInSeconds,
    scope,
  }
}
