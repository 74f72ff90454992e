import type { FastifyRequest, onRequestAsyncHookHandler } from 'fastify'
import { AuthenticationError } from '../http/errors.ts'
import { bindToCurrentRequest } from '../http/request-context.ts'
import type { AccessTokens } from './access-tokens.ts'

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
    /** Set by `requireAuth` before the handler runs; null on public routes. */
    principal: Principal | null
  }
}

const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i

/** RFC 6750 §2.1: the token from `Authorization: Bearer …`, or undefined when none was sent. */
function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization
  if (header === undefined || !/^Bearer(\s|$)/i.test(header)) return undefined
  const match = BEARER.exec(header)
  if (!match?.[1]) throw new AuthenticationError('INVALID_TOKEN', 'The Authorization header is malformed.')
  return match[1]
}

/**
 * The guard every protected route declares (`onRequest: guards.requireAuth`): verifies the bearer
 * token and sets `request.principal`. Handlers never read the header themselves.
 */
export function createGuards(accessTokens: AccessTokens): { requireAuth: onRequestAsyncHookHandler } {
  const requireAuth: onRequestAsyncHookHandler = async (request) => {
    const token = bearerToken(request)
    if (token === undefined)
      throw new AuthenticationError('AUTH_REQUIRED', 'This route needs a bearer access token.')
    const claims = await accessTokens.verify(token)
    request.principal = {
      userId: claims.sub,
      sessionId: claims.sid,
      tokenId: claims.jti,
      roles: claims.roles,
      scopes: new Set(claims.scope.split(' ').filter((scope) => scope !== '')),
      expiresAt: claims.exp,
    }
    bindToCurrentRequest(request, { user_id: claims.sub })
  }
  return { requireAuth }
}

/** The principal of a route that declared `requireAuth`; a programming error anywhere else. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new TypeError('principalOf() on a route without requireAuth')
  return request.principal
}
