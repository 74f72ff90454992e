import { authenticateClient, presentedClient } from '../../../identity/clients/authentication.ts'
import { splitScopes } from '../../../identity/tokens/scopes.ts'
import { OAuthError, invalidClient } from '../../../platform/http/errors.ts'
import type { Grant } from './grant.ts'

/**
 * RFC 6749 §4.4: a registered client gets a token of its own — `sub` the client, no session, no
 * refresh token (§4.4.3). Asking for a scope the client may not have is `invalid_scope`; asking
 * for none grants every scope it may have.
 */
export const clientCredentialsGrant: Grant = {
  type: 'client_credentials',
  async exchange(ctx, { body, authorization }, origin) {
    const presented = presentedClient(authorization, body)
    if (!presented) throw invalidClient(false)
    const client = await authenticateClient(ctx, presented, origin.ip)
    const requested = splitScopes(body.scope)
    const refused = requested.filter((scope) => !client.scopes.includes(scope))
    if (refused.length > 0)
      throw new OAuthError('invalid_scope', `The client may not have: ${refused.join(' ')}.`)
    const scope = (requested.length > 0 ? [...new Set(requested)] : client.scopes).join(' ')
    return {
      access_token: await ctx.accessTokens.issueForClient({ clientId: client.id, scope }),
      token_type: 'bearer',
      expires_in: ctx.accessTokens.ttlSeconds,
      scope,
    }
  },
}
