import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { Context } from '../../context.ts'
import { principalOf } from '../../identity/guard/principal.ts'
import { requireRole } from '../../identity/guard/route-guards.ts'
import { DEFAULT_PAGE_SIZE } from '../../platform/http/pagination.ts'
import { originOf } from '../../platform/http/request-context.ts'
import { BODY_ERRORS, NO_CONTENT, errorResponses } from '../../platform/http/schemas.ts'
import {
  ClientIdParams,
  ClientListQuery,
  ClientPage,
  ClientSecret,
  ClientView,
  CreateClientBody,
  CreatedClient,
  UpdateClientBody,
} from './schemas.ts'
import {
  createClient,
  deleteClientAsAdmin,
  getClient,
  listClientPage,
  rotateClientSecret,
  updateClientAsAdmin,
} from './service.ts'

/**
 * `/admin/clients`: the OAuth 2.0 clients that may use the client-credentials grant, introspection
 * and the revocation feed. A secret is in the answer that makes it, never again.
 */
export function clientRoutes(ctx: Context): FastifyPluginAsyncTypebox {
  const adminOnly = { guard: requireRole('admin', { scope: 'admin' }) }
  const tags = ['admin']
  const unknownClient = errorResponses('NOT_FOUND', 'VALIDATION_ERROR')

  return async (app) => {
    app.post(
      '',
      {
        config: adminOnly,
        schema: {
          tags,
          summary: 'Register a machine client',
          description:
            'The client id is generated. For `client_secret_basic` and `client_secret_post` the answer holds ' +
            'the secret, shown only here; for `private_key_jwt` give `jwks`, the public keys its assertions ' +
            'are signed with.',
          body: CreateClientBody,
          response: { 201: CreatedClient, ...errorResponses(...BODY_ERRORS) },
        },
      },
      async (request, reply) => {
        const created = await createClient(ctx, principalOf(request).userId, request.body, originOf(request))
        return reply.code(201).header('cache-control', 'no-store').header('pragma', 'no-cache').send(created)
      },
    )

    app.get(
      '',
      {
        config: adminOnly,
        schema: {
          tags,
          summary: 'Machine clients',
          description: 'Oldest first; never a secret.',
          querystring: ClientListQuery,
          response: { 200: ClientPage, ...errorResponses('VALIDATION_ERROR') },
        },
      },
      async (request) => {
        const { limit = DEFAULT_PAGE_SIZE, cursor } = request.query
        return listClientPage(ctx, limit, cursor)
      },
    )

    app.get(
      '/:id',
      {
        config: adminOnly,
        schema: {
          tags,
          summary: 'One machine client',
          description: 'Never its secret.',
          params: ClientIdParams,
          response: { 200: ClientView, ...unknownClient },
        },
      },
      async (request) => getClient(ctx, request.params.id),
    )

    app.patch(
      '/:id',
      {
        config: adminOnly,
        schema: {
          tags,
          summary: 'Rename, rescope, disable or enable a client, or replace its keys',
          description:
            'Disabling the client, or taking a scope away from it, revokes every token it holds at once on ' +
            'every instance (it then gets new ones with the scopes it has now); enabling it again does not ' +
            'bring them back. Adding scopes and replacing `jwks` (`private_key_jwt` only) leave its tokens alone.',
          params: ClientIdParams,
          body: UpdateClientBody,
          response: { 200: ClientView, ...errorResponses(...BODY_ERRORS, 'NOT_FOUND') },
        },
      },
      async (request) =>
        updateClientAsAdmin(
          ctx,
          principalOf(request).userId,
          request.params.id,
          request.body,
          originOf(request),
        ),
    )

    app.post(
      '/:id/secret',
      {
        config: adminOnly,
        schema: {
          tags,
          summary: "Replace a client's secret",
          description:
            'The new secret is in this answer only; the old one stops working at once. Tokens already ' +
            'issued stay valid until they expire: disable the client to end them too. `422` for a ' +
            '`private_key_jwt` client, which has no secret.',
          params: ClientIdParams,
          response: { 200: ClientSecret, ...unknownClient },
        },
      },
      async (request, reply) => {
        const secret = await rotateClientSecret(
          ctx,
          principalOf(request).userId,
          request.params.id,
          originOf(request),
        )
        return reply.header('cache-control', 'no-store').header('pragma', 'no-cache').send(secret)
      },
    )

    app.delete(
      '/:id',
      {
        config: adminOnly,
        schema: {
          tags,
          summary: 'Delete a machine client',
          description: 'Every token it holds stops working at once on every instance.',
          params: ClientIdParams,
          response: { ...NO_CONTENT, ...unknownClient },
        },
      },
      async (request, reply) => {
        await deleteClientAsAdmin(ctx, principalOf(request).userId, request.params.id, originOf(request))
        return reply.code(204).send(null)
      },
    )
  }
}
