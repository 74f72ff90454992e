import { decodeJwt, errors, jwtVerify } from 'jose'
import { isoAt, type Clock } from '../../platform/clock.ts'
import type { Config } from '../../platform/config/config.ts'
import { OAuthError, invalidClient } from '../../platform/http/errors.ts'
import type { Db } from '../../platform/storage/database.ts'
import type { RateLimits } from '../limits/limits.ts'
import { CLIENT_ID, secretMatches } from './credentials.ts'
import { CLIENT_KEY_ALGORITHMS, clientKeySet } from './jwks.ts'
import { findClient, useAssertionId, type ClientAuthMethod, type ClientRecord } from './store.ts'

/** RFC 7523 §2.2. */
export const JWT_BEARER_ASSERTION = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'
/** The longest an assertion may be valid: `exp` at most this far ahead (and after `iat`). */
export const MAX_ASSERTION_LIFETIME_SECONDS = 300
const CLOCK_TOLERANCE_SECONDS = 30
const MAX_JTI_LENGTH = 255

/** The client-authentication parameters of an OAuth endpoint's form body (RFC 6749 §2.3, RFC 7523). */
export interface ClientAuthenticationParameters {
  client_id?: string | undefined
  client_secret?: string | undefined
  client_assertion_type?: string | undefined
  client_assertion?: string | undefined
}

/** What a request presented to prove which client sent it, before it is checked. */
export type PresentedClient =
  | { method: 'client_secret_basic' | 'client_secret_post'; clientId: string; secret: string }
  | { method: 'private_key_jwt'; clientId: string; assertion: string }

export interface ClientAuthenticationDeps {
  db: Db
  clock: Clock
  config: Pick<Config, 'jwt'>
  limits: RateLimits
}

/**
 * The client credentials a request presents: HTTP Basic (RFC 6749 §2.3.1: id and secret
 * form-urlencoded, then base64), the secret in the body, or a signed assertion (RFC 7523). None
 * at all is `undefined` (a bare `client_id` is a public client's, and proves nothing). Two methods
 * at once are `invalid_request` (§2.3); a Basic header that does not decode is `invalid_client`.
 */
export function presentedClient(
  authorization: string | undefined,
  body: ClientAuthenticationParameters,
): PresentedClient | undefined {
  const basic = basicCredentials(authorization)
  const inBody = body.client_secret !== undefined
  const assertion = body.client_assertion !== undefined || body.client_assertion_type !== undefined
  if (Number(basic !== undefined) + Number(inBody) + Number(assertion) > 1)
    throw new OAuthError('invalid_request', 'Use one client authentication method, not several.')
  if (basic !== undefined) {
    if (body.client_id !== undefined && body.client_id !== basic.clientId)
      throw new OAuthError('invalid_request', 'client_id differs from the Basic credentials.')
    return { method: 'client_secret_basic', ...basic }
  }
  if (inBody) {
    if (body.client_id === undefined) throw invalidClient(false)
    return { method: 'client_secret_post', clientId: body.client_id, secret: body.client_secret ?? '' }
  }
  if (assertion) {
    if (body.client_assertion_type !== JWT_BEARER_ASSERTION || body.client_assertion === undefined)
      throw invalidClient(false)
    const clientId = body.client_id ?? issuerOf(body.client_assertion)
    return { method: 'private_key_jwt', clientId, assertion: body.client_assertion }
  }
  return undefined
}

/**
 * The client `presented` names, once its proof holds: its secret (compared in constant time) or
 * an assertion signed with one of its registered keys, through the method it registered. Every
 * failure — an unknown or disabled client, another method, a wrong secret, a bad or replayed
 * assertion — is the same `invalid_client`, and counts against the client id and the address.
 */
export async function authenticateClient(
  deps: ClientAuthenticationDeps,
  presented: PresentedClient,
  ip: string | null,
): Promise<ClientRecord> {
  const { clientId } = presented
  const limitedId = CLIENT_ID.test(clientId) ? clientId : undefined
  await deps.limits.beforeClientAuthentication(limitedId, ip)
  const client = limitedId === undefined ? undefined : await findClient(deps.db, limitedId)
  if (client && !client.disabled && (await proves(deps, client, presented))) return client
  await deps.limits.afterClientAuthenticationFailure(limitedId, ip)
  throw invalidClient(presented.method === 'client_secret_basic')
}

async function proves(
  deps: ClientAuthenticationDeps,
  client: ClientRecord,
  presented: PresentedClient,
): Promise<boolean> {
  if (client.authMethod !== (presented.method satisfies ClientAuthMethod)) return false
  if (presented.method !== 'private_key_jwt') return secretMatches(client, presented.secret)
  return verifyAssertion(deps, client, presented.assertion)
}

/**
 * RFC 7523 §3 with draft-ietf-oauth-rfc7523bis: `iss` = `sub` = the client, `aud` the issuer as a
 * single string (never the token endpoint's URL, nor a list an attacker could add to), `exp` at
 * most five minutes ahead and after `iat`, and a `jti` used once — across instances, since the
 * database records it.
 */
async function verifyAssertion(
  deps: ClientAuthenticationDeps,
  client: ClientRecord,
  assertion: string,
): Promise<boolean> {
  if (client.jwks === null) return false
  const now = deps.clock.now()
  try {
    const { payload } = await jwtVerify(assertion, clientKeySet(client.jwks), {
      algorithms: [...CLIENT_KEY_ALGORITHMS],
      issuer: client.id,
      subject: client.id,
      audience: deps.config.jwt.issuer,
      requiredClaims: ['exp', 'jti'],
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
      currentDate: new Date(now),
    })
    const { aud, exp, iat, jti } = payload
    const nowSeconds = now / 1000
    if (
      aud !== deps.config.jwt.issuer ||
      typeof exp !== 'number' ||
      exp > nowSeconds + MAX_ASSERTION_LIFETIME_SECONDS + CLOCK_TOLERANCE_SECONDS ||
      (iat !== undefined && exp - iat > MAX_ASSERTION_LIFETIME_SECONDS) ||
      typeof jti !== 'string' ||
      jti === '' ||
      jti.length > MAX_JTI_LENGTH
    )
      return false
    return await useAssertionId(deps.db, client.id, jti, isoAt((exp + CLOCK_TOLERANCE_SECONDS) * 1000))
  } catch (error) {
    if (error instanceof errors.JOSEError || error instanceof TypeError) return false
    throw error
  }
}

/** The client an assertion claims to be from (checked against its signature later). */
function issuerOf(assertion: string): string {
  try {
    const { iss } = decodeJwt(assertion)
    if (typeof iss === 'string') return iss
  } catch {
    // Falls through: an assertion that does not decode names no client.
  }
  throw invalidClient(false)
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/

/** RFC 7617 Basic credentials, each half form-urlencoded (RFC 6749 §2.3.1); other schemes are not ours. */
function basicCredentials(
  authorization: string | undefined,
): { clientId: string; secret: string } | undefined {
  const match = authorization === undefined ? null : /^basic +(\S*) *$/i.exec(authorization)
  if (!match) return undefined
  const encoded = match[1] ?? ''
  if (!BASE64.test(encoded) || encoded.length % 4 !== 0) throw invalidClient(true)
  const decoded = Buffer.from(encoded, 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  if (colon < 1) throw invalidClient(true)
  try {
    return {
      clientId: formDecode(decoded.slice(0, colon)),
      secret: formDecode(decoded.slice(colon + 1)),
    }
  } catch {
    throw invalidClient(true)
  }
}

const formDecode = (text: string): string => decodeURIComponent(text.replace(/\+/g, ' '))
