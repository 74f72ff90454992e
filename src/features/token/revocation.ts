import type { Context } from '../../context.ts'
import { revokePersonalToken } from '../../identity/personal-access-tokens/revocation.ts'
import { endSessions } from '../../identity/sessions/ending.ts'
import { OAuthError } from '../../platform/http/errors.ts'
import { type RequestOrigin } from '../../platform/http/request-context.ts'
import { clientOf, inspectToken } from './inspection.ts'

type RevocationDeps = Pick<Context, 'db' | 'clock' | 'config' | 'accessTokens' | 'revocations'>

/**
 * RFC 7009 §2.1 for `clientId` (`gatehouse` when the caller did not authenticate): a user's access
 * or refresh token ends its session, a personal access token ends itself, a machine token is
 * revoked by its `jti` — each on every instance at once. A token that is not live is nothing to
 * revoke (§2.2: still a success); another client's is refused, and nothing is revoked.
 */
export async function revokeToken(
  ctx: RevocationDeps,
  clientId: string,
  token: string,
  origin: RequestOrigin,
): Promise<void> {
  const live = await inspectToken(ctx, token)
  if (!live) return
  if (clientOf(live) !== clientId)
    throw new OAuthError('unauthorized_client', 'The token was not issued to this client.')
  switch (live.kind) {
    case 'personal_access_token':
      await revokePersonalToken(ctx, live.userId, live.id, 'revocation_endpoint', origin)
      return
    case 'refresh_token':
      await endSessions(ctx, live.userId, { only: [live.sessionId] }, 'token_revoked', origin)
      return
    case 'access_token': {
      const { claims } = live
      if (claims.kind === 'user') {
        await endSessions(ctx, claims.sub, { only: [claims.sid] }, 'token_revoked', origin)
        return
      }
      const revocation = [{ kind: 'jti' as const, value: claims.jti }]
      await ctx.db.transaction().execute((trx) => ctx.revocations.persist(trx, revocation))
      await ctx.revocations.announce(revocation)
    }
  }
}
