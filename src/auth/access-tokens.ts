import { randomUUID } from 'node:crypto'
import { SignJWT, errors, jwtVerify, type JWTHeaderParameters, type JWTPayload } from 'jose'
import type { Clock } from '../clock.ts'
import type { Config } from '../config/config.ts'
import { AuthenticationError } from '../http/errors.ts'
import type { KeyStore } from '../keys/key-store.ts'
import type { Revocations } from '../sessions/revocations.ts'

/** RFC 9068 §2.1: access tokens are typed so they cannot be confused with other JWTs. */
const ACCESS_TOKEN_TYPE = 'at+jwt'
/** Tolerated clock difference between instances when checking `exp`, `nbf` and `iat`. */
const CLOCK_TOLERANCE_SECONDS = 30

export interface AccessClaims {
  sub: string
  sid: string
  jti: string
  roles: string[]
  scope: string
  iat: number
  exp: number
}

export interface AccessTokenSubject {
  userId: string
  sessionId: string
  roles: string[]
  scope: string
}

export class AccessTokens {
  constructor(
    private readonly keys: KeyStore,
    private readonly revocations: Revocations,
    private readonly config: Config,
    private readonly clock: Clock,
  ) {}

  get ttlSeconds(): number {
    return this.config.accessTokenTtlSeconds
  }

  async issue(subject: AccessTokenSubject): Promise<string> {
    const { kid, alg, key } = this.keys.signingKey()
    const now = Math.floor(this.clock.now() / 1000)
    return new SignJWT({ sid: subject.sessionId, roles: subject.roles, scope: subject.scope })
      .setProtectedHeader({ alg, kid, typ: ACCESS_TOKEN_TYPE })
      .setIssuer(this.config.jwt.issuer)
      .setAudience(this.config.jwt.audience)
      .setSubject(subject.userId)
      .setIssuedAt(now)
      .setExpirationTime(now + this.config.accessTokenTtlSeconds)
      .setJti(randomUUID())
      .sign(key)
  }

  /**
   * Verifies an access token against the configured algorithm only — the token's own header never
   * chooses it — the contract's required header and claims, and that its session has not been
   * revoked (answered from memory, see `Revocations`). Every failure is an
   * `AuthenticationError` (401); nothing a client sends can make this throw anything else.
   *
   * ```ts
   * const claims = await accessTokens.verify(bearerToken) // throws 401 INVALID_TOKEN / TOKEN_EXPIRED
   * ```
   */
  async verify(token: string): Promise<AccessClaims> {
    const claims = await this.verifySignedClaims(token)
    if (await this.revocations.isRevoked(claims.sid)) {
      throw new AuthenticationError('INVALID_TOKEN', 'The access token has been revoked.')
    }
    return claims
  }

  private async verifySignedClaims(token: string): Promise<AccessClaims> {
    try {
      const { payload } = await jwtVerify(token, (header) => this.keyFor(header), {
        algorithms: [this.config.jwt.algorithm],
        typ: ACCESS_TOKEN_TYPE,
        issuer: this.config.jwt.issuer,
        audience: this.config.jwt.audience,
        requiredClaims: ['sub', 'sid', 'jti', 'iat', 'exp'],
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        currentDate: new Date(this.clock.now()),
      })
      return toClaims(payload, this.clock.now() / 1000)
    } catch (error) {
      if (error instanceof AuthenticationError) throw error
      if (error instanceof errors.JWTExpired) {
        throw new AuthenticationError('TOKEN_EXPIRED', 'The access token has expired.', error)
      }
      if (error instanceof errors.JOSEError || error instanceof TypeError) {
        throw new AuthenticationError('INVALID_TOKEN', 'The access token is not valid.', error)
      }
      throw error
    }
  }

  private async keyFor(header: JWTHeaderParameters) {
    const kid = header.kid
    const found = typeof kid === 'string' ? await this.keys.verificationKey(kid) : undefined
    if (!found || found.alg !== header.alg) {
      throw new AuthenticationError('INVALID_TOKEN', 'The access token is not valid.')
    }
    return found.key
  }
}

/** Claim types, and `iat` not in the future (jose checks `nbf` and `exp`, not this). */
function toClaims(payload: JWTPayload, nowSeconds: number): AccessClaims {
  const { sub, sid, jti, roles, scope, iat, exp } = payload
  const isStringList = Array.isArray(roles) && roles.every((role) => typeof role === 'string')
  if (
    typeof sub !== 'string' ||
    typeof sid !== 'string' ||
    typeof jti !== 'string' ||
    typeof scope !== 'string' ||
    typeof iat !== 'number' ||
    typeof exp !== 'number' ||
    iat > nowSeconds + CLOCK_TOLERANCE_SECONDS ||
    !isStringList
  ) {
    throw new AuthenticationError('INVALID_TOKEN', 'The access token is not valid.')
  }
  return { sub, sid, jti, roles: roles, scope, iat, exp }
}
