import { randomUUID } from 'node:crypto'
import { SignJWT, errors, jwtVerify, type JWTHeaderParameters, type JWTPayload } from 'jose'
import type { Clock } from '../../platform/clock.ts'
import type { Config } from '../../platform/config/config.ts'
import { AuthenticationError, invalidAccessToken } from '../../platform/http/errors.ts'
import type { Revocations } from '../revocations/revocations.ts'
import type { KeyStore } from '../signing-keys/key-store.ts'

/** RFC 9068 §2.1: access tokens are typed so they cannot be confused with other JWTs. */
const ACCESS_TOKEN_TYPE = 'at+jwt'
/** Tolerated clock difference between instances when checking `exp`, `nbf` and `iat`. */
const CLOCK_TOLERANCE_SECONDS = 30

/** A user's token, from a login: it belongs to a session. */
export interface UserAccessClaims {
  kind: 'user'
  sub: string
  sid: string
  jti: string
  roles: string[]
  scope: string
  iat: number
  exp: number
}

/** A machine client's token (client credentials): `sub` is the client, and there is no session. */
export interface ClientAccessClaims {
  kind: 'client'
  sub: string
  client_id: string
  jti: string
  scope: string
  iat: number
  exp: number
}

export type AccessClaims = UserAccessClaims | ClientAccessClaims

/** What a client-credentials token is issued for. */
export interface ClientTokenSubject {
  clientId: string
  scope: string
}

export interface AccessTokenSubject {
  userId: string
  sessionId: string
  roles: string[]
  scope: string
  /** When the user last proved who they are (seconds since the epoch): the session's login. */
  authTime: number
  /** RFC 8176 methods of that proof (`pwd`), and its assurance level (`aal1`). */
  amr: readonly string[]
  acr: string
}

/** RFC 9068 `client_id` of tokens from the service's own login routes: its public client. */
export const GATEHOUSE_CLIENT_ID = 'gatehouse'

/** A verified token's claims, and the key that verified them. */
interface VerifiedToken {
  claims: Readonly<AccessClaims>
  kid: string
}

/**
 * Tokens whose signature and claims were verified, keyed by the whole token string: a token that
 * differs in any character is a miss and is verified from scratch. Bounded: past `maxEntries` the
 * least recently used entry goes. It stores only what a full verification accepted, so a forged
 * token can never enter it; `AccessTokens` re-checks `exp`, the key and revocation on every hit.
 */
export class VerifiedTokenCache {
  private readonly entries = new Map<string, VerifiedToken>()

  constructor(readonly maxEntries: number) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1)
      throw new TypeError('VerifiedTokenCache size must be a positive integer')
  }

  get size(): number {
    return this.entries.size
  }

  get(token: string): VerifiedToken | undefined {
    const entry = this.entries.get(token)
    if (entry) {
      // Re-inserted at the end: the Map's order is least recently used first.
      this.entries.delete(token)
      this.entries.set(token, entry)
    }
    return entry
  }

  set(token: string, entry: VerifiedToken): void {
    this.entries.delete(token)
    this.entries.set(token, entry)
    if (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next()
      if (oldest.done !== true) this.entries.delete(oldest.value)
    }
  }

  delete(token: string): void {
    this.entries.delete(token)
  }
}

/** Enough for every token one instance sees in an access-token lifetime at a few thousand users. */
export const TOKEN_CACHE_SIZE = 10_000

export class AccessTokens {
  private readonly verified: VerifiedTokenCache

  constructor(
    private readonly keys: KeyStore,
    private readonly revocations: Revocations,
    private readonly config: Config,
    private readonly clock: Clock,
    options: { cacheSize?: number } = {},
  ) {
    this.verified = new VerifiedTokenCache(options.cacheSize ?? TOKEN_CACHE_SIZE)
  }

  /** How many verified tokens are cached (bounded by the cache size). */
  get cachedTokens(): number {
    return this.verified.size
  }

  get ttlSeconds(): number {
    return this.config.accessTokenTtlSeconds
  }

  async issue(subject: AccessTokenSubject): Promise<string> {
    return this.sign(subject.userId, {
      sid: subject.sessionId,
      roles: subject.roles,
      scope: subject.scope,
      client_id: GATEHOUSE_CLIENT_ID,
      auth_time: subject.authTime,
      amr: [...subject.amr],
      acr: subject.acr,
    })
  }

  /** RFC 9068 §2.2 for client credentials: the client is the subject; no session, roles or `acr`. */
  async issueForClient(subject: ClientTokenSubject): Promise<string> {
    return this.sign(subject.clientId, { scope: subject.scope, client_id: subject.clientId })
  }

  private async sign(sub: string, claims: JWTPayload): Promise<string> {
    const { kid, alg, key } = this.keys.signingKey()
    const now = Math.floor(this.clock.now() / 1000)
    return new SignJWT(claims)
      .setProtectedHeader({ alg, kid, typ: ACCESS_TOKEN_TYPE })
      .setIssuer(this.config.jwt.issuer)
      .setAudience(this.config.jwt.audience)
      .setSubject(sub)
      .setIssuedAt(now)
      .setExpirationTime(now + this.config.accessTokenTtlSeconds)
      .setJti(randomUUID())
      .sign(key)
  }

