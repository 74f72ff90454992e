import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import type { Context } from '../../context.ts'
import { authenticateClient, presentedClient } from '../../identity/clients/authentication.ts'
import { sendTokens } from '../../identity/sessions/cookie.ts'
import { GATEHOUSE_CLIENT_ID } from '../../identity/tokens/access-tokens.ts'
import { TokenResponseRef } from '../../identity/tokens/token-response.ts'
import { OAuthError, invalidClient } from '../../platform/http/errors.ts'
import { originOf } from '../../platform/http/request-context.ts'
import { SMALL_BODY_LIMIT_BYTES } from '../../platform/http/schemas.ts'
import { GRANTS } from './grants/index.ts'
import { introspection, inspectToken } from './inspection.ts'
import { authorizationServerMetadata, AuthorizationServerMetadata } from './metadata.ts'
import { revokeToken } from './revocation.ts'
import {
  ClientTokenResponse,
  IntrospectionRequestBody,
  IntrospectionResponse,
  OAuthErrorResponse,
  RevocationRequestBody,
  TokenRequestBody,
} from './schemas.ts'

/** The RFC 6749 §5.2 errors every OAuth endpoint may answer with. */
const OAUTH_ERRORS = {
  400: OAuthErrorResponse,
  401: OAuthErrorResponse,
  413: OAuthErrorResponse,
  415: OAuthErrorResponse,
  429: OAuthErrorResponse,
  500: OAuthErrorResponse,
  503: OAuthErrorResponse,
}

const CLIENT_AUTHENTICATION =
  'A client authenticates with HTTP Basic (`client_secret_basic`: id and secret form-urlencoded, RFC 6749 §2.3.1), ' +
  '`client_id` and `client_secret` in the body (`client_secret_post`), or a `client_assertion` (`private_key_jwt`, RFC 7523: ' +
  '`iss` = `sub` = the client id, `aud` the issuer as one string, `exp` at most 5 minutes ahead, a single-use `jti`) — ' +
  'the method it was registered with. A failure is `401 invalid_client` (with `WWW-Authenticate: Basic` after Basic); ' +
  'failures are limited per client id and per address (`LOGIN_RATE_LIMIT` a minute each).'

export function tokenRoutes(ctx: Context): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      '/token',
      {
        bodyLimit: SMALL_BODY_LIMIT_BYTES,
        // Every request spends the address's token budget before its body is read; a password grant
        // spends its login budget as well (see passwordGrant).
        config: { limit: 'token', bodyTypes: ['form'], oauthErrors: true },
        schema: {
          tags: ['auth'],
          summary: 'OAuth 2.0 token endpoint (RFC 6749)',
          description:
            '`grant_type=password` (username, password, scope) or `grant_type=refresh_token` for users (the public client ' +
            '`gatehouse`: a `client_id` parameter is ignored); `grant_type=client_credentials` (scope) for a registered ' +
            'client, whose token has `sub` = `client_id`, no session and no refresh token; a scope the client may not have ' +
            `is \`invalid_scope\`. ${CLIENT_AUTHENTICATION} Errors follow RFC 6749 §5.2.`,
          body: TokenRequestBody,
          response: { 200: Type.Union([TokenResponseRef, ClientTokenResponse]), ...OAUTH_ERRORS },
        },
      },
      async (request, reply) => {
        const grant = GRANTS.get(request.body.grant_type)
        if (!grant) throw new OAuthError('unsupported_grant_type', 'The grant type is not supported.')
        const tokens = await grant.exchange(
          ctx,
          { body: request.body, authorization: request.headers.authorization },
          originOf(request),
        )
        // Every response is `no-store` unless its route says otherwise (security-headers.ts).
        return 'refresh_token' in tokens ? sendTokens(reply, tokens, false) : tokens
      },
    )

    app.post(
      '/introspect',
      {
        bodyLimit: SMALL_BODY_LIMIT_BYTES,
        // Resource servers may ask on every request: no per-address budget, only failed authentications.
        config: { bodyTypes: ['form'], oauthErrors: true },
        schema: {
          tags: ['auth'],
          summary: 'Token introspection (RFC 7662)',
          description:
            "For a client with scope `introspect`: whether an access token (a user's or a machine client's), a refresh " +
            'token or a personal access token is live now, and what it is. A token that is not — unknown, expired, ' +
            'revoked, rotated away, its user disabled or deleted — is `{"active": false}`. A personal access token\'s ' +
            "`jti` is its id and its scope is narrowed to its user's current roles. A client without `introspect` gets " +
            `\`403 unauthorized_client\`. ${CLIENT_AUTHENTICATION}`,
          body: IntrospectionRequestBody,
          response: { 200: IntrospectionResponse, 403: OAuthErrorResponse, ...OAUTH_ERRORS },
        },
      },
      async (request) => {
        const presented = presentedClient(request.headers.authorization, request.body)
        if (!presented) throw invalidClient(false)
        const client = await authenticateClient(ctx, presented, request.ip)
        if (!client.scopes.includes('introspect'))
          throw new OAuthError(
            'unauthorized_client',
            'Introspection needs a client with the introspect scope.',
            {
              code: 'FORBIDDEN',
            },
          )
        return introspection(ctx, await inspectToken(ctx, request.body.token))
      },
    )

    app.post(
      '/revoke',
      {
        bodyLimit: SMALL_BODY_LIMIT_BYTES,
        config: { limit: 'token', bodyTypes: ['form'], oauthErrors: true },
        schema: {
          tags: ['auth'],
          summary: 'Token revocation (RFC 7009)',
          description:
            "`200` whether or not the token was live. A user's access or refresh token ends its session, a personal access " +
            "token ends itself, a machine client's access token stops — on every instance at once. Without client " +
            'authentication the request acts for the public client `gatehouse` and may revoke user tokens; an ' +
            "authenticated client may revoke only tokens issued to it: another client's is `400 unauthorized_client` " +
            `and nothing is revoked. ${CLIENT_AUTHENTICATION}`,
          body: RevocationRequestBody,
          response: {
            200: Type.Object(
              {},
              { description: 'An empty object (RFC 7009 §2.2: the body carries nothing).' },
            ),
            ...OAUTH_ERRORS,
          },
        },
      },
      async (request) => {
        const presented = presentedClient(request.headers.authorization, request.body)
        const clientId = presented
          ? (await authenticateClient(ctx, presented, request.ip)).id
          : GATEHOUSE_CLIENT_ID
        await revokeToken(ctx, clientId, request.body.token, originOf(request))
        return {}
      },
    )
  }
}

/** RFC 8414 §3, under `/.well-known`. */
export function authorizationServerMetadataRoutes(ctx: Pick<Context, 'config'>): FastifyPluginAsyncTypebox {
  return async (app) => {
    const metadata = authorizationServerMetadata(ctx.config, [...GRANTS.keys()])
    app.get(
      '/oauth-authorization-server',
      {
        schema: {
          tags: ['auth'],
          summary: 'OAuth 2.0 authorization server metadata (RFC 8414)',
          response: { 200: AuthorizationServerMetadata },
        },
      },
      async (_request, reply) => reply.header('cache-control', 'public, max-age=300').send(metadata),
    )
  }
}
