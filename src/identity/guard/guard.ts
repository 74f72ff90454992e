import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyRequest, onRequestAsyncHookHandler } from 'fastify'
import { AppError, AuthenticationError } from '../../platform/http/errors.ts'
import type { Db } from '../../platform/storage/database.ts'
import { findUserById } from '../users/store.ts'
import { bindToCurrentRequest } from '../../platform/http/request-context.ts'
import type { AccessTokens } from '../tokens/access-tokens.ts'

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

export interface Guards {
  /** A valid, unrevoked bearer access token; sets `request.principal`. */
  requireAuth: onRequestAsyncHookHandler
  /**
   * `requireAuth`, and the role — on the token and, since roles can be taken away before a token
   * expires, on the user's current record too (one lookup; admin routes are not the hot path) —
   * and, when given, a scope as well: a token asked for with fewer scopes cannot use the route.
   */
  requireRole(role: string, options?: { scope?: string }): onRequestAsyncHookHandler[]
  /**
   * The check behind `requireRole`, for a route that needs the role only for some requests
   * (`GET /todos?all=true`): throws 403 FORBIDDEN with `message` unless the token and the user's
   * current record both carry it.
   */
  checkRole(request: FastifyRequest, role: string, message?: string): Promise<void>
  /** `requireAuth`, and the scope on the token (granted at login, narrowed to the roles). */
  requireScope(scope: string): onRequestAsyncHookHandler[]
}

/**
 * The guards protected routes declare (`onRequest: guards.requireScope('todos:read')`). Handlers
 * never read the Authorization header or compare roles themselves.
 *
 * ```ts
 * app.get('/admin/stats', { onRequest: guards.requireRole('admin', { scope: 'admin' }) }, handler)
 * ```
 */
export function createGuards(accessTokens: AccessTokens, db: Db): Guards {
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

  const checkRole = async (
    request: FastifyRequest,
    role: string,
    message = `This route needs the ${role} role.`,
  ): Promise<void> => {
    const principal = principalOf(request)
    const user = principal.roles.includes(role) ? await findUserById(db, principal.userId) : undefined
    if (!user || user.disabled === 1 || !(JSON.parse(user.roles) as string[]).includes(role)) {
      throw new AppError('FORBIDDEN', message)
    }
  }

  const hasScope =
    (scope: string): onRequestAsyncHookHandler =>
    async (request) => {
      if (!principalOf(request).scopes.has(scope)) {
        throw new AppError('FORBIDDEN', `This route needs the ${scope} scope.`)
      }
    }

  const requireRole = (role: string, options: { scope?: string } = {}): onRequestAsyncHookHandler[] => [
    requireAuth,
    ...(options.scope === undefined ? [] : [hasScope(options.scope)]),
    async (request) => checkRole(request, role),
  ]

  const requireScope = (scope: string): onRequestAsyncHookHandler[] => [requireAuth, hasScope(scope)]

  return { requireAuth, requireRole, checkRole, requireScope }
}

/** The principal of a route that declared `requireAuth`; a programming error anywhere else. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new TypeError('principalOf() on a route without requireAuth')
  return request.principal
}

/**
 * A route for one machine caller holding a configured secret, not a user (`/metrics` with
 * `METRICS_TOKEN`): `Authorization: Bearer <secret>`, else a 401 with the RFC 6750 challenge.
 * Both sides are hashed first, so the comparison takes the same time whatever the token's length
 * and wherever it first differs.
 *
 * ```ts
 * app.get('/metrics', { onRequest: requireSecretBearer(config.metricsToken, 'METRICS_TOKEN') }, handler)
 * ```
 */
export function requireSecretBearer(secret: string, name: string): onRequestAsyncHookHandler {
  const expected = sha256(secret)
  return async (request) => {
    const token = bearerToken(request)
    if (token === undefined) {
      throw new AuthenticationError('AUTH_REQUIRED', `This route needs Authorization: Bearer <${name}>.`)
    }
    if (!timingSafeEqual(sha256(token), expected)) {
      throw new AuthenticationError('INVALID_TOKEN', `The bearer token is not ${name}.`)
    }
  }
}

const sha256 = (text: string): Buffer => createHash('sha256').update(text).digest()
