import { isoAt, type Clock } from '../../../platform/clock.ts'
import { hashOpaqueToken } from '../../../platform/crypto/opaque-tokens.ts'
import { AuthenticationError } from '../../../platform/http/errors.ts'
import type { Db } from '../../../platform/storage/database.ts'
import { findPersonalTokenByHash, touchPersonalToken } from '../../personal-access-tokens/store.ts'
import { PERSONAL_TOKEN_PREFIX, isPersonalTokenFormat } from '../../personal-access-tokens/tokens.ts'
import type { Revocations } from '../../revocations/revocations.ts'
import { narrowScopes, scopeSet, type RoleScopes } from '../../tokens/scopes.ts'
import type { PersonalTokenPrincipal } from '../principal.ts'
import type { Authenticator } from './authenticator.ts'

export interface PersonalTokenAuthenticatorDeps {
  db: Db
  clock: Clock
  revocations: Revocations
  roleScopes: RoleScopes
}

/**
 * How long a looked-up token is trusted without reading it again. Deletion, disabling, deleting a
 * user and taking a role away reach the cache at once through revocation records; this bounds what
 * nothing announces — a role given, a user re-enabled — to a minute.
 */
export const PERSONAL_TOKEN_CACHE_MS = 60_000
/** `last_used_at` is written at most this often per token and instance: not on every request. */
export const LAST_USED_RESOLUTION_MS = 60_000
/** Tokens cached per instance; the least recently used go first beyond it. */
export const PERSONAL_TOKEN_CACHE_SIZE = 10_000

/** A token as its lookup found it, with when: what a request answered from memory relies on. */
interface CachedToken {
  principal: Readonly<PersonalTokenPrincipal>
  /** `expires_at` (ms). */
  expiresAt: number
  /** When the lookup started (ms): a `user` record from then on may postdate what it read. */
  loadedAt: number
  /** When `last_used_at` was last written (ms), by anyone, as far as this instance knows. */
  lastUsedAt: number | undefined
}

const invalidPersonalToken = () =>
  new AuthenticationError('INVALID_TOKEN', 'The personal access token is not valid.')

/**
 * A user's personal access token (`gatehouse_pat_…`): known by its hash, unexpired, its user
 * present and enabled. Its scopes are the ones it was given, narrowed to the user's current roles
 * at every use. Every failure is `401 INVALID_TOKEN`, and one of the wrong shape costs no query.
 *
 * A token seen in the last minute is answered from a bounded cache keyed by the whole token string,
 * with no query: valid while unexpired, not revoked (`pat`), and no `user` record — disabling,
 * deleting or demoting its user — has come since it was read. Those records reach every instance at
 * once (Redis) or within a reconcile interval, like a session's.
 *
 * ```ts
 * installRouteGuards(app, { db, limits, authenticators: [personalAccessTokenAuthenticator(deps), accessTokenAuthenticator(tokens)] })
 * ```
 */
export function personalAccessTokenAuthenticator(
  deps: PersonalTokenAuthenticatorDeps,
  options: { cacheSize?: number } = {},
): Authenticator {
  const { db, clock, revocations, roleScopes } = deps
  const maxEntries = options.cacheSize ?? PERSONAL_TOKEN_CACHE_SIZE
  // Map order is least recently used first.
  const cache = new Map<string, CachedToken>()

  const remember = (token: string, entry: CachedToken) => {
    cache.delete(token)
    cache.set(token, entry)
    if (cache.size > maxEntries) {
      const oldest = cache.keys().next()
      if (oldest.done !== true) cache.delete(oldest.value)
    }
  }

  /** The cached entry while nothing since its lookup can have changed its answer. */
  const fromCache = async (token: string, now: number): Promise<CachedToken | undefined> => {
    const entry = cache.get(token)
    if (!entry) return undefined
    cache.delete(token)
    if (now >= entry.expiresAt || now - entry.loadedAt >= PERSONAL_TOKEN_CACHE_MS) return undefined
    if (await revocations.isRevoked('pat', entry.principal.tokenId)) throw invalidPersonalToken()
    // `>=`: a record made in the very millisecond of the lookup may postdate what it read.
    const userRevokedAt = await revocations.revokedAt('user', entry.principal.userId)
    if (userRevokedAt !== undefined && userRevokedAt >= entry.loadedAt) return undefined
    cache.set(token, entry)
    return entry
  }

  const lookUp = async (token: string, now: number): Promise<CachedToken> => {
    const found = await findPersonalTokenByHash(db, hashOpaqueToken(token))
    if (!found || found.userDisabled) throw invalidPersonalToken()
    const expiresAt = Date.parse(found.expiresAt)
    if (now >= expiresAt) throw invalidPersonalToken()
    const roles = Object.freeze([...found.userRoles]) as string[]
    const principal: PersonalTokenPrincipal = {
      kind: 'personal_token',
      userId: found.userId,
      tokenId: found.id,
      roles,
      scopes: scopeSet(narrowScopes(roleScopes, roles, found.scope)),
      expiresAt: Math.floor(expiresAt / 1000),
    }
    const lastUsedAt = found.lastUsedAt === null ? undefined : Date.parse(found.lastUsedAt)
    return { principal: Object.freeze(principal), expiresAt, loadedAt: now, lastUsedAt }
  }

  return {
    recognizes: (token) => token.startsWith(PERSONAL_TOKEN_PREFIX),
    async authenticate(token) {
      if (!isPersonalTokenFormat(token)) throw invalidPersonalToken()
      const now = clock.now()
      const entry = (await fromCache(token, now)) ?? (await lookUp(token, now))
      if (entry.lastUsedAt === undefined || now - entry.lastUsedAt >= LAST_USED_RESOLUTION_MS) {
        // Set before the write, so concurrent requests with the token do not write it too.
        entry.lastUsedAt = now
        await touchPersonalToken(db, entry.principal.tokenId, isoAt(now))
      }
      remember(token, entry)
      return entry.principal
    },
  }
}
