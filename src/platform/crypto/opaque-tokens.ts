import { createHash, randomBytes } from 'node:crypto'

/** 256 bits from the CSPRNG, base64url: opaque to clients, meaningless to anyone who reads the DB. */
export function newOpaqueToken(): string {
  return randomBytes(32).toString('base64url')
}

/**
 * Opaque tokens (refresh tokens, one-time tokens, personal access tokens, client secrets) are
 * stored only as SHA-256. A fast hash is right here (unlike passwords): the input has 256 bits of
 * entropy, so there is nothing to brute-force.
 */
export function hashOpaqueToken(token: string): string {
  return createHash('sha256').update(token).digest('base64url')
}
