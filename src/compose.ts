import type { Logger } from 'pino'
import type { Context } from './context.ts'
import { refuseUnverifiedEmail } from './features/email-verification/login-check.ts'
import { recordAuditEvent } from './identity/audit/audit-log.ts'
import { RateLimits } from './identity/limits/limits.ts'
import { refuseDisabledAccount, type LoginCheck } from './identity/login/checks.ts'
import { RedisRevocationChannel } from './identity/revocations/redis-channel.ts'
import { Revocations } from './identity/revocations/revocations.ts'
import { KeyStore } from './identity/signing-keys/key-store.ts'
import { AccessTokens } from './identity/tokens/access-tokens.ts'
import { createAccount } from './identity/users/accounts.ts'
import { findUserByEmail, updateUser } from './identity/users/store.ts'
import { migrateToLatest } from './migrations.ts'
import { systemClock, type Clock, isoAt } from './platform/clock.ts'
import type { Config } from './platform/config/config.ts'
import { secretsKeyBox, serverKey } from './platform/crypto/at-rest.ts'
import { PRODUCTION_ARGON2, PasswordHasher, type Argon2Params } from './platform/crypto/passwords.ts'
import type { QueueBounds } from './platform/crypto/semaphore.ts'
import { AppError, ValidationError } from './platform/http/errors.ts'
import { createLogger } from './platform/http/logging.ts'
import { Metrics } from './platform/http/metrics.ts'
import { type RequestOrigin } from './platform/http/request-context.ts'
import { RedisLimiterStore } from './platform/limiter/redis-store.ts'
import { MemoryLimiterStore, type LimiterStore } from './platform/limiter/store.ts'
import { MailQueue, type MailQueueOptions } from './platform/mail/mail-queue.ts'
import { openDatabase } from './platform/storage/database.ts'

/** What closing a context releases beyond its members: the handles only compose.ts holds. */
const closers = new WeakMap<Context, () => void>()

export interface ContextOverrides {
  clock?: Clock
  logger?: Logger
  argon2?: Argon2Params
  /** Hashing threads and the bounds of their queue (default: one per core, `HashingThreads`'s bounds). */
  hashing?: { concurrency: number; queue: QueueBounds }
  /** Where `.eml` files go without `SMTP_URL` (default: `outbox/` beside the SQLite file). */
  mail?: MailQueueOptions
}

/**
 * Opens the database, applies migrations and loads (or creates) signing keys. (The configured
 * admin is the server's business: see `startServer`.) Only the clock, the logger's destination,
 * the hashing cost and queue, and where mail goes are replaceable.
 */
export async function openContext(config: Config, overrides: ContextOverrides = {}): Promise<Context> {
  const clock = overrides.clock ?? systemClock
  const logger = overrides.logger ?? createLogger(config.logLevel)
  const db = openDatabase(config.database)
  let redis: RedisRevocationChannel | undefined
  let limiterStore: LimiterStore | undefined
  try {
    const applied = await migrateToLatest(db)
    if (applied.length > 0) logger.info({ migrations: applied }, 'database migrated')
    const secretsKey = secretsKeyBox(config.secretsKey)
    const keys = await KeyStore.open(db, config, clock, secretsKey)
    const refreshSuccessorKey = await serverKey(db, clock, secretsKey, 'refresh_successors')
    redis =
      config.redisUrl === undefined
        ? undefined
        : new RedisRevocationChannel(config.redisUrl, config.redisKeyPrefix, logger)
    limiterStore =
      config.redisUrl === undefined
        ? new MemoryLimiterStore()
        : new RedisLimiterStore(config.redisUrl, config.redisKeyPrefix, logger)
    const revocations = new Revocations(db, clock, config.accessTokenTtlSeconds, redis, logger)
    revocations.onRevoked(({ kind, value }) => {
      if (kind === 'kid')
        keys.forget(value, (error) =>
          logger.error({ err: error }, 'could not load the successor of a revoked key'),
        )
    })
    await revocations.start()
    const mailQueue = MailQueue.fromConfig(config, overrides.mail)
    const ctx: Context = {
      config,
      db,
      clock,
      logger,
      signingKeys: keys,
      accessTokens: new AccessTokens(keys, revocations, config, clock),
      hasher: await PasswordHasher.create(
        overrides.argon2 ?? PRODUCTION_ARGON2,
        overrides.hashing?.concurrency,
        overrides.hashing?.queue,
      ),
      metrics: new Metrics(),
      revocations,
      limits: new RateLimits(limiterStore, config, clock, db),
      revocationChannel: redis,
      mailQueue,
      refreshSuccessorKey,
      loginChecks: loginChecks({ db, clock, config, mailQueue }),
    }
    keys.startReloading((error) => logger.warn({ err: error }, 'could not reload signing keys'))
    closers.set(ctx, () => limiterStore?.close())
    return ctx
  } catch (error) {
    await redis?.close()
    limiterStore?.close()
    await db.destroy()
    throw error
  }
}

