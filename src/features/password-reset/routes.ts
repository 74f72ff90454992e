import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { Context } from '../../context.ts'
import { originOf } from '../../platform/http/request-context.ts'
import {
  ACCEPTED,
  BODY_ERRORS,
  NO_CONTENT,
  SMALL_BODY_LIMIT_BYTES,
  errorResponses,
} from '../../platform/http/schemas.ts'
import { ForgotPasswordBody, ResetPasswordBody } from './schemas.ts'
import { requestPasswordReset, resetPassword } from './service.ts'

/**
 * A forgotten password: a mail with a single-use link (to an active account only), then the new
 * password with the link's token. The mail route is limited to `MAIL_RATE_LIMIT` per client
 * address, counted before the body is read, to a budget for the whole service (see `RateLimits`),
 * and each account to a budget of mails (`LINK_MAILS_PER_ACCOUNT`).
 */
export function passwordResetRoutes(ctx: Context): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      '/forgot',
      {
        bodyLimit: SMALL_BODY_LIMIT_BYTES,
        config: { limit: 'mail' },
        schema: {
          tags: ['account'],
          summary: 'Mail a password-reset link',
          description:
            'Always `202` with an empty body, in the same time, whether or not an active account has this ' +
            'address: the answer tells nothing about which addresses are registered. An account gets a mail with ' +
            'a single-use link to `PUBLIC_URL/reset-password?token=…`, valid for `PASSWORD_RESET_TTL` ' +
            '(30 minutes by default), at most 3 an hour and 10 a day: beyond that nothing is mailed (the links ' +
            'already mailed still work) and the answer is the same `202`.',
          body: ForgotPasswordBody,
          response: { ...ACCEPTED, ...errorResponses(...BODY_ERRORS, 'RATE_LIMITED') },
        },
      },
      async (request, reply) => {
        await requestPasswordReset(ctx, request.body.email, originOf(request))
        return reply.code(202).send(undefined)
      },
    )

    app.post(
      '/reset',
      {
        bodyLimit: SMALL_BODY_LIMIT_BYTES,
        schema: {
          tags: ['account'],
          summary: 'Set a new password with the token from a reset mail',
          description:
            'A token that is unknown, expired or already used is a `422 VALIDATION_ERROR` naming `token`. A new ' +
            'password that breaks the policy is a `422` naming `new_password`, and the token stays usable. On ' +
            'success the token is spent, every session of the user ends, and the email address counts as ' +
            'verified (the mail reached it).',
          body: ResetPasswordBody,
          response: { ...NO_CONTENT, ...errorResponses(...BODY_ERRORS, 'UNAVAILABLE') },
        },
      },
      async (request, reply) => {
        await resetPassword(ctx, request.body, originOf(request))
        return reply.code(204).send(null)
      },
    )
  }
}
