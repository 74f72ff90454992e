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
  return waitMs > 0 ? { tat, waitMs: Math.ceil(waitMs) } : { tat: next, waitMs: 0 }
}

/** One process's limiter state. Expired entries are swept as the map grows. */
export class MemoryLimiterStore implements LimiterStore {
  private readonly cells = new Map<string, number>()
  private readonly failures = new Map<string, { count: number; expiresAt: number }>()
  private readonly blocks = new Map<string, number>()

  take(key: string, limit: number, windowMs: number, nowMs: number): Promise<number> {
    this.sweep(nowMs)
    const result = gcra(this.cells.get(key) ?? nowMs, limit, windowMs, nowMs)
    this.cells.set(key, result.tat)
    return Promise.resolve(result.waitMs)
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
  }

  private sweep(nowMs: number): void {
    if (this.cells.size < 10_000) return
    for (const [key, tat] of this.cells) if (tat <= nowMs) this.cells.delete(key)
    for (const [key, until] of this.blocks) if (until <= nowMs) this.blocks.delete(key)
    for (const [key, failure] of this.failures) if (failure.expiresAt <= nowMs) this.failures.delete(key)
  }
}
