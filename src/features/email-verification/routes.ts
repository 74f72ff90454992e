import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { Context } from '../../context.ts'
import { principalOf } from '../../identity/guard/principal.ts'
import { requireAuth } from '../../identity/guard/route-guards.ts'
import { originOf } from '../../platform/http/request-context.ts'
import {
  ACCEPTED,
  BODY_ERRORS,
  NO_CONTENT,
  SMALL_BODY_LIMIT_BYTES,
  errorResponses,
} from '../../platform/http/schemas.ts'
import { VerifyEmailBody } from './schemas.ts'
import { requestEmailVerification, verifyEmail } from './service.ts'

/**
 * Proving the address: a mail with a single-use link (limited like every route that sends mail,
 * see `RateLimits` and `LINK_MAILS_PER_ACCOUNT`), then the link's token, with no bearer token needed.
 */
export function emailVerificationRoutes(ctx: Context): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      '/request',
      {
        config: { limit: 'mail', guard: requireAuth },
        schema: {
          tags: ['account'],
          summary: 'Mail a link that verifies your email address',
          description:
            '`202` with an empty body. The link (`PUBLIC_URL/verify-email?token=…`) is single-use and valid for ' +
            '`EMAIL_VERIFICATION_TTL` (24 hours by default). An address that is already verified gets no mail. ' +
            'An account gets at most 3 verification mails an hour and 10 a day (those mailed after a login ' +
            'refused by `REQUIRE_VERIFIED_EMAIL` included): beyond that nothing is mailed (the links already ' +
            'mailed still work) and the answer is the same `202`.',
          response: { ...ACCEPTED, ...errorResponses('RATE_LIMITED') },
        },
      },
      async (request, reply) => {
        await requestEmailVerification(ctx, principalOf(request).userId, originOf(request))
        return reply.code(202).send(undefined)
      },
    )

    app.post(
      '',
      {
        bodyLimit: SMALL_BODY_LIMIT_BYTES,
        schema: {
          tags: ['account'],
          summary: 'Verify your email address with the token from the mail',
          description:
            'Sets `email_verified`. No bearer token is needed: the token proves the mail arrived, and the link is ' +
            'often opened on another device. A token that is unknown, expired or already used is a ' +
            '`422 VALIDATION_ERROR` naming `token`.',
          body: VerifyEmailBody,
          response: { ...NO_CONTENT, ...errorResponses(...BODY_ERRORS) },
        },
      },
      async (request, reply) => {
        await verifyEmail(ctx, request.body.token, originOf(request))
        return reply.code(204).send(null)
      },
    )
  }
}
