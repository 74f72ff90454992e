import { randomBytes, timingSafeEqual } from 'node:crypto'
import { hashOpaqueToken, newOpaqueToken } from '../../platform/crypto/opaque-tokens.ts'
import type { ClientRecord } from './store.ts'

/**
 * `client_` and 22 base64url characters (128 random bits): generated, never chosen, so it can never
 * equal a user id (a UUID) or `gatehouse` (RFC 9068 §5). The source of the pattern schemas use.
 */
export const CLIENT_ID_PATTERN = '^client_[A-Za-z0-9_-]{22}$'
export const CLIENT_ID = new RegExp(CLIENT_ID_PATTERN)

export function newClientId(): string {
  return `client_${randomBytes(16).toString('base64url')}`
}

/** A new 256-bit secret, shown once, and the hash that is stored instead of it. */
export function newClientSecret(): { secret: string; secretHash: string } {
  const secret = newOpaqueToken()
  return { secret, secretHash: hashOpaqueToken(secret) }
}

/**
 * Whether `presented` is the client's current secret. The SHA-256 digests are compared in constant
 * time, so the time taken says nothing about where a guess first differs. False for a client
 * without a secret (`private_key_jwt`).
 */
export function secretMatches(client: Pick<ClientRecord, 'secretHash'>, presented: string): boolean {
  if (client.secretHash === null) return false
  const expected = Buffer.from(client.secretHash, 'base64url')
  const actual = Buffer.from(hashOpaqueToken(presented), 'base64url')
  return expected.length === actual.length && timingSafeEqual(expected, actual)
}
