import type { FastifyRequest } from 'fastify'

/** Who a request acts for, as an authenticator established it from the credential presented. */
export interface Principal {
  userId: string
  sessionId: string
  tokenId: string
  roles: string[]
  scopes: ReadonlySet<string>
  expiresAt: number
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the guard before the handler runs; null on public routes. */
    principal: Principal | null
  }
}

/** The principal of a route that declared a guard; a programming error anywhere else. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new TypeError('principalOf() on a route without a guard')
  return request.principal
}
