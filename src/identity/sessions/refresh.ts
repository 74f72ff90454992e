import { accountDisabled, invalidRefreshToken } from '../../platform/http/errors.ts'
import { type RequestOrigin } from '../../platform/http/request-context.ts'
import type { AccessTokens } from '../tokens/access-tokens.ts'
import { tokenResponse, type TokenResponse } from '../tokens/token-response.ts'
import { findUserById } from '../users/store.ts'
import { rotateRefreshToken, type SessionDeps } from './rotation.ts'

/**
 * The refresh behind `/auth/refresh` and the refresh_token grant: rotates the refresh token and
 * issues a new access token with the user's current roles and the session's scope, narrowed to them.
 */
export async function refreshWithToken(
  ctx: SessionDeps & { accessTokens: AccessTokens },
  refreshToken: string,
  origin: RequestOrigin,
): Promise<TokenResponse> {
  const session = await rotateRefreshToken(ctx, refreshToken, origin)
  const user = await findUserById(ctx.db, session.userId)
  if (!user) throw invalidRefreshToken()
  if (user.disabled) throw accountDisabled()
  return tokenResponse(ctx, user.roles, session)
}
