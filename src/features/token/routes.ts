import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { Context } from '../../context.ts'
import { sendTokens } from '../../identity/sessions/cookie.ts'
import { TokenResponseRef } from '../../identity/tokens/token-response.ts'
import { OAuthError } from '../../platform/http/errors.ts'
import { originOf } from '../../platform/http/request-context.ts'
import { SMALL_BODY_LIMIT_BYTES } from '../../platform/http/schemas.ts'
import { GRANTS } from './grants/index.ts'
import { OAuthErrorResponse, TokenRequestBody } from './schemas.ts'

export function tokenRoutes(ctx: Context): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      '/token',
      {
        bodyLimit: SMALL_BODY_LIMIT_BYTES,
        // Every request spends the address's token budget before its body is read; a password grant
        // spends its login budget as well (see passwordGrant).
        config: { limit: 'token', bodyTypes: ['form'], oauthErrors: true },
        schema: {
          tags: ['auth'],
          summary: 'OAuth 2.0 token endpoint (RFC 6749)',
          description:
            '`grant_type=password` (username, password, scope) or `grant_type=refresh_token`. Errors follow RFC 6749 §5.2.',
          body: TokenRequestBody,
          response: {
            200: TokenResponseRef,
            400: OAuthErrorResponse,
            413: OAuthErrorResponse,
            415: OAuthErrorResponse,
            429: OAuthErrorResponse,
            500: OAuthErrorResponse,
            503: OAuthErrorResponse,
          },
        },
      },
      async (request, reply) => {
        const grant = GRANTS.get(request.body.grant_type)
        if (!grant) throw new OAuthError('unsupported_grant_type', 'The grant type is not supported.')
        return sendTokens(reply, await grant.exchange(ctx, request.body, originOf(request)), false)
      },
    )
  }
}
