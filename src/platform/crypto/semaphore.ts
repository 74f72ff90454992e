/** How long the line in front of a `Semaphore` may get. */
export interface QueueBounds {
  /** Jobs that may wait at once; one more is refused at once. */
  maxWaiting: number
  /** How long (ms) a job may wait for its turn before it is given up. */
  maxWaitMs: number
}

/** A job refused because the line was full, or given up because its turn did not come in time. */
export class QueueFullError extends Error {
  constructor(readonly reason: 'full' | 'waited too long') {
    super(`the queue is busy: ${reason}`)
    this.name = 'QueueFullError'
  }
}

interface Waiter {
  admit: () => void
}

/**
 * Limits how many async jobs run at once; the rest wait in order, within `bounds`: a flood is
 * refused (`QueueFullError`) instead of making every job wait longer than anyone would.
 */
export class Semaphore {
  private active = 0
  private readonly waiting: Waiter[] = []

  constructor(
    private readonly limit: number,
    private readonly bounds: QueueBounds = { maxWaiting: Infinity, maxWaitMs: Infinity },
  ) {
    if (!Number.isInteger(limit) || limit < 1)
      throw new TypeError('Semaphore limit must be a positive integer')
  }

  async run<T>(job: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await this.turn()
    else this.active += 1
    try {
      return await job()
    } finally {
      const next = this.waiting.shift()
      if (next) next.admit()
      else this.active -= 1
    }
  }

  private turn(): Promise<void> {
    if (this.waiting.length >= this.bounds.maxWaiting) return Promise.reject(new QueueFullError('full'))
    return new Promise((resolve, reject) => {
      const timer = Number.isFinite(this.bounds.maxWaitMs)
        ? setTimeout(() => {
            // The line is at most `maxWaiting` long: finding oneself in it is cheap.
            this.waiting.splice(this.waiting.indexOf(waiter), 1)
            reject(new QueueFullError('waited too long'))
          }, this.bounds.maxWaitMs).unref()
        : undefined
      const waiter: Waiter = {
        admit: () => {
          clearTimeout(timer)
          resolve()
        },
      }
      this.waiting.push(waiter)
    })
  }
}
