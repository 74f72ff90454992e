import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply } from 'fastify'
import { crossSiteGuard } from '../../platform/http/cross-site.ts'
import { OAuthError, invalidRefreshToken } from '../../platform/http/errors.ts'
import { originOf } from '../../platform/http/request-context.ts'
import { BODY_ERRORS, SMALL_BODY_LIMIT_BYTES, errorResponses } from '../../platform/http/schemas.ts'
import { sendsForm } from '../../platform/http/validation.ts'
import type { Context } from '../../context.ts'
import { refreshCookieOf, refreshesWithCookie, setRefreshCookie } from '../../identity/sessions/cookie.ts'
import { UserRef } from '../../identity/users/schemas.ts'
import {
  LoginBody,
  OAuthErrorResponse,
  RefreshBody,
  SignupBody,
  TokenRequestBody,
  TokenResponseRef,
  type TokenResponse,
} from '../../identity/tokens/schemas.ts'
import { loginWithPassword, refreshWithToken, signup } from '../../identity/login/login.ts'

/** Token responses are never cached (RFC 6749 §5.1); browsers also get the refresh token as a cookie. */
function sendTokens(reply: FastifyReply, tokens: TokenResponse, withCookie: boolean): TokenResponse {
  void reply.header('cache-control', 'no-store').header('pragma', 'no-cache')
  if (withCookie) setRefreshCookie(reply, tokens.refresh_token, tokens.refresh_expires_in)
  return tokens
}

export function authRoutes(ctx: Context): FastifyPluginAsyncTypebox {
  // The contract's "Browser requests": what a browser authenticates on its own is refused cross-site.
  const refuseCrossSite = crossSiteGuard(ctx.config)
  return async (app) => {
    app.post(
      '/auth/signup',
      {
        bodyLimit: SMALL_BODY_LIMIT_BYTES,
        onRequest: ctx.limits.byAddress('signup'),
        schema: {
          tags: ['auth'],
          summary: 'Create an account',
          body: SignupBody,
          response: {
            201: UserRef,
            ...errorResponses(...BODY_ERRORS, 'ACCOUNT_EXISTS', 'RATE_LIMITED', 'UNAVAILABLE'),
          },
        },
      },
      async (request, reply) => reply.code(201).send(await signup(ctx, request.body, originOf(request))),
    )

    app.post(
      '/auth/login',
      {
        bodyLimit: SMALL_BODY_LIMIT_BYTES,
        // Counted first: a refused cross-site form spends the address's budget like any attempt.
        onRequest: [ctx.limits.byAddress('login'), refuseCrossSite(sendsForm)],
        config: { bodyTypes: ['json', 'form'] },
        schema: {
          tags: ['auth'],
          summary: 'Log in with a username or email and a password',
          description:
            'JSON or form body. Also sets the refresh token as the `gatehouse_refresh` cookie. ' +
            'A form body sent by a browser from another site (`Sec-Fetch-Site: cross-site`, or an `Origin` ' +
            "other than the service's own, `PUBLIC_URL`'s or one in `CORS_ORIGINS`; `Origin: null` always) " +
            'is refused with `403 FORBIDDEN` before the body is read (login CSRF).',
          body: LoginBody,
          response: {
            200: TokenResponseRef,
            ...errorResponses(
              ...BODY_ERRORS,
              'INVALID_CREDENTIALS',
              'FORBIDDEN',
              'ACCOUNT_DISABLED',
              'EMAIL_NOT_VERIFIED',
              'RATE_LIMITED',
              'UNAVAILABLE',
            ),
          },
        },
      },
      async (request, reply) =>
        sendTokens(reply, await loginWithPassword(ctx, request.body, originOf(request)), true),
    )

    app.post(
      '/auth/refresh',
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
      '/auth/token',
      {
        bodyLimit: SMALL_BODY_LIMIT_BYTES,
        // The grant is only known once the body is parsed: every request counts as a login attempt.
        onRequest: ctx.limits.byAddress('login'),
        config: { bodyTypes: ['form'], oauthErrors: true },
        schema: {
          tags: ['auth'],
          summary: 'OAuth 2.0 token endpoint (RFC 6749)',
          description:
            '`grant_type=password` (username, password, scope) or `grant_type=refresh_token`. Errors follow RFC 6749 §5.2.',
          body: TokenRequestBody,
          response: {
            200: TokenResponseRef,
            400: OAuthErrorResponse,
            413: OAuthErrorResponse,
            415: OAuthErrorResponse,
            429: OAuthErrorResponse,
            500: OAuthErrorResponse,
            503: OAuthErrorResponse,
          },
        },
      },
      async (request, reply) => {
        const body = request.body
        if (body.grant_type === 'password') {
          if (body.username === undefined || body.password === undefined) {
            throw new OAuthError('invalid_request', 'The password grant needs username and password.')
          }
          const credentials = { username: body.username, password: body.password, scope: body.scope }
          return sendTokens(reply, await loginWithPassword(ctx, credentials, originOf(request)), false)
        }
        if (body.grant_type === 'refresh_token') {
          if (body.refresh_token === undefined) {
            throw new OAuthError('invalid_request', 'The refresh_token grant needs refresh_token.')
          }
          return sendTokens(reply, await refreshWithToken(ctx, body.refresh_token, originOf(request)), false)
        }
        throw new OAuthError('unsupported_grant_type', `The grant type is not supported.`)
      },
    )
  }
}
