import type { Context } from '../../context.ts'
import { findPersonalTokenByHash } from '../../identity/personal-access-tokens/store.ts'
import { PERSONAL_TOKEN_PREFIX } from '../../identity/personal-access-tokens/tokens.ts'
import { findRefreshToken } from '../../identity/sessions/store.ts'
import { GATEHOUSE_CLIENT_ID, type AccessClaims } from '../../identity/tokens/access-tokens.ts'
import { narrowScopes } from '../../identity/tokens/scopes.ts'
import { findUserById } from '../../identity/users/store.ts'
import { isoAt } from '../../platform/clock.ts'
import { AuthenticationError } from '../../platform/http/errors.ts'
import { hashOpaqueToken } from '../../platform/crypto/opaque-tokens.ts'
import type { IntrospectionResponse } from './schemas.ts'

/** A presented token that is live now, and what it is. */
export type LiveToken =
  | { kind: 'access_token'; claims: AccessClaims }
  | {
      kind: 'refresh_token'
      userId: string
      sessionId: string
      scope: string
      createdAt: string
      expiresAt: string
    }
  | {
      kind: 'personal_access_token'
      id: string
      userId: string
      username: string | null
      scope: string
      createdAt: string
      expiresAt: string
    }

type InspectionDeps = Pick<Context, 'db' | 'clock' | 'config' | 'accessTokens'>

/**
 * What `token` is, if it is live: a Gatehouse access token (a user's or a machine client's,
 * verified like any bearer token: signature, claims, revocation), a refresh token that can still
 * be used (not rotated away, its session live), or a personal access token (unexpired, its user
 * enabled). The kind is told by the token's shape, so a `token_type_hint` is never needed.
 */
export async function inspectToken(ctx: InspectionDeps, token: string): Promise<LiveToken | undefined> {
  const now = isoAt(ctx.clock.now())
  // Personal access tokens announce themselves (GitHub-style): no hint is needed.
  if (token.startsWith(PERSONAL_TOKEN_PREFIX)) {
    const found = await findPersonalTokenByHash(ctx.db, hashOpaqueToken(token))
    if (!found || found.userDisabled || found.expiresAt <= now) return undefined
    return {
      kind: 'personal_access_token',
      id: found.id,
      userId: found.userId,
      username: found.username,
      scope: narrowScopes(ctx.config.roleScopes, found.userRoles, found.scope),
      createdAt: found.createdAt,
      expiresAt: found.expiresAt,
    }
  }
  if (token.split('.').length === 3) {
    try {
      return { kind: 'access_token', claims: await ctx.accessTokens.verify(token) }
    } catch (error) {
      if (error instanceof AuthenticationError) return undefined
      throw error
    }
  }
  const found = await findRefreshToken(ctx.db, hashOpaqueToken(token))
  if (
    !found ||
    found.rotatedAt !== null ||
    found.sessionRevokedAt !== null ||
    found.expiresAt <= now ||
    found.sessionExpiresAt <= now
  )
    return undefined
  return {
    kind: 'refresh_token',
    userId: found.userId,
    sessionId: found.sessionId,
    scope: found.scope,
    createdAt: found.createdAt,
    expiresAt: found.expiresAt,
  }
}

/** The client a live token was issued to (RFC 7009 §2.1): `gatehouse` for every user token. */
export function clientOf(token: LiveToken): string {
  return token.kind === 'access_token' && token.claims.kind === 'client'
    ? token.claims.client_id
    : GATEHOUSE_CLIENT_ID
}

/** RFC 7662 §2.2 for a live token; a user's that no longer exists is not live. */
export async function introspection(
  ctx: InspectionDeps,
  token: LiveToken | undefined,
): Promise<IntrospectionResponse> {
  if (!token) return { active: false }
  const common = { iss: ctx.config.jwt.issuer, aud: ctx.config.jwt.audience, client_id: clientOf(token) }
  if (token.kind === 'access_token' && token.claims.kind === 'client') {
    const { claims } = token
    return {
      active: true,
      token_type: 'bearer',
      ...common,
      scope: claims.scope,
      sub: claims.sub,
      ...times(claims),
      jti: claims.jti,
    }
  }
  const userId = token.kind === 'access_token' ? token.claims.sub : token.userId
  const user =
    token.kind === 'personal_access_token' ? { username: token.username } : await findUserById(ctx.db, userId)
  if (!user) return { active: false }
  const username = user.username === null ? {} : { username: user.username }
  switch (token.kind) {
    case 'access_token':
      return {
        active: true,
        token_type: 'bearer',
        ...common,
        scope: token.claims.scope,
        sub: userId,
        ...username,
        ...times(token.claims),
        jti: token.claims.jti,
        ...(token.claims.kind === 'user' && { sid: token.claims.sid }),
      }
    case 'refresh_token':
      return {
        active: true,
        token_type: 'refresh_token',
        ...common,
        scope: token.scope,
        sub: userId,
        ...username,
        exp: seconds(token.expiresAt),
        iat: seconds(token.createdAt),
        sid: token.sessionId,
      }
    case 'personal_access_token':
      return {
        active: true,
        token_type: 'bearer',
        ...common,
        scope: token.scope,
        sub: userId,
        ...username,
        exp: seconds(token.expiresAt),
        iat: seconds(token.createdAt),
        jti: token.id,
      }
  }
}

const times = (claims: AccessClaims) => ({ exp: claims.exp, iat: claims.iat })
const seconds = (iso: string): number => Math.floor(Date.parse(iso) / 1000)
