import type { FastifyRequest, onRequestAsyncHookHandler } from 'fastify'
import type { Clock } from '../../platform/clock.ts'
import type { Config } from '../../platform/config/config.ts'
import { AppError } from '../../platform/http/errors.ts'
import { type RequestOrigin } from '../../platform/http/request-context.ts'
import { clientAddressKey, networkPrefix } from '../../platform/limiter/addresses.ts'
import type { LimiterStore } from '../../platform/limiter/store.ts'
import type { Db } from '../../platform/storage/database.ts'
import { recordAuditEvent } from '../audit/audit-log.ts'
import { identityKey } from '../users/login-names.ts'
import { isKnownPlace, rememberPlace } from './login-places.ts'

const MINUTE_MS = 60_000
/** Refreshing is cheap and legitimate clients do it often; this only stops a runaway loop. */
export const REFRESH_PER_MINUTE = 120
/** Consecutive failed logins of one account from one network before it is slowed down there. */
export const THROTTLE_AFTER_FAILURES = 5
/** The longest an account is held back: long enough to stop guessing, short enough for its owner. */
export const THROTTLE_MAX_SECONDS = 15 * 60
/** Failures are forgotten a day after the last one. */
const FAILURE_MEMORY_MS = 24 * 60 * MINUTE_MS
/**
 * Failed logins from unknown places (an account and a network it has not logged in from for 30
 * days) the whole service takes per minute, as a multiple of `LOGIN_RATE_LIMIT`: a guesser who
 * spreads over many networks spends this one budget, while owners at their usual places are exempt.
 */
export const UNKNOWN_PLACE_FAILURES_PER_LOGIN_LIMIT = 10
/** Mails (reset, verification) the whole service queues per minute, as a multiple of `MAIL_RATE_LIMIT`. */
export const MAILS_PER_MAIL_LIMIT = 60
/** Wrong current passwords through one session before `POST /me/password` ends that session. */
export const END_SESSION_AFTER_WRONG_PASSWORDS = 5
/**
 * Requests to the OAuth endpoints per address, as a multiple of `LOGIN_RATE_LIMIT`: machine clients
 * behind one address fetch tokens too, so this only stops floods; password grants also spend the
 * login budget, and failed client authentications a budget of their own.
 */
export const TOKEN_REQUESTS_PER_LOGIN_LIMIT = 30

export type AddressPolicy = 'login' | 'signup' | 'mail' | 'token'

const rateLimited = (waitMs: number, message: string): AppError =>
  new AppError('RATE_LIMITED', message, {
    headers: { 'retry-after': String(Math.max(1, Math.ceil(waitMs / 1000))) },
  })

/** A password about to be checked: whose, from where, as the throttle counts it. */
export interface PasswordAttempt {
  /**
   * The counter's account: the user id once the user is known (email or username, one counter),
   * else the normalised login name, so an unknown name is counted exactly like a real one.
   */
  account: string
  /** The login name as typed, for the audit log (empty for a password change). */
  login: string
  userId: string | null
  /** The client's network (IPv4 /24, IPv6 /64). */
  network: string
  /** The account logged in from this network in the last 30 days. */
  knownPlace: boolean
  origin: RequestOrigin
}

/**
 * Every limit Gatehouse enforces, in one place:
 *
 * | what | key | budget |
 * |---|---|---|
 * | requests to `/auth/login`, and password grants of `/auth/token` | client address (IPv6 /64) | `LOGIN_RATE_LIMIT` per minute, counted before the body is read (a grant: once it is known) |
 * | requests to `/auth/token`, `/auth/revoke` | client address | 30 × `LOGIN_RATE_LIMIT` per minute, before the body is read |
 * | failed client authentications (`/auth/token`, `/auth/introspect`, `/auth/revoke`) | client id, and client address | `LOGIN_RATE_LIMIT` per minute each |
 * | login attempts | account and client network (IPv4 /24, IPv6 /64) | `LOGIN_RATE_LIMIT` per minute |
 * | failed logins in a row | account and client network | after 5: blocked 1 s, doubling per failure, at most 15 min |
 * | failed logins from unknown places (no login of that account from that network in 30 days) | the whole service | 10 × `LOGIN_RATE_LIMIT` per minute |
 * | password checks of `POST /me/password` | user | `LOGIN_RATE_LIMIT` per minute; wrong ones count as failed logins; the 5th in a row ends the session |
 * | signups | client address | `SIGNUP_RATE_LIMIT` per minute, before the body is read |
 * | mails (reset, verification) | client address | `MAIL_RATE_LIMIT` per minute, before the body is read |
 * | mails (reset, verification) | the whole service | 60 × `MAIL_RATE_LIMIT` per minute |
 * | refreshes | session | 120 per minute |
 *
 * Reset mails are also limited per account (see `requestPasswordReset`), and the hashing queue
 * sheds load (see `HashingThreads`).
 */
