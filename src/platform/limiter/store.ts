/**
 * Where limiter state lives: in this process, or in Redis so that every instance shares one
 * budget. Every operation takes the time as an argument, so tests move a clock instead of sleeping.
 */
export interface LimiterStore {
  /**
   * Generic cell rate algorithm: `limit` requests per `windowMs`, spread evenly, with bursts up to
   * `limit`. Atomic per key. Returns 0 when allowed, else the milliseconds until it would be.
   */
  take(key: string, limit: number, windowMs: number, nowMs: number): Promise<number>
  /** What `take` would answer now, without spending anything. */
  peek(key: string, limit: number, windowMs: number, nowMs: number): Promise<number>
  /** Counts one failure for `key` and returns the failures in a row so far (kept for `ttlMs`). */
  addFailure(key: string, ttlMs: number, nowMs: number): Promise<number>
  /** Blocks `key` until `untilMs`. */
  block(key: string, untilMs: number, nowMs: number): Promise<void>
  /** When the block on `key` ends, or 0 when there is none. */
  blockedUntil(key: string, nowMs: number): Promise<number>
  /** Forgets failures and blocks of `key` (after a success). */
  clear(key: string): Promise<void>
  close(): void
}

/**
 * Waits this short are rounding: a limit that does not divide the window (90 a minute) adds its
 * interval to epoch milliseconds (~1.7e12, where a double resolves ~0.0002 ms) once per request,
 * and the error must not refuse the limit-th request of a burst.
 */
export const GCRA_TOLERANCE_MS = 1

/** GCRA step shared by both stores: the new theoretical arrival time, or the wait. */
export function gcra(
  tat: number,
  limit: number,
  windowMs: number,
  nowMs: number,
): { tat: number; waitMs: number } {
  const interval = windowMs / limit
  const next = Math.max(tat, nowMs) + interval
  const waitMs = next - nowMs - windowMs
  return waitMs > GCRA_TOLERANCE_MS ? { tat, waitMs: Math.ceil(waitMs) } : { tat: next, waitMs: 0 }
}

/** Entries each in-process map keeps at most (about 100 bytes each: some 10 MB per map when full). */
export const MEMORY_STORE_MAX_ENTRIES = 100_000

/**
 * A map of at most `max` entries that forgets the least recently used one when full. A JavaScript
 * `Map` iterates in insertion order, so re-inserting on use keeps the oldest first: every operation
 * is O(1), and nothing is ever scanned on the request path.
 */
class LruMap<V> {
  private readonly entries = new Map<string, V>()

  constructor(private readonly max: number) {}

  get size(): number {
    return this.entries.size
  }

  get(key: string): V | undefined {
    return this.entries.get(key)
  }

  set(key: string, value: V): void {
    this.entries.delete(key)
    this.entries.set(key, value)
    if (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value as string)
  }

  delete(key: string): void {
    this.entries.delete(key)
  }

  clear(): void {
    this.entries.clear()
  }
}

/**
 * One process's limiter state, in three maps of at most `maxEntries` each (least recently used
 * first out). An expired entry reads as absent and is overwritten on its next use. An attacker who
 * floods with fresh keys only evicts the stalest entries of the map they fill: GCRA cells (a budget
 * starts full again) fill fastest, failures and blocks only as fast as failed logins are allowed.
 */
export class MemoryLimiterStore implements LimiterStore {
  private readonly cells: LruMap<number>
  private readonly failures: LruMap<{ count: number; expiresAt: number }>
  private readonly blocks: LruMap<number>

  constructor(options: { maxEntries?: number } = {}) {
    const max = options.maxEntries ?? MEMORY_STORE_MAX_ENTRIES
    this.cells = new LruMap(max)
    this.failures = new LruMap(max)
    this.blocks = new LruMap(max)
  }

  /** Entries held, per map: what a test checks the bound with. */
  get sizes(): { cells: number; failures: number; blocks: number } {
    return { cells: this.cells.size, failures: this.failures.size, blocks: this.blocks.size }
  }

  take(key: string, limit: number, windowMs: number, nowMs: number): Promise<number> {
    const result = gcra(this.cells.get(key) ?? nowMs, limit, windowMs, nowMs)
    this.cells.set(key, result.tat)
    return Promise.resolve(result.waitMs)
  }

  peek(key: string, limit: number, windowMs: number, nowMs: number): Promise<number> {
    return Promise.resolve(gcra(this.cells.get(key) ?? nowMs, limit, windowMs, nowMs).waitMs)
  }

  addFailure(key: string, ttlMs: number, nowMs: number): Promise<number> {
    const current = this.failures.get(key)
    const count = current && current.expiresAt > nowMs ? current.count + 1 : 1
    this.failures.set(key, { count, expiresAt: nowMs + ttlMs })
    return Promise.resolve(count)
  }

  block(key: string, untilMs: number): Promise<void> {
    this.blocks.set(key, untilMs)
    return Promise.resolve()
  }

  blockedUntil(key: string, nowMs: number): Promise<number> {
    const until = this.blocks.get(key) ?? 0
    return Promise.resolve(until > nowMs ? until : 0)
  }

  clear(key: string): Promise<void> {
    this.failures.delete(key)
    this.blocks.delete(key)
    return Promise.resolve()
  }

  close(): void {
    this.cells.clear()
    this.failures.clear()
    this.blocks.clear()
  }
}
