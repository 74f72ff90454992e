import { createRequire } from 'node:module'
import type * as IoRedis from 'ioredis'
import type { Redis, Result } from 'ioredis'
import type { Logger } from 'pino'
import { GCRA_TOLERANCE_MS, MemoryLimiterStore, gcra, type LimiterStore } from './store.ts'

declare module 'ioredis' {
  interface RedisCommander<Context> {
    gatehouseTake(
      key: string,
      nowMs: number,
      intervalMs: number,
      windowMs: number,
      toleranceMs: number,
    ): Result<number, Context>
    gatehouseAddFailure(key: string, ttlMs: number): Result<number, Context>
  }
}

/** ioredis is loaded only when Redis is configured: otherwise it costs start-up time and memory. */
const loadIoRedis = (): typeof IoRedis => createRequire(import.meta.url)('ioredis') as typeof IoRedis

/** The same GCRA step as `gcra()`, atomically in Redis. Returns the wait in ms (0: allowed). */
const TAKE = `
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local window = tonumber(ARGV[3])
local tolerance = tonumber(ARGV[4])
local tat = tonumber(redis.call('GET', KEYS[1]) or ARGV[1])
if tat < now then tat = now end
local nexttat = tat + interval
local wait = nexttat - now - window
if wait > tolerance then return math.ceil(wait) end
redis.call('SET', KEYS[1], nexttat, 'PX', math.ceil(nexttat - now))
return 0
`

const ADD_FAILURE = `
local count = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return count
`

/**
 * Limiter state shared by every instance through Redis: one script per decision, so two instances
 * spend one budget. When Redis does not answer within a moment, the decision falls back to this
 * process's own counters — still limiting, per instance — rather than letting everything through
 * or failing logins because a cache is down.
 */
export class RedisLimiterStore implements LimiterStore {
  private readonly redis: Redis
  private readonly fallback = new MemoryLimiterStore()
  private degraded = false

  private readonly prefix: string

  constructor(
    url: string,
    keyPrefix: string,
    private readonly logger: Logger,
  ) {
    this.prefix = `${keyPrefix}rl:`
    this.redis = new (loadIoRedis().Redis)(url, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: 250,
      connectTimeout: 2000,
    })
    this.redis.on('error', (error: Error) =>
      logger.debug({ err: error }, 'rate-limit redis connection error'),
    )
    this.redis.defineCommand('gatehouseTake', { numberOfKeys: 1, lua: TAKE })
    this.redis.defineCommand('gatehouseAddFailure', { numberOfKeys: 1, lua: ADD_FAILURE })
    this.redis.connect().catch(() => undefined)
  }

  take(key: string, limit: number, windowMs: number, nowMs: number): Promise<number> {
    return this.shared(
      () => this.redis.gatehouseTake(this.prefix + key, nowMs, windowMs / limit, windowMs, GCRA_TOLERANCE_MS),
      () => this.fallback.take(key, limit, windowMs, nowMs),
    )
  }

  peek(key: string, limit: number, windowMs: number, nowMs: number): Promise<number> {
    return this.shared(
      async () => {
        const tat = Number((await this.redis.get(this.prefix + key)) ?? nowMs)
        return gcra(tat, limit, windowMs, nowMs).waitMs
      },
      () => this.fallback.peek(key, limit, windowMs, nowMs),
    )
  }

  addFailure(key: string, ttlMs: number, nowMs: number): Promise<number> {
    return this.shared(
      () => this.redis.gatehouseAddFailure(`${this.prefix}f:${key}`, Math.ceil(ttlMs)),
      () => this.fallback.addFailure(key, ttlMs, nowMs),
    )
  }

  block(key: string, untilMs: number, nowMs: number): Promise<void> {
    return this.shared(
      async () => {
        await this.redis.set(
          `${this.prefix}b:${key}`,
          String(untilMs),
          'PX',
          Math.max(1, Math.ceil(untilMs - nowMs)),
        )
      },
      () => this.fallback.block(key, untilMs),
    )
  }

  blockedUntil(key: string, nowMs: number): Promise<number> {
    return this.shared(
      async () => {
        const until = Number((await this.redis.get(`${this.prefix}b:${key}`)) ?? 0)
        return until > nowMs ? until : 0
      },
      () => this.fallback.blockedUntil(key, nowMs),
    )
  }

  clear(key: string): Promise<void> {
    return this.shared(
      async () => {
        await this.redis.del(`${this.prefix}f:${key}`, `${this.prefix}b:${key}`)
      },
      () => this.fallback.clear(key),
    )
  }

  async ping(): Promise<void> {
    await this.redis.ping()
  }

  close(): void {
    this.redis.disconnect()
  }

  private async shared<T>(inRedis: () => Promise<T>, inProcess: () => Promise<T>): Promise<T> {
    try {
      const result = await inRedis()
      if (this.degraded) this.logger.info('rate limits shared through redis again')
      this.degraded = false
      return result
    } catch (error) {
      if (!this.degraded)
        this.logger.warn({ err: error }, 'redis unavailable: rate limits are per instance meanwhile')
      this.degraded = true
      return inProcess()
    }
  }
}
