import { setTimeout as sleep } from 'node:timers/promises'
import { randomUUID } from 'node:crypto'
import { after, before, describe } from 'node:test'
import { Writable } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../../src/app.ts'
import type { Argon2Params } from '../../src/platform/crypto/passwords.ts'
import type { Clock } from '../../src/platform/clock.ts'
import type { MailQueueOptions } from '../../src/platform/mail/mail-queue.ts'
import { loadConfig } from '../../src/platform/config/config.ts'
import { createLogger } from '../../src/platform/http/logging.ts'
import { closeContext, ensureAdmin, openContext, type ContextOverrides } from '../../src/compose.ts'
import type { Context } from '../../src/context.ts'
import { createTestDatabase, databaseKinds, type DatabaseKind, type TestDatabase } from './databases.ts'

/** Far cheaper than production argon2id, so suites that log in often stay fast. */
export const TEST_ARGON2: Argon2Params = { memoryCost: 1024, timeCost: 1, parallelism: 1 }

/** A clock that only moves when a test moves it. */
export class TestClock implements Clock {
  constructor(private ms = Date.parse('2026-01-01T00:00:00Z')) {}
  now(): number {
    return this.ms
  }
  advance(seconds: number): void {
    this.ms += seconds * 1000
  }
}

/** Log lines captured from the app, parsed. */
export class LogCapture {
  readonly raw: string[] = []
  readonly stream = new Writable({
    write: (chunk: Buffer, _encoding, callback) => {
      this.raw.push(
        ...chunk
          .toString('utf8')
          .split('\n')
          .filter((line) => line !== ''),
      )
      callback()
    },
  })
  get lines(): Record<string, unknown>[] {
    return this.raw.map((line) => JSON.parse(line) as Record<string, unknown>)
  }
  text(): string {
    return this.raw.join('\n')
  }
}

export interface TestApp {
  kind: DatabaseKind
  app: FastifyInstance
  context: Context
  clock: TestClock
  logs: LogCapture
  databaseUrl: string
}

export interface TestAppOptions {
  env?: Record<string, string>
  argon2?: Argon2Params
  /** Hashing threads and their queue's bounds (a tiny queue shows load shedding). */
  hashing?: ContextOverrides['hashing']
  /** Extra routes a test needs (e.g. one that throws), added before the app is ready. */
  addRoutes?: (app: FastifyInstance) => void
  /** Where `.eml` files go without SMTP_URL (default: beside the SQLite file, or ./data/outbox). */
  mail?: MailQueueOptions
}

/**
 * Every suite shares one client address (inject's 127.0.0.1) and a clock that barely moves, so the
 * per-minute budgets are lifted unless a suite sets its own; the rate-limit suites do.
 */
const UNLIMITED = { LOGIN_RATE_LIMIT: '1000000', SIGNUP_RATE_LIMIT: '1000000', MAIL_RATE_LIMIT: '1000000' }

/** Builds the real app on a fresh database of `kind`; only the clock and hashing cost are test values. */
export async function startTestApp(database: TestDatabase, options: TestAppOptions = {}): Promise<TestApp> {
  const config = loadConfig({
    DATABASE_URL: database.url,
    LOG_LEVEL: 'info',
    ...UNLIMITED,
    // Redis is shared by every suite and run: each app gets keys of its own unless told otherwise.
    REDIS_KEY_PREFIX: `test:${randomUUID()}:`,
    ...options.env,
  })
  const clock = new TestClock()
  const logs = new LogCapture()
  const logger = createLogger(config.logLevel, logs.stream)
  const context = await openContext(config, {
    clock,
    logger,
    argon2: options.argon2 ?? TEST_ARGON2,
    hashing: options.hashing,
    mail: options.mail,
  })
  // As the server does at start (src/server.ts).
  await ensureAdmin(context).catch(async (error: unknown) => {
    await closeContext(context)
    throw error
  })
  const app = await buildApp(context)
  options.addRoutes?.(app)
  await app.ready()
  return { kind: database.kind, app, context, clock, logs, databaseUrl: database.url }
}

/** Another instance (or the CLI) on `t`'s database, its clock set to `t`'s. Stop it with `stopTestApp`. */
export async function startAnotherInstance(t: TestApp, options: TestAppOptions = {}): Promise<TestApp> {
  const other = await startTestApp(
    { kind: t.kind, url: t.databaseUrl, drop: () => Promise.resolve() },
    options,
  )
  other.clock.advance((t.clock.now() - other.clock.now()) / 1000)
  return other
}

export async function stopTestApp(testApp: TestApp): Promise<void> {
  await testApp.app.close()
  await closeContext(testApp.context)
}

/**
 * Declares the same suite once per database kind. Each run gets its own database and app, created
 * before its tests and dropped after them.
 *
 * ```ts
 * await describeOnDatabases('POST /auth/signup', (ctx) => { it('...', async () => { ctx().app.inject(...) }) })
 * ```
 */
export async function describeOnDatabases(
  name: string,
  suite: (context: () => TestApp) => void,
  options: TestAppOptions = {},
): Promise<void> {
  for (const { kind, skip } of await databaseKinds()) {
    await describe(`${name} [${kind}]`, { skip }, () => {
      let database: TestDatabase | undefined
      let testApp: TestApp | undefined
      before(async () => {
        database = await createTestDatabase(kind)
        testApp = await startTestApp(database, options)
      })
      after(async () => {
        if (testApp) await stopTestApp(testApp)
        await database?.drop()
      })
      suite(() => {
        if (!testApp) throw new Error('the test app is not started')
        return testApp
      })
    })
  }
}

/**
 * Waits until every instance has subscribed to Redis: until then an instance asks the database
 * instead, and a test of the channel would pass without it.
 */
export async function untilSubscribed(...instances: TestApp[]): Promise<void> {
  const deadline = Date.now() + 10_000
  while (!instances.every((t) => t.context.revocationChannel?.healthy === true)) {
    if (Date.now() > deadline) throw new Error('the instances did not subscribe to Redis')
    await sleep(50)
  }
}

let counter = 0
/** A unique, valid email for one test. */
export function uniqueEmail(prefix = 'user'): string {
  counter += 1
  return `${prefix}.${process.pid}.${counter}.${Date.now()}@example.com`
}

export const STRONG_PASSWORD = 'correct horse battery staple'

/** The contract's User object, field names sorted. */
export const USER_FIELDS = [
  'created_at',
  'disabled',
  'email',
  'email_verified',
  'full_name',
  'id',
  'roles',
  'updated_at',
  'username',
]
