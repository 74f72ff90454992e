/** The one source of time. Service functions take it as an argument so tests move time instead of sleeping. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number
}

export const systemClock: Clock = { now: () => Date.now() }

export function isoAt(ms: number): string {
  return new Date(ms).toISOString()
}