/** The checks every login runs once its first proof holds, in this order (identity/login/checks.ts). */
function loginChecks(ctx: Pick<Context, 'db' | 'clock' | 'config' | 'mailQueue'>): LoginCheck[] {
  return [refuseDisabledAccount, refuseUnverifiedEmail(ctx)]
}

export async function closeContext(ctx: Context): Promise<void> {
  ctx.signingKeys.stopReloading()
  await ctx.revocations.close()
  ctx.mailQueue.close()
  closers.get(ctx)?.()
  await ctx.db.destroy()
}

/** Start-up acts for nobody's request. */
const BOOTSTRAP_ORIGIN: RequestOrigin = { ip: null, userAgent: undefined, requestId: undefined }

/** Why start-up stops: the configured address belongs to an account the operator cannot vouch for. */
const foreignAccount = (email: string, why: string) =>
  new Error(
    `ADMIN_EMAIL: an account someone else may control already holds ${email} (${why}); ` +
      'it was not made an admin. Check it (gatehouse users list --q), then promote it with ' +
      '`gatehouse users set-role` or delete it, or choose another ADMIN_EMAIL.',
  )

/**
 * `ADMIN_EMAIL`/`ADMIN_PASSWORD` at server start: the account is created as an admin when missing.
 * An existing admin is left alone (its password may have changed since). An existing account
 * without the role is promoted only when it is provably the operator's: its stored address is
 * `ADMIN_EMAIL` itself (not a look-alike that only folds to it under NFKC) and `ADMIN_PASSWORD`
 * opens it. Anything else stops start-up, since anyone may have signed up with that address first.
 */
export async function ensureAdmin(
  ctx: Pick<Context, 'config' | 'db' | 'clock' | 'hasher' | 'logger'>,
): Promise<void> {
  const admin = ctx.config.admin
  if (!admin) return
  const existing = await findUserByEmail(ctx.db, admin.email)
  if (!existing) {
    try {
      await createAccount(ctx, {
        email: admin.email,
        password: admin.password,
        roles: ['user', 'admin'],
      })
      ctx.logger.info({ user_email: admin.email }, 'admin account created')
      return
    } catch (error) {
      if (error instanceof ValidationError) {
        const reasons = (error.details ?? []).map((d) => d.message).join('; ')
        throw new Error(`ADMIN_PASSWORD: ${reasons}`, { cause: error })
      }
      if (!(error instanceof AppError && error.code === 'ACCOUNT_EXISTS')) throw error
      // Another instance created it in the meantime; it is checked like any existing account.
    }
  }
  const row = existing ?? (await findUserByEmail(ctx.db, admin.email))
  if (!row) throw new Error('ADMIN_EMAIL: the account disappeared while it was being created')
  const { roles } = row
  if (roles.includes('admin')) return
  if (row.email.trim().toLowerCase() !== admin.email.trim().normalize('NFKC').toLowerCase())
    throw foreignAccount(admin.email, `stored as ${JSON.stringify(row.email)}`)
  const { ok } = await ctx.hasher.verify(row.passwordHash, admin.password)
  if (!ok) throw foreignAccount(admin.email, 'ADMIN_PASSWORD does not open it')
  await updateUser(ctx.db, row.id, { roles: [...roles, 'admin'] }, isoAt(ctx.clock.now()))
  await recordAuditEvent(ctx.db, ctx.clock, {
    type: 'role_changed',
    userId: row.id,
    origin: BOOTSTRAP_ORIGIN,
    data: { from: roles, to: [...roles, 'admin'], by: 'bootstrap' },
  })
  ctx.logger.warn({ user_id: row.id }, 'ADMIN_EMAIL: admin role granted to an existing account')
}
