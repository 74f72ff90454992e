import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { Context } from '../../context.ts'
import { loginWithPassword } from '../../identity/login/login.ts'
import { sendTokens } from '../../identity/sessions/cookie.ts'
import { TokenResponseRef } from '../../identity/tokens/token-response.ts'
import { crossSiteGuard } from '../../platform/http/cross-site.ts'
import { originOf } from '../../platform/http/request-context.ts'
import { BODY_ERRORS, SMALL_BODY_LIMIT_BYTES, errorResponses } from '../../platform/http/schemas.ts'
import { sendsForm } from '../../platform/http/validation.ts'
import { LoginBody } from './schemas.ts'

export function loginRoutes(ctx: Context): FastifyPluginAsyncTypebox {
  // The contract's "Browser requests": a form login sent from another site is refused (login CSRF).
  const refuseCrossSite = crossSiteGuard(ctx.config)
  return async (app) => {
    app.post(
      '/login',
      {
        bodyLimit: SMALL_BODY_LIMIT_BYTES,
        // Counted first: a refused cross-site form spends the address's budget like any attempt.
        onRequest: refuseCrossSite(sendsForm),
        config: { limit: 'login', bodyTypes: ['json', 'form'] },
        schema: {
          tags: ['auth'],
          summary: 'Log in with a username or email and a password',
          description:
            'JSON or form body. Also sets the refresh token as the `gatehouse_refresh` cookie. ' +
            'A form body sent by a browser from another site (`Sec-Fetch-Site: cross-site`, or an `Origin` ' +
            "other than the service's own, `PUBLIC_URL`'s or one in `CORS_ORIGINS`; `Origin: null` always) " +
            'is refused with `403 FORBIDDEN` before the body is read (login CSRF).',
          body: LoginBody,
          response: {
            200: TokenResponseRef,
            ...errorResponses(
              ...BODY_ERRORS,
              'INVALID_CREDENTIALS',
              'FORBIDDEN',
              'ACCOUNT_DISABLED',
              'EMAIL_NOT_VERIFIED',
              'RATE_LIMITED',
              'UNAVAILABLE',
            ),
          },
        },
      },
      async (request, reply) =>
        sendTokens(reply, await loginWithPassword(ctx, request.body, originOf(request)), true),
    )
  }
}