export class RateLimits {
  constructor(
    private readonly store: LimiterStore,
    private readonly config: Config,
    private readonly clock: Clock,
    private readonly db: Db,
  ) {}

  /**
   * A route's per-address limit, declared on the route as an `onRequest` hook: it runs before the
   * body is parsed and validated, so a burst of invalid bodies is counted like any other.
   */
  byAddress(policy: AddressPolicy): onRequestAsyncHookHandler {
    return async (request: FastifyRequest) => {
      await this.spendAddressBudget(policy, request.ip)
      if (policy === 'mail') {
        await this.take(
          'mail:all',
          this.config.rateLimits.mailPerMinute * MAILS_PER_MAIL_LIMIT,
          'Too many mails are being requested; try again later.',
        )
      }
    }
  }

  /** One request of `policy` from `ip`; for a request whose policy is known only from its body. */
  async spendAddressBudget(policy: AddressPolicy, ip: string | null): Promise<void> {
    if (ip === null) return
    await this.take(
      `${policy}:ip:${clientAddressKey(ip)}`,
      this.perMinute(policy),
      `Too many ${policy} requests from this address.`,
    )
  }

  /** Before a client is authenticated: refused while its id or the address has failed too often. */
  async beforeClientAuthentication(clientId: string | undefined, ip: string | null): Promise<void> {
    const now = this.clock.now()
    for (const key of this.clientFailureKeys(clientId, ip)) {
      const waitMs = await this.store.peek(key, this.config.rateLimits.loginPerMinute, MINUTE_MS, now)
      if (waitMs > 0) throw rateLimited(waitMs, 'Too many failed client authentications; try again later.')
    }
  }

  async afterClientAuthenticationFailure(clientId: string | undefined, ip: string | null): Promise<void> {
    const now = this.clock.now()
    for (const key of this.clientFailureKeys(clientId, ip)) {
      await this.store.take(key, this.config.rateLimits.loginPerMinute, MINUTE_MS, now)
    }
  }

  private clientFailureKeys(clientId: string | undefined, ip: string | null): string[] {
    return [
      ...(clientId === undefined ? [] : [`client-auth:client:${clientId}`]),
      ...(ip === null ? [] : [`client-auth:ip:${clientAddressKey(ip)}`]),
    ]
  }

  /**
   * What the throttle needs to know about a login, `user` being who the name designates. The same
   * statement runs whether or not there is such a user.
   */
  async loginAttempt(
    login: string,
    user: { id: string } | undefined,
    origin: RequestOrigin,
  ): Promise<PasswordAttempt> {
    const account = user ? `id:${user.id}` : `name:${identityKey(login)}`
    const network = networkPrefix(origin.ip)
    const knownPlace = await isKnownPlace(this.db, this.clock, user?.id ?? account, network)
    return { account, login, userId: user?.id ?? null, network, knownPlace, origin }
  }

  /**
   * Before a password is checked: the budget of the account from this network, any block the
   * account earned by failing from this network, and — from an unknown place — the service's
   * budget of failures from unknown places.
   */
  async beforeLogin(attempt: PasswordAttempt): Promise<void> {
    await this.take(
      `login:account:${attempt.account}@${attempt.network}`,
      this.config.rateLimits.loginPerMinute,
      'Too many login attempts for this account.',
    )
    await this.refuseWhileBlocked(attempt)
    if (!attempt.knownPlace) {
      const waitMs = await this.store.peek(...this.unknownPlaceBudget(), this.clock.now())
      if (waitMs > 0) throw rateLimited(waitMs, 'Too many failed logins; try again later.')
    }
  }

