import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import type { Context } from '../../context.ts'
import { sessionOf } from '../../identity/guard/principal.ts'
import { requireSession } from '../../identity/guard/route-guards.ts'
import {
  clearRefreshCookie,
  refreshCookieOf,
  refreshesWithCookie,
  sendTokens,
} from '../../identity/sessions/cookie.ts'
import { endSessions } from '../../identity/sessions/ending.ts'
import { refreshWithToken } from '../../identity/sessions/refresh.ts'
import { listActiveSessions } from '../../identity/sessions/store.ts'
import { TokenResponseRef } from '../../identity/tokens/token-response.ts'
import { isoAt } from '../../platform/clock.ts'
import { crossSiteGuard } from '../../platform/http/cross-site.ts'
import { notFound, invalidRefreshToken } from '../../platform/http/errors.ts'
import { originOf } from '../../platform/http/request-context.ts'
import {
  errorResponses,
  BODY_ERRORS,
  SMALL_BODY_LIMIT_BYTES,
  NO_CONTENT,
} from '../../platform/http/schemas.ts'
import { SessionIdParams, SessionView, RefreshBody } from './schemas.ts'

export function sessionRoutes(ctx: Context): FastifyPluginAsyncTypebox {
  // The contract's "Browser requests": a cookie refresh sent from another site is refused (CSRF).
  const refuseCrossSite = crossSiteGuard(ctx.config)
  return async (app) => {
    app.post(
      '/refresh',
      {
        bodyLimit: SMALL_BODY_LIMIT_BYTES,
        config: { bodyOptional: true },
        preHandler: refuseCrossSite(refreshesWithCookie),
        schema: {
          tags: ['auth'],
          summary: 'Exchange a refresh token for new tokens (rotation)',
          description:
            'The refresh token comes from the JSON body or, when the body has none, from the `gatehouse_refresh` ' +
            'cookie: then the body may be `{}` or left out (no body, with no `Content-Type` or with ' +
            '`application/json`). A cookie refresh sent by a browser from another site (`Sec-Fetch-Site: ' +
            "cross-site`, or an `Origin` other than the service's own, `PUBLIC_URL`'s or one in `CORS_ORIGINS`; " +
            '`Origin: null` always) is refused with `403 FORBIDDEN` (CSRF); a form or text body, even an empty ' +
            'one, is a `415`. The presented token is retired; see the README. Presented again within ' +
            '`REFRESH_REUSE_GRACE` of its rotation, it returns the same successor refresh token (with a fresh ' +
            'access token); presented later, it ends the session (401).',
          body: RefreshBody,
          response: {
            200: TokenResponseRef,
            ...errorResponses(
              ...BODY_ERRORS,
              'INVALID_REFRESH_TOKEN',
              'FORBIDDEN',
              'ACCOUNT_DISABLED',
              'RATE_LIMITED',
            ),
          },
        },
      },
      async (request, reply) => {
        const presented = request.body.refresh_token ?? refreshCookieOf(request)
        if (presented === undefined) throw invalidRefreshToken()
        return sendTokens(reply, await refreshWithToken(ctx, presented, originOf(request)), true)
      },
    )

    app.post(
      '/logout',
      {
        config: { guard: requireSession },
        schema: {
          tags: ['sessions'],
          summary: 'End this session',
          description:
            "The session's refresh tokens and access tokens stop working at once; the refresh cookie is cleared.",
          response: { ...NO_CONTENT },
        },
      },
      async (request, reply) => {
        const { userId, sessionId } = sessionOf(request)
        await endSessions(ctx, userId, { only: [sessionId] }, 'logout', originOf(request))
        clearRefreshCookie(reply)
        return reply.code(204).send(null)
      },
    )

    app.post(
      '/logout-all',
      {
        config: { guard: requireSession },
        schema: {
          tags: ['sessions'],
          summary: 'End every session of this user',
          response: { ...NO_CONTENT },
        },
      },
      async (request, reply) => {
        await endSessions(ctx, sessionOf(request).userId, {}, 'logout_all', originOf(request))
        clearRefreshCookie(reply)
        return reply.code(204).send(null)
      },
    )

    app.get(
      '/sessions',
      {
        config: { guard: requireSession },
        schema: {
          tags: ['sessions'],
          summary: 'Sessions of this user that can still be refreshed',
          response: { 200: Type.Array(SessionView) },
        },
      },
      async (request) => {
        const { userId, sessionId } = sessionOf(request)
        const sessions = await listActiveSessions(ctx.db, userId, isoAt(ctx.clock.now()))
        return sessions.map((session) => ({
          id: session.id,
          created_at: session.createdAt,
          last_used_at: session.lastUsedAt,
          expires_at: session.expiresAt,
          user_agent: session.userAgent,
          ip: session.ip,
          current: session.id === sessionId,
        }))
      },
    )

    app.delete(
      '/sessions/:id',
      {
        config: { guard: requireSession },
        schema: {
          tags: ['sessions'],
          summary: 'End one of your sessions',
          description: "`404` for a session that is not the caller's or has already ended.",
          params: SessionIdParams,
          response: { ...NO_CONTENT, ...errorResponses('NOT_FOUND', 'VALIDATION_ERROR') },
        },
      },
      async (request, reply) => {
        const { userId } = sessionOf(request)
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
