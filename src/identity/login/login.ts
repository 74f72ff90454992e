import type { Logger } from 'pino'
import { isoAt, type Clock } from '../../platform/clock.ts'
import type { Config } from '../../platform/config/config.ts'
import type { PasswordHasher } from '../../platform/crypto/passwords.ts'
import { invalidCredentials } from '../../platform/http/errors.ts'
import type { Metrics } from '../../platform/http/metrics.ts'
import { type RequestOrigin } from '../../platform/http/request-context.ts'
import type { Db } from '../../platform/storage/database.ts'
import { recordAuditEvent } from '../audit/audit-log.ts'
import type { RateLimits } from '../limits/limits.ts'
import { startSession, type SessionDeps } from '../sessions/rotation.ts'
import type { AccessTokens } from '../tokens/access-tokens.ts'
import { grantScopes } from '../tokens/scopes.ts'
import { tokenResponse, type TokenResponse } from '../tokens/token-response.ts'
import { findUserByLogin, setPassword } from '../users/store.ts'
import type { LoginCheck, ProvenLogin } from './checks.ts'

export type LoginDeps = SessionDeps & {
  db: Db
  clock: Clock
  config: Config
  logger: Logger
  hasher: PasswordHasher
  metrics: Metrics
  limits: RateLimits
  accessTokens: AccessTokens
  loginChecks: readonly LoginCheck[]
}

/** RFC 8176 `pwd`: one factor, assurance level 1 (NIST SP 800-63B). */
const PASSWORD_PROOF = { amr: ['pwd'], acr: 'aal1' } as const

export interface PasswordCredentials {
  username: string
  password: string
  scope?: string | undefined
}

/**
 * The password login behind `/auth/login` and the password grant (their per-address budget is
 * taken before the body is read). The throttle of an account that keeps failing from this network,
 * and the budget of failures from unknown places, apply before the password is checked (see
 * `RateLimits`); the counters key on the user id once the name is found. An unknown user costs one
 * argon2id verification, like a wrong password, and both fail with the same error. Then the login
 * checks run; a bcrypt or outdated argon2 hash is replaced with a current argon2id hash once they pass.
 */
export async function loginWithPassword(
  ctx: LoginDeps,
  credentials: PasswordCredentials,
  origin: RequestOrigin,
): Promise<TokenResponse> {
  const { db, hasher, clock, limits } = ctx
  const user = await findUserByLogin(db, credentials.username)
  const attempt = await limits.loginAttempt(credentials.username, user, origin)
  await limits.beforeLogin(attempt)
  const check = user
    ? await hasher.verify(user.passwordHash, credentials.password)
    : { ok: await hasher.verifyNothing(credentials.password), needsRehash: false }
  if (!user || !check.ok) {
    await recordLoginFailure(
      ctx,
      user?.id ?? null,
      credentials.username,
      origin,
      user ? 'wrong_password' : 'unknown_user',
    )
    await limits.afterLoginFailure(attempt)
    throw invalidCredentials()
  }
  const login: ProvenLogin = { user, username: credentials.username, origin, authentication: PASSWORD_PROOF }
  await passLoginChecks(ctx, login)
  await limits.afterLoginSuccess(attempt)
  if (check.needsRehash) {
    const passwordHash = await hasher.hash(credentials.password)
    await setPassword(db, user.id, passwordHash, isoAt(clock.now()))
    ctx.logger.info({ request_id: origin.requestId, user_id: user.id }, 'password hash upgraded to argon2id')
  }
  return startLoginSession(ctx, login, credentials.scope)
}

/** Runs the login checks in order; the first refusal is recorded as a failed login and thrown. */
export async function passLoginChecks(
  ctx: Pick<LoginDeps, 'db' | 'clock' | 'metrics' | 'loginChecks'>,
  login: ProvenLogin,
): Promise<void> {
  for (const check of ctx.loginChecks) {
    const refusal = await check(login)
    if (!refusal) continue
    await recordLoginFailure(ctx, login.user.id, login.username, login.origin, refusal.reason)
    await refusal.afterRecorded?.()
    throw refusal.error
  }
}

/** Opens the session of a login that passed its checks and answers with its first tokens. */
export async function startLoginSession(
  ctx: LoginDeps,
  login: ProvenLogin,
  requestedScope: string | undefined,
): Promise<TokenResponse> {
  const { user, origin } = login
  const { roles } = user
  const scope = grantScopes(ctx.config.roleScopes, roles, requestedScope)
  const session = await startSession(ctx, user.id, scope, login.authentication, origin)
  ctx.metrics.loginSucceeded()
  await recordAuditEvent(ctx.db, ctx.clock, {
    type: 'login_succeeded',
    userId: user.id,
    origin,
    data: { session_id: session.sessionId },
  })
  return tokenResponse(ctx, roles, session)
}

async function recordLoginFailure(
  ctx: Pick<LoginDeps, 'db' | 'clock' | 'metrics'>,
  userId: string | null,
  username: string,
  origin: RequestOrigin,
  reason: string,
): Promise<void> {
  ctx.metrics.loginFailed()
  await recordAuditEvent(ctx.db, ctx.clock, {
    type: 'login_failed',
    userId,
    origin,
    data: { username: username.slice(0, 254), reason },
  })
}
