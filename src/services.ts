import type { Logger } from 'pino'
import { AccessTokens } from './auth/access-tokens.ts'
import { PRODUCTION_ARGON2, PasswordHasher, type Argon2Params } from './auth/passwords.ts'
import { systemClock, type Clock } from './clock.ts'
import type { Config } from './config/config.ts'
import { createLogger } from './http/logging.ts'
import { KeyStore } from './keys/key-store.ts'
import { Metrics } from './ops/metrics.ts'
import { openDatabase, type Db } from './storage/database.ts'
import { migrateToLatest } from './storage/migrations/index.ts'
import { RedisRevocationChannel } from './sessions/redis-channel.ts'
import { Revocations } from './sessions/revocations.ts'
import { ensureAdmin } from './users/service.ts'

/** Everything a route's service function may need, created once per process (or per test app). */
export interface Services {
  config: Config
  db: Db
  clock: Clock
  logger: Logger
  keys: KeyStore
  accessTokens: AccessTokens
  hasher: PasswordHasher
  metrics: Metrics
  revocations: Revocations
  /** Set when `REDIS_URL` is: shares revocations between instances. */
  redis: RedisRevocationChannel | undefined
}

export interface ServiceOverrides {
  clock?: Clock
  logger?: Logger
  argon2?: Argon2Params
}

/**
 * Opens the database, applies migrations, loads (or creates) signing keys and ensures the
 * configured admin. Only the clock, the logger's destination and the hashing cost are replaceable.
 */
export async function openServices(config: Config, overrides: ServiceOverrides = {}): Promise<Services> {
  const clock = overrides.clock ?? systemClock
  const logger = overrides.logger ?? createLogger(config.logLevel)
  const db = openDatabase(config.database)
  let redis: RedisRevocationChannel | undefined
  try {
    const applied = await migrateToLatest(db)
    if (applied.length > 0) logger.info({ migrations: applied }, 'database migrated')
    const keys = await KeyStore.open(db, config, clock)
    redis = config.redisUrl === undefined ? undefined : new RedisRevocationChannel(config.redisUrl, logger)
    const revocations = new Revocations(db, clock, config.accessTokenTtlSeconds, redis, logger)
    await revocations.start()
    const services: Services = {
      config,
      db,
      clock,
      logger,
      keys,
      accessTokens: new AccessTokens(keys, revocations, config, clock),
      hasher: await PasswordHasher.create(overrides.argon2 ?? PRODUCTION_ARGON2),
      metrics: new Metrics(),
      revocations,
      redis,
    }
    await ensureAdmin(services)
    keys.startReloading((error) => logger.warn({ err: error }, 'could not reload signing keys'))
    return services
  } catch (error) {
    await redis?.close()
    await db.destroy()
    throw error
  }
}

export async function closeServices(services: Services): Promise<void> {
  services.keys.stopReloading()
  await services.revocations.close()
  await services.db.destroy()
}
