import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { OAuthError } from '../http/error-handler.ts'
import { BODY_ERRORS, errorResponses } from '../http/schemas.ts'
import type { Services } from '../services.ts'
import type { ClientInfo } from '../sessions/service.ts'
import { UserRef } from '../users/schemas.ts'
import {
  LoginBody,
  OAuthErrorResponse,
  SignupBody,
  TokenRequestBody,
  TokenResponseRef,
  type TokenResponse,
} from './schemas.ts'
import { loginWithPassword, signup } from './service.ts'

export const REFRESH_COOKIE = 'gatehouse_refresh'

export function clientOf(request: FastifyRequest): ClientInfo {
  return { ip: request.ip, userAgent: request.headers['user-agent'] }
}

/** Token responses are never cached (RFC 6749 §5.1); browsers also get the refresh token as a cookie. */
function sendTokens(reply: FastifyReply, tokens: TokenResponse, withCookie: boolean): TokenResponse {
  void reply.header('cache-control', 'no-store').header('pragma', 'no-cache')
  if (withCookie) {
    void reply.setCookie(REFRESH_COOKIE, tokens.refresh_token, {
      httpOnly: true,
      secure: true,
      sameSite: 'strict',
      path: '/auth',
      maxAge: tokens.refresh_expires_in,
    })
  }
  return tokens
}

export function authRoutes(services: Services): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      '/auth/signup',
      {
        schema: {
          tags: ['auth'],
          summary: 'Create an account',
          body: SignupBody,
          response: { 201: UserRef, ...errorResponses(...BODY_ERRORS, 'ACCOUNT_EXISTS') },
        },
      },
      async (request, reply) => reply.code(201).send(await signup(services, request.body)),
    )

    app.post(
      '/auth/login',
      {
        config: { bodyTypes: ['json', 'form'] },
        schema: {
          tags: ['auth'],
          summary: 'Log in with a username or email and a password',
          description: 'JSON or form body. Also sets the refresh token as the `gatehouse_refresh` cookie.',
          body: LoginBody,
          response: {
            200: TokenResponseRef,
            ...errorResponses(...BODY_ERRORS, 'INVALID_CREDENTIALS', 'ACCOUNT_DISABLED'),
          },
        },
      },
      async (request, reply) =>
        sendTokens(reply, await loginWithPassword(services, request.body, clientOf(request)), true),
    )

    app.post(
      '/auth/token',
      {
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
          return sendTokens(reply, await loginWithPassword(services, credentials, clientOf(request)), false)
        }
        throw new OAuthError('unsupported_grant_type', `The grant type is not supported.`)
      },
    )
  }
}
