import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { principalOf, type Guards } from '../../identity/guard/guard.ts'
import { notFound } from '../../platform/http/errors.ts'
import { originOf } from '../../platform/http/request-context.ts'
import { BEARER_ERRORS, BEARER_SECURITY, errorResponses } from '../../platform/http/schemas.ts'
import type { Context } from '../../context.ts'
import { clearRefreshCookie } from '../../identity/sessions/cookie.ts'
import { SessionIdParams, SessionView } from './schemas.ts'
import { endSessions, listActiveSessions } from '../../identity/sessions/sessions.ts'

const NO_CONTENT = { 204: Type.Null({ description: 'Done.' }) }

export function sessionRoutes(ctx: Context, guards: Guards): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      '/auth/logout',
      {
        onRequest: guards.requireAuth,
        schema: {
          tags: ['sessions'],
          summary: 'End this session',
          description:
            "The session's refresh tokens and access tokens stop working at once; the refresh cookie is cleared.",
          security: BEARER_SECURITY,
          response: { ...NO_CONTENT, ...errorResponses(...BEARER_ERRORS) },
        },
      },
      async (request, reply) => {
        const { userId, sessionId } = principalOf(request)
        await endSessions(ctx, userId, { only: [sessionId] }, 'logout', originOf(request))
        clearRefreshCookie(reply)
        return reply.code(204).send(null)
      },
    )

    app.post(
      '/auth/logout-all',
      {
        onRequest: guards.requireAuth,
        schema: {
          tags: ['sessions'],
          summary: 'End every session of this user',
          security: BEARER_SECURITY,
          response: { ...NO_CONTENT, ...errorResponses(...BEARER_ERRORS) },
        },
      },
      async (request, reply) => {
        await endSessions(ctx, principalOf(request).userId, {}, 'logout_all', originOf(request))
        clearRefreshCookie(reply)
        return reply.code(204).send(null)
      },
    )

    app.get(
      '/auth/sessions',
      {
        onRequest: guards.requireAuth,
        schema: {
          tags: ['sessions'],
          summary: 'Sessions of this user that can still be refreshed',
          security: BEARER_SECURITY,
          response: { 200: Type.Array(SessionView), ...errorResponses(...BEARER_ERRORS) },
        },
      },
      async (request) => {
        const { userId, sessionId } = principalOf(request)
        const sessions = await listActiveSessions(ctx, userId)
        return sessions.map((session) => ({ ...session, current: session.id === sessionId }))
      },
    )

    app.delete(
      '/auth/sessions/:id',
      {
        onRequest: guards.requireAuth,
        schema: {
          tags: ['sessions'],
          summary: 'End one of your sessions',
          description: "`404` for a session that is not the caller's or has already ended.",
          security: BEARER_SECURITY,
          params: SessionIdParams,
          response: { ...NO_CONTENT, ...errorResponses(...BEARER_ERRORS, 'NOT_FOUND', 'VALIDATION_ERROR') },
        },
      },
      async (request, reply) => {
        const { userId } = principalOf(request)
        const ended = await endSessions(
          ctx,
          userId,
          { only: [request.params.id] },
          'session_deleted',
          originOf(request),
        )
        if (ended.length === 0) throw notFound('session')
        return reply.code(204).send(null)
      },
    )
  }
}
