import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { Context } from '../../context.ts'
import { principalOf, sessionOf } from '../../identity/guard/principal.ts'
import { requireRole, requireSession } from '../../identity/guard/route-guards.ts'
import { originOf } from '../../platform/http/request-context.ts'
import {
  BODY_ERRORS,
  NO_CONTENT,
  SMALL_BODY_LIMIT_BYTES,
  errorResponses,
} from '../../platform/http/schemas.ts'
import {
  CreatedPersonalToken,
  PersonalTokenList,
  TokenIdParams,
  UserIdParams,
  UserTokenParams,
  createTokenBody,
} from './schemas.ts'
import { createToken, deleteToken, listTokens, listTokensOfUser } from './service.ts'

const tags = ['personal access tokens']

/**
 * `/me/tokens`: a user's own personal access tokens. Only an access token from a login manages
 * them — a personal access token cannot mint or list more of itself (403).
 */
export function personalTokenRoutes(ctx: Context): FastifyPluginAsyncTypebox {
  const CreateTokenBody = createTokenBody(ctx.config.patMaxTtlSeconds)
  return async (app) => {
    app.post(
      '',
      {
        bodyLimit: SMALL_BODY_LIMIT_BYTES,
        config: { guard: requireSession },
        schema: {
          tags,
          summary: 'Create a personal access token',
          description:
            'A long-lived credential for scripts and CI, used as `Authorization: Bearer gatehouse_pat_…` ' +
            'wherever an access token is. The token is in this response only. Its scope must be within the ' +
            'scope of the access token that asks and what your roles allow: a scope beyond that is refused ' +
            'with `422` naming `scope` rather than silently left out, since a script would otherwise find ' +
            'out only when it first needs it. At each use the scope is narrowed to what your roles allow ' +
            'then. At most 100 tokens per user. Changing or resetting your password does not end them: ' +
            'delete them here. It cannot manage the account (`/me/password`, `/me/tokens`, `/auth/logout…`, ' +
            '`/auth/sessions…` answer it `403`).',
          body: CreateTokenBody,
          response: { 201: CreatedPersonalToken, ...errorResponses(...BODY_ERRORS) },
        },
      },
      async (request, reply) => {
        const created = await createToken(ctx, sessionOf(request), request.body, originOf(request))
        return reply.code(201).header('cache-control', 'no-store').header('pragma', 'no-cache').send(created)
      },
    )

    app.get(
      '',
      {
        config: { guard: requireSession },
        schema: {
          tags,
          summary: 'Your personal access tokens',
          description: 'Newest first, expired ones too until they are pruned; never a token or its hash.',
          response: { 200: PersonalTokenList },
        },
      },
      async (request) => listTokens(ctx, sessionOf(request).userId),
    )

    app.delete(
      '/:id',
      {
        config: { guard: requireSession },
        schema: {
          tags,
          summary: 'Delete one of your personal access tokens',
          description: "It stops working at once on every instance. `404` if it is not the caller's.",
          params: TokenIdParams,
          response: { ...NO_CONTENT, ...errorResponses('NOT_FOUND', 'VALIDATION_ERROR') },
        },
      },
      async (request, reply) => {
        const { userId } = sessionOf(request)
        await deleteToken(ctx, userId, userId, request.params.id, originOf(request))
        return reply.code(204).send(null)
      },
    )
  }
}

/** `/admin/users/{id}/tokens`: an admin sees and deletes any user's personal access tokens. */
export function adminPersonalTokenRoutes(ctx: Context): FastifyPluginAsyncTypebox {
  const adminOnly = { guard: requireRole('admin', { scope: 'admin' }) }
  return async (app) => {
    app.get(
      '/:id/tokens',
      {
        config: adminOnly,
        schema: {
          tags: ['admin'],
          summary: "A user's personal access tokens",
          description: 'Newest first; never a token or its hash. `404` for an unknown user.',
          params: UserIdParams,
          response: { 200: PersonalTokenList, ...errorResponses('NOT_FOUND', 'VALIDATION_ERROR') },
        },
      },
      async (request) => listTokensOfUser(ctx, request.params.id),
    )

    app.delete(
      '/:id/tokens/:token_id',
      {
        config: adminOnly,
        schema: {
          tags: ['admin'],
          summary: "Delete a user's personal access token",
          description: "It stops working at once on every instance. `404` unless it is that user's.",
          params: UserTokenParams,
          response: { ...NO_CONTENT, ...errorResponses('NOT_FOUND', 'VALIDATION_ERROR') },
        },
      },
      async (request, reply) => {
        const { id, token_id: tokenId } = request.params
        await deleteToken(ctx, principalOf(request).userId, id, tokenId, originOf(request))
        return reply.code(204).send(null)
      },
    )
  }
}
