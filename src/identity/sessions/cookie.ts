import type { FastifyReply, FastifyRequest } from 'fastify'
import type { TokenResponse } from '../tokens/token-response.ts'

export const REFRESH_COOKIE = 'gatehouse_refresh'

/**
 * The refresh token for browsers: HttpOnly (scripts cannot read it), Secure, SameSite=Strict and
 * sent only to /auth. Browsers treat http://localhost as secure, so it works in development too.
 */
const COOKIE_OPTIONS = { httpOnly: true, secure: true, sameSite: 'strict', path: '/auth' } as const

export function setRefreshCookie(reply: FastifyReply, token: string, maxAgeSeconds: number): void {
  void reply.setCookie(REFRESH_COOKIE, token, { ...COOKIE_OPTIONS, maxAge: maxAgeSeconds })
}

export function clearRefreshCookie(reply: FastifyReply): void {
  void reply.clearCookie(REFRESH_COOKIE, COOKIE_OPTIONS)
}

export function refreshCookieOf(request: FastifyRequest): string | undefined {
  const value = request.cookies[REFRESH_COOKIE]
  return value === undefined || value === '' ? undefined : value
}

/**
 * `/auth/refresh` authenticates with the cookie: the contract's "without a body token". A hook's
 * predicate, so it runs once the body is parsed (a `preHandler`).
 */
export function refreshesWithCookie(request: FastifyRequest): boolean {
  const body = request.body as { refresh_token?: unknown } | undefined
  return body?.refresh_token === undefined
}

/** Token responses are never cached (RFC 6749 §5.1); browsers also get the refresh token as a cookie. */
export function sendTokens(reply: FastifyReply, tokens: TokenResponse, withCookie: boolean): TokenResponse {
  void reply.header('cache-control', 'no-store').header('pragma', 'no-cache')
  if (withCookie) setRefreshCookie(reply, tokens.refresh_token, tokens.refresh_expires_in)
  return tokens
}
