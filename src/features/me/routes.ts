import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { Context } from '../../context.ts'
import { principalOf, sessionOf } from '../../identity/guard/principal.ts'
import { requireAuth, requireSession } from '../../identity/guard/route-guards.ts'
import { UserRef } from '../../identity/users/schemas.ts'
import { originOf } from '../../platform/http/request-context.ts'
import {
  BODY_ERRORS,
  SMALL_BODY_LIMIT_BYTES,
  errorResponses,
  NO_CONTENT,
} from '../../platform/http/schemas.ts'
import { changePassword } from './password.ts'
import { ChangePasswordBody, UpdateMeBody } from './schemas.ts'
import { getUser, updateProfile } from './service.ts'

export function meRoutes(ctx: Context): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '',
      {
        config: { guard: requireAuth },
        schema: {
          tags: ['users'],
          summary: 'The authenticated user',
          response: { 200: UserRef },
        },
      },
      async (request) => getUser(ctx, principalOf(request).userId),
    )

    app.patch(
      '',
      {
        bodyLimit: SMALL_BODY_LIMIT_BYTES,
        config: { guard: requireAuth },
        schema: {
          tags: ['users'],
          summary: 'Change your name or username',
          body: UpdateMeBody,
          response: { 200: UserRef, ...errorResponses(...BODY_ERRORS, 'ACCOUNT_EXISTS') },
        },
      },
      async (request) => updateProfile(ctx, principalOf(request).userId, request.body, originOf(request)),
    )

    app.post(
      '/password',
      {
        bodyLimit: SMALL_BODY_LIMIT_BYTES,
        config: { guard: requireSession },
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
          body: ChangePasswordBody,
          response: {
            ...NO_CONTENT,
            ...errorResponses(...BODY_ERRORS, 'RATE_LIMITED', 'UNAVAILABLE'),
          },
        },
      },
      async (request, reply) => {
        await changePassword(ctx, sessionOf(request), request.body, originOf(request))
        return reply.code(204).send(null)
      },
    )
  }
}
