import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyInstance, FastifyRequest, onRequestAsyncHookHandler } from 'fastify'
import { bearerToken } from '../../platform/http/bearer.ts'
import { AuthenticationError, forbidden, type ErrorCode } from '../../platform/http/errors.ts'
import { bindToCurrentRequest } from '../../platform/http/request-context.ts'
import { BEARER_ERRORS, withErrorResponses } from '../../platform/http/schemas.ts'
import type { Db } from '../../platform/storage/database.ts'
import type { AddressPolicy, RateLimits } from '../limits/limits.ts'
import { findUserById } from '../users/store.ts'
import type { Authenticator } from './authenticators/authenticator.ts'
import { principalOf } from './principal.ts'

/**
 * Who may call a route, declared in its config (`config: { guard: requireScope('todos:read') }`)
 * and enforced before the body is read. Handlers never read the Authorization header or compare
 * roles themselves.
 */
export type RouteGuard =
  /**
   * A valid, unrevoked bearer credential of a user — an access token from a login or a personal
   * access token — sets `request.principal`. A machine client's token acts for no user: 403.
   */
  | { kind: 'authenticated' }
  /**
   * …that is an access token from a login: routes that manage the account or its sessions refuse
   * a personal access token (it must not outlive a password change by minting more of itself).
   */
  | { kind: 'session' }
  /** …carrying the scope (granted at login, narrowed to the roles). */
  | { kind: 'scope'; scope: string }
  /**
   * …whose user has the role — on the token and, since roles can be taken away before a token
   * expires, on the user's current record too (one lookup; these are not the hot routes) — and,
   * when given, the scope as well: a token asked for with fewer scopes cannot use the route.
   */
  | { kind: 'role'; role: string; scope?: string | undefined }
  /** One machine caller holding a configured secret, not a user (`/metrics` with `METRICS_TOKEN`). */
  | { kind: 'secret'; secret: string; name: string; securityScheme: string }

export const requireAuth: RouteGuard = { kind: 'authenticated' }
export const requireSession: RouteGuard = { kind: 'session' }
export const requireScope = (scope: string): RouteGuard => ({ kind: 'scope', scope })
export const requireRole = (role: string, options: { scope?: string } = {}): RouteGuard => ({
  kind: 'role',
  role,
  scope: options.scope,
})
/** `Authorization: Bearer <secret>`; `name` says which setting holds it, in the 401's message. */
export const requireSecretBearer = (secret: string, name: string, securityScheme: string): RouteGuard => ({
  kind: 'secret',
  secret,
  name,
  securityScheme,
})

declare module 'fastify' {
  interface FastifyContextConfig {
    guard?: RouteGuard
    /** The per-address budget the request spends before anything else runs (see `RateLimits`). */
    limit?: AddressPolicy
  }
}

export interface GuardDeps {
  db: Db
  limits: RateLimits
  /** Tried in order; the last one recognizes every bearer token. */
  authenticators: readonly Authenticator[]
}

/** The OpenAPI security requirement of routes that take a bearer access token. */
const BEARER_SECURITY = [{ OAuth2PasswordBearer: [] }]

/**
 * Installs every route's declared limit and guard, in one `onRoute` hook: the limit first (a
 * refused request still spends its budget), then the guard, then the route's own `onRequest`
 * hooks. The hook also writes what it enforces into the route's OpenAPI: the security requirement
 * and the 401/403/429 responses. Install it before any route is registered.
 */
export function installRouteGuards(app: FastifyInstance, deps: GuardDeps): void {
  const authenticate = authenticateWith(deps.authenticators)
  app.addHook('onRoute', (route) => {
    const { guard, limit } = route.config ?? {}
    if (!guard && !limit) return
    const hooks: onRequestAsyncHookHandler[] = []
    const codes: ErrorCode[] = []
    if (limit) {
      hooks.push(deps.limits.byAddress(limit))
      codes.push('RATE_LIMITED')
    }
    if (guard) {
      hooks.push(...guardHooks(guard, authenticate, deps.db))
      codes.push(...guardErrors(guard))
    }
    const own = route.onRequest === undefined ? [] : [route.onRequest].flat()
    route.onRequest = [...hooks, ...(own as onRequestAsyncHookHandler[])]
    const schema = route.schema ?? {}
    route.schema = {
      ...schema,
      ...(guard && {
        security: guard.kind === 'secret' ? [{ [guard.securityScheme]: [] }] : BEARER_SECURITY,
      }),
      // RFC 6749 routes answer in their own error format, which they declare themselves.
      ...(route.config?.oauthErrors !== true && { response: withErrorResponses(schema.response, codes) }),
    }
  })
}

function guardErrors(guard: RouteGuard): ErrorCode[] {
  switch (guard.kind) {
    case 'authenticated':
    case 'session':
    case 'scope':
    case 'role':
      return [...BEARER_ERRORS, 'FORBIDDEN']
    case 'secret':
      return ['AUTH_REQUIRED', 'INVALID_TOKEN']
  }
}

function guardHooks(
  guard: RouteGuard,
  authenticate: onRequestAsyncHookHandler,
  db: Db,
): onRequestAsyncHookHandler[] {
  switch (guard.kind) {
    case 'authenticated':
      return [authenticate]
    case 'session':
      return [authenticate, fromLogin]
    case 'scope':
      return [authenticate, hasScope(guard.scope)]
    case 'role':
      return [
        authenticate,
        ...(guard.scope === undefined ? [] : [hasScope(guard.scope)]),
        async (request) => checkRole(db, request, guard.role),
      ]
    case 'secret':
      return [secretBearer(guard.secret, guard.name)]
  }
}

function authenticateWith(authenticators: readonly Authenticator[]): onRequestAsyncHookHandler {
  return async (request) => {
    const token = bearerToken(request)
    if (token === undefined)
      throw new AuthenticationError('AUTH_REQUIRED', 'This route needs a bearer access token.')
    const authenticator = authenticators.find((candidate) => candidate.recognizes(token))
    if (!authenticator) throw new AuthenticationError('INVALID_TOKEN', 'The bearer token is not valid.')
    const principal = await authenticator.authenticate(token)
    request.principal = principal
    if (principal.kind === 'client') {
      bindToCurrentRequest(request, { client_id: principal.clientId })
      throw forbidden('This route acts on a user; a machine client token cannot use it.')
    }
    bindToCurrentRequest(request, { user_id: principal.userId })
  }
}

const fromLogin: onRequestAsyncHookHandler = async (request) => {
  if (principalOf(request).kind !== 'session')
    throw forbidden('This route needs an access token from a login, not a personal access token.')
}

const hasScope =
  (scope: string): onRequestAsyncHookHandler =>
  async (request) => {
    if (!principalOf(request).scopes.has(scope)) throw forbidden(`This route needs the ${scope} scope.`)
  }

/**
 * The role check of `requireRole`, for a route that needs the role only for some requests
 * (`GET /todos?all=true`): 403 FORBIDDEN with `message` unless the token and the user's current
 * record both carry it.
 */
export async function checkRole(
  db: Db,
  request: FastifyRequest,
  role: string,
  message = `This route needs the ${role} role.`,
): Promise<void> {
  const principal = principalOf(request)
  const user = principal.roles.includes(role) ? await findUserById(db, principal.userId) : undefined
  if (!user || user.disabled || !user.roles.includes(role)) {
    throw forbidden(message)
  }
}

/**
 * Both sides are hashed first, so the comparison takes the same time whatever the token's length
 * and wherever it first differs.
 */
function secretBearer(secret: string, name: string): onRequestAsyncHookHandler {
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
