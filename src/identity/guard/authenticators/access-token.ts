import type { AccessTokens } from '../../tokens/access-tokens.ts'
import { scopeSet } from '../../tokens/scopes.ts'
import type { Authenticator } from './authenticator.ts'

/** A Gatehouse access token (JWT), a user's or a machine client's: valid, unexpired, not revoked. */
export function accessTokenAuthenticator(accessTokens: AccessTokens): Authenticator {
  return {
    recognizes: () => true,
    async authenticate(token) {
      const claims = await accessTokens.verify(token)
      const scopes = scopeSet(claims.scope)
      if (claims.kind === 'client') {
        return {
          kind: 'client',
          clientId: claims.client_id,
          tokenId: claims.jti,
          scopes,
          expiresAt: claims.exp,
        }
      }
      return {
        kind: 'session',
        userId: claims.sub,
        sessionId: claims.sid,
        tokenId: claims.jti,
        roles: claims.roles,
        scopes,
        expiresAt: claims.exp,
      }
    },
  }
}
