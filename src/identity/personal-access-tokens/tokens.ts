import { randomUUID } from 'node:crypto'
import { isoAt, type Clock } from '../../platform/clock.ts'
import { PAT_MIN_TTL_SECONDS } from '../../platform/config/config.ts'
import { hashOpaqueToken, newOpaqueToken } from '../../platform/crypto/opaque-tokens.ts'
import { ValidationError, notFound, type FieldProblem } from '../../platform/http/errors.ts'
import type { RequestOrigin } from '../../platform/http/request-context.ts'
import type { Db } from '../../platform/storage/database.ts'
import { recordAuditEvent } from '../audit/audit-log.ts'
import { allowedScopes, splitScopes, type RoleScopes } from '../tokens/scopes.ts'
import { findUserById } from '../users/store.ts'
import { countPersonalTokens, insertPersonalToken, type PersonalToken } from './store.ts'

/** What every personal access token starts with, so the guard (and secret scanners) know one. */
export const PERSONAL_TOKEN_PREFIX = 'gatehouse_pat_'
/** The prefix, then 32 random bytes in base64url (43 characters, no padding). */
const PERSONAL_TOKEN_FORMAT = /^gatehouse_pat_[A-Za-z0-9_-]{43}$/

/** How many personal access tokens one user may hold at once, expired ones included until pruned. */
export const MAX_PERSONAL_TOKENS_PER_USER = 100

/** Whether `token` is shaped like a personal access token: decided without the database. */
export function isPersonalTokenFormat(token: string): boolean {
  return PERSONAL_TOKEN_FORMAT.test(token)
}

export interface PersonalTokenDeps {
  db: Db
  clock: Clock
  roleScopes: RoleScopes
  /** `PAT_MAX_TTL`: the longest lifetime, and the default. */
  maxTtlSeconds: number
}

/** The access token from a login that asks for a personal access token. */
export interface PersonalTokenCreator {
  userId: string
  scopes: ReadonlySet<string>
}

export interface PersonalTokenRequest {
  name: string
  /** Space-separated; absent: every scope of the creating token. */
  scope?: string | undefined
  /** Seconds; absent: `maxTtlSeconds`. */
  expiresIn?: number | undefined
}

/** The one answer that shows the token; it is stored only as its hash. */
export interface CreatedPersonalToken extends PersonalToken {
  token: string
}

/**
 * Makes a personal access token for the user of `creator`. Its scope is the scope asked for, which
 * must be held by the creating token and allowed by the user's current roles: a scope beyond that
 * is refused (`422` naming `scope`), not silently dropped, since a script would otherwise learn
 * only at its first use — maybe months later — that its long-lived credential cannot do its job.
 * Asking for nothing gives the creating token's scope (narrowed to the roles). Audited as
 * `personal_token_created`, without the token.
 *
 * ```ts
 * const { token } = await createPersonalToken(deps, sessionOf(request), { name: 'CI', scope: 'todos:read' }, origin)
 * ```
 */
export async function createPersonalToken(
  deps: PersonalTokenDeps,
  creator: PersonalTokenCreator,
  request: PersonalTokenRequest,
  origin: RequestOrigin,
): Promise<CreatedPersonalToken> {
  const { db, clock } = deps
  const user = await findUserById(db, creator.userId)
  if (!user || user.disabled) throw notFound('user')
  const grantable = allowedScopes(deps.roleScopes, user.roles).filter((scope) => creator.scopes.has(scope))
  const asked = request.scope === undefined ? grantable : splitScopes(request.scope)
  const expiresIn = request.expiresIn ?? deps.maxTtlSeconds

  const problems: FieldProblem[] = []
  const beyond = asked.filter((scope) => !grantable.includes(scope))
  if (request.scope !== undefined && asked.length === 0)
    problems.push({ field: 'scope', message: 'name at least one scope, or leave it out' })
  if (beyond.length > 0) {
    problems.push({
      field: 'scope',
      message: `not held by the access token that asks, or not allowed by your roles: ${beyond.join(' ')}; grantable: ${grantable.join(' ') || '(none)'}`,
    })
  }
  if (!Number.isInteger(expiresIn) || expiresIn < PAT_MIN_TTL_SECONDS || expiresIn > deps.maxTtlSeconds) {
    problems.push({
      field: 'expires_in',
      message: `seconds from ${PAT_MIN_TTL_SECONDS} to ${deps.maxTtlSeconds} (PAT_MAX_TTL)`,
    })
  }
  if ((await countPersonalTokens(db, user.id)) >= MAX_PERSONAL_TOKENS_PER_USER) {
    problems.push({
      field: 'body',
      message: `you hold ${MAX_PERSONAL_TOKENS_PER_USER} personal access tokens already; delete one first`,
    })
  }
  if (problems.length > 0) throw new ValidationError(problems)

  const now = clock.now()
  const token = `${PERSONAL_TOKEN_PREFIX}${newOpaqueToken()}`
  const created: PersonalToken = {
    id: randomUUID(),
    userId: user.id,
    name: request.name,
    // In the order the roles list them, like a login's granted scope.
    scope: grantable.filter((scope) => asked.includes(scope)).join(' '),
    createdAt: isoAt(now),
    expiresAt: isoAt(now + expiresIn * 1000),
    lastUsedAt: null,
  }
  await insertPersonalToken(db, { ...created, tokenHash: hashOpaqueToken(token) })
  await recordAuditEvent(db, clock, {
    type: 'personal_token_created',
    userId: user.id,
    origin,
    data: { token_id: created.id, name: created.name, scope: created.scope, expires_at: created.expiresAt },
  })
  return { ...created, token }
}
