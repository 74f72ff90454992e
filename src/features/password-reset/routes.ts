import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { principalOf, type Guards } from '../../identity/guard/guard.ts'
import { originOf } from '../../platform/http/request-context.ts'
import {
  BEARER_ERRORS,
  BEARER_SECURITY,
  BODY_ERRORS,
  SMALL_BODY_LIMIT_BYTES,
  errorResponses,
} from '../../platform/http/schemas.ts'
import type { Context } from '../../context.ts'
import { requestEmailVerification, verifyEmail } from '../email-verification/service.ts'
import { changePassword, requestPasswordReset, resetPassword } from './service.ts'
import { ChangePasswordBody, ForgotPasswordBody, ResetPasswordBody, VerifyEmailBody } from './schemas.ts'

const NO_CONTENT = { 204: Type.Null({ description: 'Done.' }) }
/** `202` with no body at all (no `null`, no content type): there is nothing to say. */
const ACCEPTED = {
  // `type: 'null'` keeps the OpenAPI response free of content; `undefined` is what the handler sends.
  202: Type.Unsafe<undefined>({ type: 'null', description: 'Accepted; any mail is sent in the background.' }),
}

/**
 * The account lifecycle after signup:
 *
 * | route | guard | sends mail |
 * |---|---|---|
 * | `POST /me/password` | bearer | no |
 * | `POST /auth/password/forgot` | — | yes (to an active account only) |
 * | `POST /auth/password/reset` | the token from the mail | no |
 * | `POST /auth/email/verify/request` | bearer | yes (unless already verified) |
 * | `POST /auth/email/verify` | the token from the mail | no |
 *
 * The two routes that send mail are limited to `MAIL_RATE_LIMIT` per client address, counted before
 * the body is read, to a budget for the whole service (see `RateLimits`), and each account to a
 * budget of mails of each kind (`LINK_MAILS_PER_ACCOUNT`).
 */
export function accountRoutes(ctx: Context, guards: Guards): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      '/me/password',
      {
        bodyLimit: SMALL_BODY_LIMIT_BYTES,
        onRequest: guards.requireAuth,
        schema: {
          tags: ['users'],
          summary: 'Change your password',
          description:
            'Needs the current password. A wrong `current_password` is a `422 VALIDATION_ERROR` naming that ' +
            'field (the bearer token is fine, so not a 401); a new password that breaks the policy is a `422` ' +
            'naming `new_password`. Every other session of the user ends; this one stays. Unused ' +
            'password-reset links stop working. Checking the current password is limited like a login ' +
            '(`LOGIN_RATE_LIMIT` a minute per user; a wrong one counts as a failed login of the account from ' +
            'this network, and a blocked account is a `429`); the 5th wrong current password in a row ends ' +
            'this session.',
          security: BEARER_SECURITY,
          body: ChangePasswordBody,
          response: {
            ...NO_CONTENT,
            ...errorResponses(...BEARER_ERRORS, ...BODY_ERRORS, 'RATE_LIMITED', 'UNAVAILABLE'),
          },
        },
      },
      async (request, reply) => {
        await changePassword(ctx, principalOf(request), request.body, originOf(request))
        return reply.code(204).send(null)
      },
    )

    app.post(
      '/auth/password/forgot',
      {
        bodyLimit: SMALL_BODY_LIMIT_BYTES,
        onRequest: ctx.limits.byAddress('mail'),
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
      '/auth/password/reset',
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

    app.post(
      '/auth/email/verify/request',
      {
        onRequest: [ctx.limits.byAddress('mail'), guards.requireAuth],
        schema: {
          tags: ['account'],
          summary: 'Mail a link that verifies your email address',
          description:
            '`202` with an empty body. The link (`PUBLIC_URL/verify-email?token=…`) is single-use and valid for ' +
            '`EMAIL_VERIFICATION_TTL` (24 hours by default). An address that is already verified gets no mail. ' +
            'An account gets at most 3 verification mails an hour and 10 a day (those mailed after a login ' +
            'refused by `REQUIRE_VERIFIED_EMAIL` included): beyond that nothing is mailed (the links already ' +
            'mailed still work) and the answer is the same `202`.',
          security: BEARER_SECURITY,
          response: { ...ACCEPTED, ...errorResponses(...BEARER_ERRORS, 'RATE_LIMITED') },
        },
      },
      async (request, reply) => {
        await requestEmailVerification(ctx, principalOf(request).userId, originOf(request))
        return reply.code(202).send(undefined)
      },
    )

    app.post(
      '/auth/email/verify',
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
