import { randomUUID } from 'node:crypto'
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWK, type JWTPayload } from 'jose'
import { newClientId, newClientSecret } from '../../src/identity/clients/credentials.ts'
import { insertClient, type ClientAuthMethod } from '../../src/identity/clients/store.ts'
import { isoAt } from '../../src/platform/clock.ts'
import type { TestApp } from './harness.ts'

/** A registered client as a test holds it: its id and, for the secret methods, its secret. */
export interface RegisteredClient {
  clientId: string
  secret: string
  /** `private_key_jwt` only: the private key whose public half is registered, and its kid. */
  key?: { privateKey: CryptoKey; kid: string; alg: string }
}

/** Registers a client directly in the store (the admin routes have suites of their own). */
export async function registerClient(
  t: TestApp,
  options: { scopes?: string[]; method?: ClientAuthMethod; disabled?: boolean } = {},
): Promise<RegisteredClient> {
  const method = options.method ?? 'client_secret_basic'
  const clientId = newClientId()
  const { secret, secretHash } = newClientSecret()
  const now = isoAt(t.clock.now())
  let key: RegisteredClient['key']
  let jwks: { keys: JWK[] } | null = null
  if (method === 'private_key_jwt') {
    const { privateKey, publicKey } = await generateKeyPair('ES256')
    key = { privateKey, kid: `key-${randomUUID()}`, alg: 'ES256' }
    jwks = { keys: [{ ...(await exportJWK(publicKey)), kid: key.kid, alg: 'ES256' }] }
  }
  await insertClient(t.context.db, {
    id: clientId,
    name: `test client ${clientId}`,
    scopes: options.scopes ?? ['introspect'],
    authMethod: method,
    secretHash: method === 'private_key_jwt' ? null : secretHash,
    jwks,
    disabled: options.disabled ?? false,
    createdAt: now,
    updatedAt: now,
  })
  return { clientId, secret: method === 'private_key_jwt' ? '' : secret, ...(key && { key }) }
}

/** RFC 6749 §2.3.1: id and secret each form-urlencoded, joined by a colon, base64. */
export function basicAuthorization(clientId: string, secret: string): string {
  const encode = (text: string) => encodeURIComponent(text).replace(/%20/g, '+')
  return `Basic ${Buffer.from(`${encode(clientId)}:${encode(secret)}`).toString('base64')}`
}

/** An RFC 7523 client assertion for `client` at the test app's clock; `claims` override the defaults. */
export async function clientAssertion(
  t: TestApp,
  client: RegisteredClient,
  claims: JWTPayload = {},
  header: { alg?: string; kid?: string } = {},
): Promise<string> {
  if (!client.key) throw new TypeError('not a private_key_jwt client')
  const now = Math.floor(t.clock.now() / 1000)
  return new SignJWT({
    iss: client.clientId,
    sub: client.clientId,
    aud: t.context.config.jwt.issuer,
    iat: now,
    exp: now + 60,
    jti: randomUUID(),
    ...claims,
  })
    .setProtectedHeader({ alg: client.key.alg, kid: client.key.kid, ...header })
    .sign(client.key.privateKey)
}

export const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'
