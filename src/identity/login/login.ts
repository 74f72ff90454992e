import { refuseUnverifiedLogin } from '../../features/email-verification/service.ts'
import { recordAuditEvent, type RequestOrigin } from '../audit/audit-log.ts'
import { isoAt } from '../../platform/clock.ts'
import { invalidCredentials, accountDisabled, invalidRefreshToken } from '../../platform/http/errors.ts'
import type { Context } from '../../context.ts'
import { rotateRefreshToken, startSession, type IssuedRefreshToken } from '../sessions/sessions.ts'
import { findUserById, findUserByLogin, updateUser } from '../users/store.ts'
import type { User } from '../users/schemas.ts'
import { createAccount } from '../users/accounts.ts'
import type { SignupBody, TokenResponse } from '../tokens/schemas.ts'
import { grantScopes, narrowScopes } from '../tokens/scopes.ts'

export async function signup(ctx: Context, body: SignupBody, origin: RequestOrigin): Promise<User> {
  const user = await createAccount(ctx, {
    email: body.email,
    password: body.password,
    username: body.username,
    fullName: body.full_name,
    roles: ['user'],
  })
  await recordAuditEvent(ctx.db, ctx.clock, { type: 'signup', userId: user.id, origin })
  return user
}

export interface PasswordCredentials {
  username: string
  password: string
  scope?: string | undefined
}

/**
 * The password grant behind `/auth/login` and `/auth/token` (their per-address budget is taken
 * before the body is read). The throttle of an account that keeps failing from this network, and
 * the budget of failures from unknown places, apply before the password is checked (see
 * `RateLimits`); the counters key on the user id once the name is found. An unknown user costs one argon2id
 * verification, like a wrong password, and both fail with the same error. A bcrypt or outdated
 * argon2 hash is replaced with a current argon2id hash once the password is proven.
 */
export async function loginWithPassword(
  ctx: Context,
  credentials: PasswordCredentials,
  origin: RequestOrigin,
): Promise<TokenResponse> {
  const { db, hasher, metrics, clock, limits } = ctx
  const user = await findUserByLogin(db, credentials.username)
  const attempt = await limits.loginAttempt(credentials.username, user, origin)
  await limits.beforeLogin(attempt)
  const check = user
    ? await hasher.verify(user.password_hash, credentials.password)
    : { ok: await hasher.verifyNothing(credentials.password), needsRehash: false }
  if (!user || !check.ok || user.disabled === 1) {
    metrics.loginFailed()
    await recordAuditEvent(db, clock, {
      type: 'login_failed',
      userId: user?.id ?? null,
      origin,
      data: {
        username: credentials.username.slice(0, 254),
        reason: !user ? 'unknown_user' : !check.ok ? 'wrong_password' : 'disabled',
      },
    })
    if (!user || !check.ok) await limits.afterLoginFailure(attempt)
    throw user && check.ok ? accountDisabled() : invalidCredentials()
  }
  if (ctx.config.requireVerifiedEmail && user.email_verified === 0) {
    await refuseUnverifiedLogin(ctx, user, credentials.username, origin)
  }
  await limits.afterLoginSuccess(attempt)
  if (check.needsRehash) {
    const passwordHash = await hasher.hash(credentials.password)
    await updateUser(db, user.id, { passwordHash }, isoAt(clock.now()))
    ctx.logger.info({ request_id: origin.requestId, user_id: user.id }, 'password hash upgraded to argon2id')
  }
  const roles = JSON.parse(user.roles) as string[]
  const session = await startSession(
    ctx,
    user.id,
    grantScopes(ctx.config.roleScopes, roles, credentials.scope),
    origin,
  )
  metrics.loginSucceeded()
  await recordAuditEvent(db, clock, {
    type: 'login_succeeded',
    userId: user.id,
    origin,
    data: { session_id: session.sessionId },
  })
  return tokenResponse(ctx, roles, session)
}

/**
 * The refresh grant behind `/auth/refresh` and `/auth/token`: rotates the refresh token and issues
 * a new access token with the user's current roles and the session's scope, narrowed to them.
 */
export async function refreshWithToken(
  ctx: Context,
  refreshToken: string,
  origin: RequestOrigin,
): Promise<TokenResponse> {
  const session = await rotateRefreshToken(ctx, refreshToken, origin)
  const user = await findUserById(ctx.db, session.userId)
  if (!user) throw invalidRefreshToken()
  if (user.disabled === 1) throw accountDisabled()
  return tokenResponse(ctx, JSON.parse(user.roles) as string[], session)
}

async function tokenResponse(
  ctx: Context,
  roles: string[],
  session: IssuedRefreshToken,
): Promise<TokenResponse> {
  const scope = narrowScopes(ctx.config.roleScopes, roles, session.scope)
  const accessToken = await ctx.accessTokens.issue({
    userId: session.userId,
    sessionId: session.sessionId,
    roles,
    scope,
  })
  return {
    access_token: accessToken,
    token_type: 'bearer',
    expires_in: ctx.accessTokens.ttlSeconds,
    refresh_token: session.refreshToken,
    refresh_expires_in: session.refreshExpiresInSeconds,
    scope,
  }
}
