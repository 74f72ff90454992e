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
  try {
    const applied = await migrateToLatest(db)
    if (applied.length > 0) logger.info({ migrations: applied }, 'database migrated')
    const keys = await KeyStore.open(db, config, clock)
    const services: Services = {
      config,
      db,
      clock,
      logger,
      keys,
      accessTokens: new AccessTokens(keys, config, clock),
      hasher: await PasswordHasher.create(overrides.argon2 ?? PRODUCTION_ARGON2),
      metrics: new Metrics(),
    }
    await ensureAdmin(services)
    return services
  } catch (error) {
    await db.destroy()
    throw error
  }
}

export async function closeServices(services: Services): Promise<void> {
  await services.db.destroy()
}
