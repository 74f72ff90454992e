import { createLocalJWKSet, importJWK, type JSONWebKeySet, type JWK } from 'jose'
import { ValidationError } from '../../platform/http/errors.ts'

/** What a `private_key_jwt` client may sign its assertions with (RFC 7518 §3.1, RFC 8037). */
export const CLIENT_KEY_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
] as const
export type ClientKeyAlgorithm = (typeof CLIENT_KEY_ALGORITHMS)[number]

export const MAX_CLIENT_KEYS = 10

/** The key type (and curve) each algorithm needs: an `alg` that names another is refused. */
const KEY_TYPE_OF: Readonly<Record<ClientKeyAlgorithm, { kty: string; crv?: string }>> = {
  RS256: { kty: 'RSA' },
  RS384: { kty: 'RSA' },
  RS512: { kty: 'RSA' },
  PS256: { kty: 'RSA' },
  PS384: { kty: 'RSA' },
  PS512: { kty: 'RSA' },
  ES256: { kty: 'EC', crv: 'P-256' },
  ES384: { kty: 'EC', crv: 'P-384' },
  ES512: { kty: 'EC', crv: 'P-521' },
  EdDSA: { kty: 'OKP', crv: 'Ed25519' },
}

/** RFC 7518 §6.2.2, §6.3.2 and §6.4: the members only a private or symmetric key has. */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k']
/** RFC 7518 §3.3; jose refuses to verify with less. */
const MIN_RSA_BITS = 2048
const MAX_KID_LENGTH = 255

const isAlgorithm = (alg: unknown): alg is ClientKeyAlgorithm =>
  typeof alg === 'string' && (CLIENT_KEY_ALGORITHMS as readonly string[]).includes(alg)

/**
 * A client's JWKS as registered: 1 to `MAX_CLIENT_KEYS` public keys, each with a unique `kid` and
 * an allowed `alg` that matches its key type, importable by jose. Anything else is a 422 naming
 * `jwks`, with one message per problem. Returns the set unchanged.
 *
 * ```ts
 * const jwks = await checkClientJwks(body.jwks) // throws ValidationError (422) naming jwks
 * ```
 */
export async function checkClientJwks(value: unknown): Promise<JSONWebKeySet> {
  const keys = keysOf(value)
  const problems: string[] = []
  if (keys === undefined) problems.push('must be a JWK Set: an object with a "keys" array')
  else if (keys.length === 0) problems.push('must hold at least one key')
  else if (keys.length > MAX_CLIENT_KEYS) problems.push(`holds at most ${MAX_CLIENT_KEYS} keys`)
  else {
    const kids = keys.map((key) => (isObject(key) ? key.kid : undefined))
    for (const [index, key] of keys.entries()) {
      const kid = kids[index]
      const name =
        typeof kid === 'string' ? `key ${index} ("${kid.slice(0, MAX_KID_LENGTH)}")` : `key ${index}`
      const found = isObject(key) ? await keyProblems(key) : ['is not an object']
      const first = kids.indexOf(kid)
      if (typeof kid === 'string' && first !== index) found.push(`repeats the kid of key ${first}`)
      problems.push(...found.map((problem) => `${name} ${problem}`))
    }
  }
  if (problems.length > 0) throw new ValidationError(problems.map((message) => ({ field: 'jwks', message })))
  return value as JSONWebKeySet
}

/**
 * The key resolver for `jwtVerify` over a registered JWKS: the key whose `kid` and `alg` are the
 * assertion header's (every registered key has both).
 *
 * ```ts
 * await jwtVerify(assertion, clientKeySet(client.jwks), { algorithms: [...CLIENT_KEY_ALGORITHMS] })
 * ```
 */
export function clientKeySet(jwks: JSONWebKeySet): ReturnType<typeof createLocalJWKSet> {
  return createLocalJWKSet(jwks)
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

function keysOf(value: unknown): unknown[] | undefined {
  return isObject(value) && Array.isArray(value.keys) ? (value.keys as unknown[]) : undefined
}

async function keyProblems(key: Record<string, unknown>): Promise<string[]> {
  const { kty, kid, alg, crv, use, key_ops: keyOps } = key
  if (kty === 'oct') return ['is a symmetric (oct) key: register public keys only']
  const problems: string[] = []
  const secret = PRIVATE_MEMBERS.filter((member) => member in key)
  if (secret.length > 0)
    problems.push(`holds private key members (${secret.join(', ')}): register the public key only`)
  if (typeof kid !== 'string' || kid === '' || kid.length > MAX_KID_LENGTH)
    problems.push(`needs a kid of 1 to ${MAX_KID_LENGTH} characters`)
  if (use !== undefined && use !== 'sig') problems.push('has a use other than "sig"')
  if (keyOps !== undefined && !(Array.isArray(keyOps) && keyOps.includes('verify')))
    problems.push('has key_ops without "verify"')
  if (!isAlgorithm(alg)) {
    const allowed = CLIENT_KEY_ALGORITHMS.join(', ')
    problems.push(
      alg === undefined
        ? `needs an alg, one of ${allowed}`
        : `has alg ${JSON.stringify(alg).slice(0, 40)}, not one of ${allowed}`,
    )
    return problems
  }
  const expected = KEY_TYPE_OF[alg]
  if (kty !== expected.kty || (expected.crv !== undefined && crv !== expected.crv)) {
    problems.push(
      `has alg ${alg}, which needs kty ${expected.kty}${expected.crv ? ` and crv ${expected.crv}` : ''}`,
    )
    return problems
  }
  if (kty === 'RSA' && typeof key.n === 'string' && bitLength(key.n) < MIN_RSA_BITS)
    problems.push(`is an RSA key shorter than ${MIN_RSA_BITS} bits`)
  if (problems.length > 0) return problems
  try {
    const imported = await importJWK(key as JWK, alg)
    if (!('type' in imported) || imported.type !== 'public') problems.push('is not a public key')
  } catch {
    problems.push(`is not a valid ${alg} public key`)
  }
  return problems
}

/** The bit length of a base64url big-endian integer (an RSA modulus). */
function bitLength(base64url: string): number {
  const bytes = Buffer.from(base64url, 'base64url')
  const first = bytes.findIndex((byte) => byte !== 0)
  if (first === -1) return 0
  return (bytes.length - first - 1) * 8 + (bytes[first] ?? 0).toString(2).length
}
