import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { principalOf, type Guards } from '../../identity/guard/guard.ts'
import {
  BEARER_ERRORS,
  BEARER_SECURITY,
  BODY_ERRORS,
  SMALL_BODY_LIMIT_BYTES,
  errorResponses,
} from '../../platform/http/schemas.ts'
import { originOf } from '../../platform/http/request-context.ts'
import type { Context } from '../../context.ts'
import { UpdateMeBody, UserRef } from '../../identity/users/schemas.ts'
import { getUser, updateProfile } from './service.ts'

export function userRoutes(ctx: Context, guards: Guards): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/me',
      {
        onRequest: guards.requireAuth,
        schema: {
          tags: ['users'],
          summary: 'The authenticated user',
          security: BEARER_SECURITY,
          response: { 200: UserRef, ...errorResponses(...BEARER_ERRORS) },
        },
      },
      async (request) => getUser(ctx, principalOf(request).userId),
    )

    app.patch(
      '/me',
      {
        bodyLimit: SMALL_BODY_LIMIT_BYTES,
        onRequest: guards.requireAuth,
        schema: {
          tags: ['users'],
          summary: 'Change your name or username',
          security: BEARER_SECURITY,
          body: UpdateMeBody,
          response: { 200: UserRef, ...errorResponses(...BEARER_ERRORS, ...BODY_ERRORS, 'ACCOUNT_EXISTS') },
        },
      },
      async (request) => updateProfile(ctx, principalOf(request).userId, request.body, originOf(request)),
    )
  }
}
