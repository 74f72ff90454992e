import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import type { Context } from '../../context.ts'

const Jwks = Type.Object(
  { keys: Type.Array(Type.Record(Type.String(), Type.Unknown())) },
  { title: 'JWKS', description: 'RFC 7517 JWK Set of every public key that can still verify a live token.' },
)

export function jwksRoutes(ctx: Pick<Context, 'signingKeys'>): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/jwks.json',
      {
        schema: { tags: ['tokens'], summary: 'Public signing keys (JWKS)', response: { 200: Jwks } },
      },
      // Short caching: verifiers refetch on an unknown kid anyway, and rotation keeps old keys.
      async (_request, reply) =>
        reply.header('cache-control', 'public, max-age=300').send(ctx.signingKeys.jwks()),
    )
  }
}
