import type { FastifyRequest } from 'fastify'

/** A user's access token from a login: the session it belongs to is known. */
export interface SessionPrincipal {
  kind: 'session'
  userId: string
  sessionId: string
  tokenId: string
  roles: string[]
  scopes: ReadonlySet<string>
  expiresAt: number
}

/** A user's personal access token: the user's, with the scopes it was given, and no session. */
export interface PersonalTokenPrincipal {
  kind: 'personal_token'
  userId: string
  /** The token's id (`pat_id` of revocation records). */
  tokenId: string
  roles: string[]
  scopes: ReadonlySet<string>
  expiresAt: number
}

/** A machine client's access token (client credentials): it acts for no user. */
export interface ClientPrincipal {
  kind: 'client'
  clientId: string
  tokenId: string
  scopes: ReadonlySet<string>
  expiresAt: number
}

export type UserPrincipal = SessionPrincipal | PersonalTokenPrincipal

/** Who a request acts for, as an authenticator established it from the credential presented. */
export type Principal = UserPrincipal | ClientPrincipal

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the guard before the handler runs; null on public routes. */
    principal: Principal | null
  }
}

/** The user a route acts for; its guard admits user credentials only. A programming error elsewhere. */
export function principalOf(request: FastifyRequest): UserPrincipal {
  const principal = request.principal
  if (!principal || principal.kind === 'client')
    throw new TypeError('principalOf() on a route without a user guard')
  return principal
}

/** The session a route acts for; its guard admits login access tokens only (`requireSession`). */
export function sessionOf(request: FastifyRequest): SessionPrincipal {
  const principal = request.principal
  if (principal?.kind !== 'session') throw new TypeError('sessionOf() on a route without requireSession')
  return principal
}