  /** A wrong password (or unknown user): after a few in a row the account is slowed down there. */
  async afterLoginFailure(attempt: PasswordAttempt): Promise<void> {
    const now = this.clock.now()
    if (!attempt.knownPlace) await this.store.take(...this.unknownPlaceBudget(), now)
    const key = this.throttleKey(attempt)
    const failures = await this.store.addFailure(key, FAILURE_MEMORY_MS, now)
    if (failures < THROTTLE_AFTER_FAILURES) return
    const seconds = Math.min(2 ** (failures - THROTTLE_AFTER_FAILURES), THROTTLE_MAX_SECONDS)
    await this.store.block(key, now + seconds * 1000, now)
    await recordAuditEvent(this.db, this.clock, {
      type: 'login_throttled',
      userId: attempt.userId,
      origin: attempt.origin,
      data: { username: attempt.login.slice(0, 254), failures, seconds },
    })
  }

  /** The right password: the failures from this network are forgotten, and the place remembered. */
  async afterLoginSuccess(attempt: PasswordAttempt): Promise<void> {
    await this.store.clear(this.throttleKey(attempt))
    if (attempt.userId !== null) await rememberPlace(this.db, this.clock, attempt.userId, attempt.network)
  }

  /**
   * `POST /me/password` checks a password too: a per-user budget, and the failed-login throttle of
   * the account from this network (a block from failed logins holds here, and the other way round).
   * Whoever holds a session is not a stranger, so the unknown-places budget does not apply.
   */
  async beforePasswordChange(userId: string, origin: RequestOrigin): Promise<PasswordAttempt> {
    const attempt: PasswordAttempt = {
      account: `id:${userId}`,
      login: '',
      userId,
      network: networkPrefix(origin.ip),
      knownPlace: true,
      origin,
    }
    await this.take(
      `password-check:user:${userId}`,
      this.config.rateLimits.loginPerMinute,
      'Too many password checks for this account.',
    )
    await this.refuseWhileBlocked(attempt)
    return attempt
  }

  /** A wrong current password: a failed login, and the session's count of wrong ones so far. */
  async afterWrongCurrentPassword(attempt: PasswordAttempt, sessionId: string): Promise<number> {
    await this.afterLoginFailure(attempt)
    return this.store.addFailure(`password-check:session:${sessionId}`, FAILURE_MEMORY_MS, this.clock.now())
  }

  async afterRightCurrentPassword(attempt: PasswordAttempt, sessionId: string): Promise<void> {
    await this.store.clear(this.throttleKey(attempt))
    await this.store.clear(`password-check:session:${sessionId}`)
  }

  async refresh(sessionId: string): Promise<void> {
    await this.take(
      `refresh:session:${sessionId}`,
      REFRESH_PER_MINUTE,
      'Too many refreshes for this session.',
    )
  }

  private async refuseWhileBlocked(attempt: PasswordAttempt): Promise<void> {
    const now = this.clock.now()
    const until = await this.store.blockedUntil(this.throttleKey(attempt), now)
    if (until > 0) throw rateLimited(until - now, 'Too many failed logins for this account; try again later.')
  }

  private throttleKey(attempt: PasswordAttempt): string {
    return `login:${attempt.account}@${attempt.network}`
  }

  private unknownPlaceBudget(): [key: string, limit: number, windowMs: number] {
    const limit = this.config.rateLimits.loginPerMinute * UNKNOWN_PLACE_FAILURES_PER_LOGIN_LIMIT
    return ['login:unknown-places', limit, MINUTE_MS]
  }

  private perMinute(policy: AddressPolicy): number {
    const { loginPerMinute, signupPerMinute, mailPerMinute } = this.config.rateLimits
    switch (policy) {
      case 'login':
        return loginPerMinute
      case 'token':
        return loginPerMinute * TOKEN_REQUESTS_PER_LOGIN_LIMIT
      case 'signup':
        return signupPerMinute
      case 'mail':
        return mailPerMinute
    }
  }

  private async take(key: string, perMinute: number, message: string): Promise<void> {
    const waitMs = await this.store.take(key, perMinute, MINUTE_MS, this.clock.now())
    if (waitMs > 0) throw rateLimited(waitMs, message)
  }
}
