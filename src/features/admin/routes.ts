import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import type { Context } from '../../context.ts'
import { listAuditEvents } from '../../identity/audit/audit-log.ts'
import { principalOf } from '../../identity/guard/principal.ts'
import { requireRole } from '../../identity/guard/route-guards.ts'
import { UserRef } from '../../identity/users/schemas.ts'
import { DEFAULT_PAGE_SIZE } from '../../platform/http/pagination.ts'
import { originOf } from '../../platform/http/request-context.ts'
import { BODY_ERRORS, SMALL_BODY_LIMIT_BYTES, errorResponses } from '../../platform/http/schemas.ts'
import {
  AdminUpdateUserBody,
  AuditPage,
  AuditQuery,
  SearchUsersQuery,
  Stats,
  UserIdParams,
  UserPage,
} from './schemas.ts'
import { deleteUserAsAdmin, getUserById, listUsers, stats, updateUserAsAdmin } from './service.ts'

/**
 * Every route here needs the admin role — checked on the token and on the user's current record —
 * and the admin scope.
 */
export function adminRoutes(ctx: Context): FastifyPluginAsyncTypebox {
  const adminOnly = { guard: requireRole('admin', { scope: 'admin' }) }
  const common = { tags: ['admin'] }
  const denied = errorResponses('VALIDATION_ERROR')

  return async (app) => {
    app.get(
      '/users',
      {
        config: adminOnly,
        schema: {
          ...common,
          summary: 'Search users',
          querystring: SearchUsersQuery,
          response: { 200: UserPage, ...denied },
        },
      },
      async (request) => {
        const { q, limit = DEFAULT_PAGE_SIZE, cursor } = request.query
        return listUsers(ctx, q, limit, cursor)
      },
    )

    app.get(
      '/users/:id',
      {
        config: adminOnly,
        schema: {
          ...common,
          summary: 'One user',
          params: UserIdParams,
          response: { 200: UserRef, ...denied, ...errorResponses('NOT_FOUND') },
        },
      },
      async (request) => getUserById(ctx, request.params.id),
    )

    app.patch(
      '/users/:id',
      {
        bodyLimit: SMALL_BODY_LIMIT_BYTES,
        config: adminOnly,
        schema: {
          ...common,
          summary: 'Change roles, disable or enable, or rename a user',
          description:
            'Disabling ends every session of the user at once. Admins cannot disable or demote themselves.',
          params: UserIdParams,
          body: AdminUpdateUserBody,
          response: { 200: UserRef, ...denied, ...errorResponses(...BODY_ERRORS, 'NOT_FOUND') },
        },
      },
      async (request) =>
        updateUserAsAdmin(
          ctx,
          principalOf(request).userId,
          request.params.id,
          request.body,
          originOf(request),
        ),
    )

    app.delete(
      '/users/:id',
      {
        config: adminOnly,
        schema: {
          ...common,
          summary: 'Delete a user, their sessions and their todos',
          params: UserIdParams,
          response: {
            204: Type.Null({ description: 'Deleted.' }),
            ...denied,
            ...errorResponses('NOT_FOUND'),
          },
        },
      },
      async (request, reply) => {
        await deleteUserAsAdmin(ctx, principalOf(request).userId, request.params.id, originOf(request))
        return reply.code(204).send(null)
      },
    )

    app.get(
      '/stats',
      {
        config: adminOnly,
        schema: {
          ...common,
          summary: 'Counts of users, live sessions and logins',
          response: { 200: Stats, ...denied },
        },
      },
      async () => stats(ctx),
    )

    app.get(
      '/audit',
      {
        config: adminOnly,
        schema: {
          ...common,
          summary: 'Security events, newest first',
          querystring: AuditQuery,
          response: { 200: AuditPage, ...denied },
        },
      },
      async (request) => {
        const { user_id: userId, type, limit = DEFAULT_PAGE_SIZE, cursor } = request.query
        return listAuditEvents(ctx.db, { userId, type }, limit, cursor)
      },
    )
  }
}
