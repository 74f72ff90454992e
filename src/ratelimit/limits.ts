import type { FastifyRequest, preHandlerAsyncHookHandler } from 'fastify'
import { recordAuditEvent, type RequestOrigin } from '../audit/audit-log.ts'
import type { Clock } from '../clock.ts'
import type { Config } from '../config/config.ts'
import { AppError } from '../http/errors.ts'
import type { Db } from '../storage/database.ts'
import { identityKey } from '../users/identity.ts'
import type { LimiterStore } from './store.ts'

const MINUTE_MS = 60_000
/** Refreshing is cheap and legitimate clients do it often; this only stops a runaway loop. */
export const REFRESH_PER_MINUTE = 120
/** Consecutive failed logins of one account before it is slowed down. */
export const THROTTLE_AFTER_FAILURES = 5
/** The longest an account is held back: long enough to stop guessing, short enough for its owner. */
export const THROTTLE_MAX_SECONDS = 15 * 60
/** Failures are forgotten a day after the last one. */
const FAILURE_MEMORY_MS = 24 * 60 * MINUTE_MS

export type AddressPolicy = 'login' | 'signup' | 'mail'

const rateLimited = (waitMs: number, message: string): AppError =>
  new AppError('RATE_LIMITED', message, {
    headers: { 'retry-after': String(Math.max(1, Math.ceil(waitMs / 1000))) },
  })

/**
 * Every limit Gatehouse enforces, in one place:
 *
 * | what | key | budget |
 * |---|---|---|
 * | login attempts (`/auth/login`, password grant) | client address | `LOGIN_RATE_LIMIT` per minute |
 * | login attempts | account (the login name) | `LOGIN_RATE_LIMIT` per minute |
 * | failed logins in a row | account | after 5: blocked 1 s, doubling per failure, at most 15 min |
 * | signups | client address | `SIGNUP_RATE_LIMIT` per minute |
 * | mails (reset, verification) | client address | `MAIL_RATE_LIMIT` per minute |
 * | refreshes | session | 120 per minute |
 */
export class RateLimits {
  constructor(
    private readonly store: LimiterStore,
    private readonly config: Config,
    private readonly clock: Clock,
    private readonly db: Db,
  ) {}

  /** A route's per-address limit, declared on the route as a preHandler. */
  byAddress(policy: AddressPolicy): preHandlerAsyncHookHandler {
    return async (request: FastifyRequest) => {
      await this.take(
        `${policy}:ip:${request.ip}`,
        this.perMinute(policy),
        `Too many ${policy} requests from this address.`,
      )
    }
  }

  /**
   * Before a password is checked: the address and account budgets, and any block the account
   * earned by failing. An unknown login name is limited exactly like a real one.
   */
  async beforeLogin(login: string, origin: RequestOrigin): Promise<void> {
    const account = identityKey(login)
    await this.take(
      `login:ip:${origin.ip}`,
      this.config.rateLimits.loginPerMinute,
      'Too many login attempts from this address.',
    )
    await this.take(
      `login:account:${account}`,
      this.config.rateLimits.loginPerMinute,
      'Too many login attempts for this account.',
    )
    const until = await this.store.blockedUntil(`login:${account}`, this.clock.now())
    if (until > 0)
      throw rateLimited(until - this.clock.now(), 'Too many failed logins for this account; try again later.')
  }

  /** A wrong password (or unknown user): after a few in a row the account is slowed down. */
  async afterLoginFailure(login: string, userId: string | null, origin: RequestOrigin): Promise<void> {
    const account = identityKey(login)
    const now = this.clock.now()
    const failures = await this.store.addFailure(`login:${account}`, FAILURE_MEMORY_MS, now)
    if (failures < THROTTLE_AFTER_FAILURES) return
    const seconds = Math.min(2 ** (failures - THROTTLE_AFTER_FAILURES), THROTTLE_MAX_SECONDS)
    await this.store.block(`login:${account}`, now + seconds * 1000, now)
    await recordAuditEvent(this.db, this.clock, {
      type: 'login_throttled',
      userId,
      origin,
      data: { username: login.slice(0, 254), failures, seconds },
    })
  }

  async afterLoginSuccess(login: string): Promise<void> {
    await this.store.clear(`login:${identityKey(login)}`)
  }

  async refresh(sessionId: string): Promise<void> {
    await this.take(
      `refresh:session:${sessionId}`,
      REFRESH_PER_MINUTE,
      'Too many refreshes for this session.',
    )
  }

  private perMinute(policy: AddressPolicy): number {
    const { loginPerMinute, signupPerMinute, mailPerMinute } = this.config.rateLimits
    return policy === 'login' ? loginPerMinute : policy === 'signup' ? signupPerMinute : mailPerMinute
  }

  private async take(key: string, perMinute: number, message: string): Promise<void> {
    const waitMs = await this.store.take(key, perMinute, MINUTE_MS, this.clock.now())
    if (waitMs > 0) throw rateLimited(waitMs, message)
  }
}
