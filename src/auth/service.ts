import { isoAt } from '../clock.ts'
import { AppError, invalidCredentials } from '../http/errors.ts'
import { currentLog } from '../http/request-context.ts'
import type { Services } from '../services.ts'
import { startSession, type ClientInfo } from '../sessions/service.ts'
import { findUserByLogin, updateUser } from '../users/repository.ts'
import type { User } from '../users/schemas.ts'
import { createAccount } from '../users/service.ts'
import type { SignupBody, TokenResponse } from './schemas.ts'
import { grantScopes } from './scopes.ts'

export async function signup(services: Services, body: SignupBody): Promise<User> {
  return createAccount(services, {
    email: body.email,
    password: body.password,
    username: body.username,
    fullName: body.full_name,
    roles: ['user'],
  })
}

export interface PasswordCredentials {
  username: string
  password: string
  scope?: string | undefined
}

/**
 * The password grant behind `/auth/login` and `/auth/token`. An unknown user costs one argon2id
 * verification, like a wrong password, and both fail with the same error. A bcrypt or outdated
 * argon2 hash is replaced with a current argon2id hash once the password is proven.
 */
export async function loginWithPassword(
  services: Services,
  credentials: PasswordCredentials,
  client: ClientInfo,
): Promise<TokenResponse> {
  const { db, hasher, metrics, clock } = services
  const user = await findUserByLogin(db, credentials.username)
  const check = user
    ? await hasher.verify(user.password_hash, credentials.password)
    : { ok: await hasher.verifyNothing(credentials.password), needsRehash: false }
  if (!user || !check.ok) {
    metrics.loginFailed()
    throw invalidCredentials()
  }
  if (user.disabled === 1) {
    metrics.loginFailed()
    throw new AppError('ACCOUNT_DISABLED', 'This account is disabled.')
  }
  if (check.needsRehash) {
    const passwordHash = await hasher.hash(credentials.password)
    await updateUser(db, user.id, { passwordHash }, isoAt(clock.now()))
    currentLog(services.logger).info({ user_id: user.id }, 'password hash upgraded to argon2id')
  }
  const roles = JSON.parse(user.roles) as string[]
  const session = await startSession(db, clock, services.config.refreshTokenTtlSeconds, user.id, client)
  const scope = grantScopes(roles, credentials.scope)
  const accessToken = await services.accessTokens.issue({
    userId: user.id,
    sessionId: session.sessionId,
    roles,
    scope,
  })
  metrics.loginSucceeded()
  return {
    access_token: accessToken,
    token_type: 'bearer',
    expires_in: services.accessTokens.ttlSeconds,
    refresh_token: session.refreshToken,
    refresh_expires_in: session.refreshExpiresInSeconds,
    scope,
  }
}