  /**
   * Verifies an access token against the configured algorithm only — the token's own header never
   * chooses it — the contract's required header and claims, and that it has not been revoked
   * (answered from memory, see `Revocations`): a user's by its session, a machine client's by its
   * `jti` or by a revocation of the client since it was issued. Every failure is an
   * `AuthenticationError` (401); nothing a client sends can make this throw anything else.
   *
   * A token seen before skips the signature check (jose's WebCrypto runs on libuv's thread pool,
   * shared with password hashing): its claims come from `VerifiedTokenCache`, with `exp`, the key
   * and revocation checked again on every request.
   *
   * ```ts
   * const claims = await accessTokens.verify(bearerToken) // throws 401 INVALID_TOKEN / TOKEN_EXPIRED
   * ```
   */
  async verify(token: string): Promise<AccessClaims> {
    const claims = (await this.fromCache(token)) ?? (await this.verifySignedClaims(token))
    if (await this.isRevoked(claims)) {
      throw new AuthenticationError('INVALID_TOKEN', 'The access token has been revoked.')
    }
    return claims
  }

  private async isRevoked(claims: AccessClaims): Promise<boolean> {
    if (claims.kind === 'user') return this.revocations.isRevoked('sid', claims.sid)
    if (await this.revocations.isRevoked('jti', claims.jti)) return true
    const clientRevokedAt = await this.revocations.revokedAt('client', claims.client_id)
    return clientRevokedAt !== undefined && claims.iat <= Math.floor(clientRevokedAt / 1000)
  }

  /**
   * The claims of a token verified before — if it has not expired since (the same test and clock
   * tolerance as jose's) and its key still verifies. Otherwise nothing, and the caller verifies it
   * in full, which fails with the right error. `nbf` and `iat` need no re-check: time only moves
   * towards them. Revocation is the caller's, on every request.
   */
  private async fromCache(token: string): Promise<Readonly<AccessClaims> | undefined> {
    const entry = this.verified.get(token)
    if (!entry) return undefined
    const nowSeconds = this.clock.now() / 1000
    if (
      entry.claims.exp > nowSeconds - CLOCK_TOLERANCE_SECONDS &&
      (await this.keys.verificationKey(entry.kid))
    ) {
      return entry.claims
    }
    this.verified.delete(token)
    return undefined
  }

  private async verifySignedClaims(token: string): Promise<AccessClaims> {
    try {
      const { payload, protectedHeader } = await jwtVerify(token, (header) => this.keyFor(header), {
        algorithms: [this.config.jwt.algorithm],
        typ: ACCESS_TOKEN_TYPE,
        issuer: this.config.jwt.issuer,
        audience: this.config.jwt.audience,
        requiredClaims: ['sub', 'jti', 'iat', 'exp'],
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        currentDate: new Date(this.clock.now()),
      })
      const claims = toClaims(payload, this.clock.now() / 1000, this.config.accessTokenTtlSeconds)
      // Frozen: every request that hits the cache shares this object.
      if (claims.kind === 'user') Object.freeze(claims.roles)
      this.verified.set(token, { claims: Object.freeze(claims), kid: protectedHeader.kid ?? '' })
      return claims
    } catch (error) {
      if (error instanceof AuthenticationError) throw error
      if (error instanceof errors.JWTExpired) {
        throw new AuthenticationError('TOKEN_EXPIRED', 'The access token has expired.', error)
      }
      if (error instanceof errors.JOSEError || error instanceof TypeError) {
        throw invalidAccessToken(error)
      }
      throw error
    }
  }

  private async keyFor(header: JWTHeaderParameters) {
    const kid = header.kid
    const found = typeof kid === 'string' ? await this.keys.verificationKey(kid) : undefined
    if (!found || found.alg !== header.alg) {
      throw invalidAccessToken()
    }
    return found.key
  }
}

/**
 * Claim types, `iat` not in the future (jose checks `nbf` and `exp`, not this), and a lifetime
 * no longer than the service gives: a token minted with a long `exp` — by a bug, or another
 * signer holding the key — is refused rather than honoured for hours. A token with `sid` is a
 * user's (tokens issued before `client_id` existed included); one without, a machine client's,
 * whose `sub` must be its `client_id` (RFC 9068 §2.2), so it can never pass for a user.
 */
function toClaims(payload: JWTPayload, nowSeconds: number, ttlSeconds: number): AccessClaims {
  const { sub, sid, jti, roles, scope, iat, exp, client_id: clientId } = payload
  if (
    typeof sub !== 'string' ||
    typeof jti !== 'string' ||
    typeof scope !== 'string' ||
    typeof iat !== 'number' ||
    typeof exp !== 'number' ||
    iat > nowSeconds + CLOCK_TOLERANCE_SECONDS ||
    exp - iat > ttlSeconds + CLOCK_TOLERANCE_SECONDS
  ) {
    throw invalidAccessToken()
  }
  if (sid === undefined) {
    if (typeof clientId !== 'string' || clientId !== sub || clientId === GATEHOUSE_CLIENT_ID)
      throw invalidAccessToken()
    return { kind: 'client', sub, client_id: clientId, jti, scope, iat, exp }
  }
  const isStringList = Array.isArray(roles) && roles.every((role) => typeof role === 'string')
  if (typeof sid !== 'string' || !isStringList) throw invalidAccessToken()
  return { kind: 'user', sub, sid, jti, roles, scope, iat, exp }
}
