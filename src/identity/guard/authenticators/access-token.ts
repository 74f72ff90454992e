import type { AccessTokens } from '../../tokens/access-tokens.ts'
import type { Authenticator } from './authenticator.ts'

/** A Gatehouse access token (JWT): valid, unexpired and not revoked. */
export function accessTokenAuthenticator(accessTokens: AccessTokens): Authenticator {
  return {
    recognizes: () => true,
    async authenticate(token) {
      const claims = await accessTokens.verify(token)
      return {
        userId: claims.sub,
        sessionId: claims.sid,
        tokenId: claims.jti,
        roles: claims.roles,
        scopes: new Set(claims.scope.split(' ').filter((scope) => scope !== '')),
        expiresAt: claims.exp,
      }
    },
  }
}
