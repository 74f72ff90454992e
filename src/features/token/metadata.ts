import { Type, type Static } from 'typebox'
import { CLIENT_KEY_ALGORITHMS } from '../../identity/clients/jwks.ts'
import { GATEHOUSE_CLIENT_SCOPES } from '../../identity/clients/scopes.ts'
import type { Config } from '../../platform/config/config.ts'

const CLIENT_AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'private_key_jwt']

const Urls = Type.String({ format: 'uri' })
const List = Type.Array(Type.String())

export const AuthorizationServerMetadata = Type.Object(
  {
    issuer: Type.String({ description: '`JWT_ISSUER`.' }),
    token_endpoint: Urls,
    jwks_uri: Urls,
    introspection_endpoint: Urls,
    revocation_endpoint: Urls,
    grant_types_supported: List,
    response_types_supported: Type.Array(Type.String(), { maxItems: 0 }),
    token_endpoint_auth_methods_supported: List,
    token_endpoint_auth_signing_alg_values_supported: List,
    introspection_endpoint_auth_methods_supported: List,
    introspection_endpoint_auth_signing_alg_values_supported: List,
    revocation_endpoint_auth_methods_supported: List,
    revocation_endpoint_auth_signing_alg_values_supported: List,
    scopes_supported: List,
    revocation_feed_endpoint: Type.String({
      format: 'uri',
      description: "Gatehouse's extension: the revocation feed (server-sent events) for resource servers.",
    }),
    gatehouse_access_token_max_lifetime: Type.Integer({
      description: "Gatehouse's extension: the longest an access token lives (`ACCESS_TOKEN_TTL`, seconds).",
    }),
  },
  { title: 'AuthorizationServerMetadata' },
)
export type AuthorizationServerMetadata = Static<typeof AuthorizationServerMetadata>

/**
 * The service's own base URL: `JWT_ISSUER` (RFC 8414 §3: every endpoint is built from it). Outside
 * production a `JWT_ISSUER` that is not a URL is allowed, and the listening address stands in.
 */
export function baseUrl(config: Pick<Config, 'jwt' | 'host' | 'port'>): string {
  const { issuer } = config.jwt
  if (URL.canParse(issuer) && ['http:', 'https:'].includes(new URL(issuer).protocol))
    return issuer.replace(/\/+$/, '')
  const host = config.host.includes(':') ? `[${config.host}]` : config.host
  return `http://${host}:${config.port}`
}

/** RFC 8414 metadata, built once from the configuration and the grants the token endpoint has. */
export function authorizationServerMetadata(
  config: Pick<Config, 'jwt' | 'host' | 'port' | 'roleScopes' | 'accessTokenTtlSeconds'>,
  grantTypes: readonly string[],
): AuthorizationServerMetadata {
  const base = baseUrl(config)
  const algorithms = [...CLIENT_KEY_ALGORITHMS]
  return {
    issuer: config.jwt.issuer,
    token_endpoint: `${base}/auth/token`,
    jwks_uri: `${base}/.well-known/jwks.json`,
    introspection_endpoint: `${base}/auth/introspect`,
    revocation_endpoint: `${base}/auth/revoke`,
    grant_types_supported: [...grantTypes],
    response_types_supported: [],
    // `none`: the password and refresh-token grants belong to the public client `gatehouse`.
    token_endpoint_auth_methods_supported: [...CLIENT_AUTH_METHODS, 'none'],
    token_endpoint_auth_signing_alg_values_supported: algorithms,
    introspection_endpoint_auth_methods_supported: CLIENT_AUTH_METHODS,
    introspection_endpoint_auth_signing_alg_values_supported: algorithms,
    revocation_endpoint_auth_methods_supported: [...CLIENT_AUTH_METHODS, 'none'],
    revocation_endpoint_auth_signing_alg_values_supported: algorithms,
    scopes_supported: [...new Set([...Object.values(config.roleScopes).flat(), ...GATEHOUSE_CLIENT_SCOPES])],
    revocation_feed_endpoint: `${base}/auth/revocations`,
    gatehouse_access_token_max_lifetime: config.accessTokenTtlSeconds,
  }
}
