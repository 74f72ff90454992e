import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { Context } from '../../context.ts'
import { UserRef } from '../../identity/users/schemas.ts'
import { originOf } from '../../platform/http/request-context.ts'
import { BODY_ERRORS, SMALL_BODY_LIMIT_BYTES, errorResponses } from '../../platform/http/schemas.ts'
import { SignupBody } from './schemas.ts'
import { signup } from './service.ts'

export function signupRoutes(ctx: Context): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      '/signup',
      {
        bodyLimit: SMALL_BODY_LIMIT_BYTES,
        config: { limit: 'signup' },
        schema: {
          tags: ['auth'],
          summary: 'Create an account',
          body: SignupBody,
          response: {
            201: UserRef,
            ...errorResponses(...BODY_ERRORS, 'ACCOUNT_EXISTS', 'RATE_LIMITED', 'UNAVAILABLE'),
          },
        },
      },
      async (request, reply) => reply.code(201).send(await signup(ctx, request.body, originOf(request))),
    )
  }
}
