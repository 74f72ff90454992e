import type { Logger } from 'pino'
import { AccessTokens } from './identity/tokens/access-tokens.ts'
import { PRODUCTION_ARGON2, PasswordHasher, type Argon2Params } from './platform/crypto/passwords.ts'
import type { QueueBounds } from './platform/crypto/semaphore.ts'
import { systemClock, type Clock } from './platform/clock.ts'
import type { Config } from './platform/config/config.ts'
import { secretsKeyBox, serverKey } from './platform/crypto/at-rest.ts'
import type { SecretBox } from './platform/crypto/secrets.ts'
import { createLogger } from './platform/http/logging.ts'
import { KeyStore } from './identity/signing-keys/key-store.ts'
import { MailQueue, type MailQueueOptions } from './platform/mail/mail-queue.ts'
import { Metrics } from './platform/http/metrics.ts'
import { openDatabase, type Db } from './platform/storage/database.ts'
import { migrateToLatest } from './platform/storage/migrations/index.ts'
import { RateLimits } from './identity/limits/limits.ts'
import { RedisLimiterStore } from './platform/limiter/redis-store.ts'
import { MemoryLimiterStore, type LimiterStore } from './platform/limiter/store.ts'
import { RedisRevocationChannel } from './identity/sessions/revocation-channel.ts'
import { Revocations } from './identity/sessions/revocations.ts'

/** Everything a route's service function may need, created once per process (or per test app). */
export interface Context {
  config: Config
  db: Db
  clock: Clock
  logger: Logger
  signingKeys: KeyStore
  accessTokens: AccessTokens
  hasher: PasswordHasher
  metrics: Metrics
  revocations: Revocations
  limits: RateLimits
  /** Counters behind `limits`: in this process, or shared through Redis. */
  limiterStore: LimiterStore
  /** Set when `REDIS_URL` is: shares revocations between instances. */
  revocationChannel: RedisRevocationChannel | undefined
  /** The mail transport, sender and links; requests queue mail, `startMailWorker` delivers it. */
  mailQueue: MailQueue
  /** `SECRETS_KEY`, when set: seals private keys and other secrets kept in the database. */
  secretsKey: SecretBox | undefined
  /** Seals a rotated refresh token's successor for the reuse grace window (a database key). */
  refreshSuccessorKey: SecretBox
}

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
      limiterStore,
      revocationChannel: redis,
      mailQueue: MailQueue.fromConfig(config, overrides.mail),
      secretsKey,
      refreshSuccessorKey,
    }
    keys.startReloading((error) => logger.warn({ err: error }, 'could not reload signing keys'))
    return ctx
  } catch (error) {
    await redis?.close()
    limiterStore?.close()
    await db.destroy()
    throw error
  }
}

export async function closeContext(ctx: Context): Promise<void> {
  ctx.signingKeys.stopReloading()
  await ctx.revocations.close()
  ctx.mailQueue.close()
  ctx.limiterStore.close()
  await ctx.db.destroy()
}
