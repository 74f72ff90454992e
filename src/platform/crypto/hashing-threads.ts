import { extname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Worker } from 'node:worker_threads'
import type { Options as Argon2Options } from '@node-rs/argon2'
import { AppError } from '../http/errors.ts'
import { QueueFullError, Semaphore, type QueueBounds } from './semaphore.ts'

/** What a hashing thread is asked (`hash-worker.ts`), and what it answers. */
export type HashJob =
  | { id: number; op: 'hash'; password: string; options: Argon2Options }
  | { id: number; op: 'verify'; hash: string; password: string }
  | { id: number; op: 'bcrypt'; hash: string; password: string }
export type HashReply =
  { id: number; ok: true; value: string | boolean } | { id: number; ok: false; message: string }

type Job = HashJob extends infer J ? (J extends HashJob ? Omit<J, 'id'> : never) : never

/**
 * The hashing threads' nice value (Linux). When the event loop and a hash both want the CPU, the
 * kernel gives the hash about a tenth of it (weights 110 : 1024), so token verification keeps its
 * latency during a login flood; when the event loop is idle, hashing gets the whole CPU. Measured
 * with `npm run bench` (bench/README.md).
 */
export const HASHING_NICE = 10

// `.js` once compiled, `.ts` when run from source through tsx (the tests).
const WORKER_URL = new URL(`./hash-worker${extname(fileURLToPath(import.meta.url))}`, import.meta.url)

function startWorker(): Worker {
  const options = { workerData: { nice: HASHING_NICE } }
  if (!WORKER_URL.pathname.endsWith('.ts')) return new Worker(WORKER_URL, options)
  // Node 20's workers do not inherit tsx's loader: register it in the worker, then load the source.
  const tsx = JSON.stringify(import.meta.resolve('tsx/esm/api'))
  const source = `import(${tsx}).then((tsx) => { tsx.register(); return import(${JSON.stringify(WORKER_URL.href)}) })`
  return new Worker(source, { ...options, eval: true })
}

/** One worker thread, started at its first job; it keeps the process alive only while busy. */
class HashThread {
  private worker: Worker | undefined
  private readonly pending = new Map<
    number,
    { resolve: (value: string | boolean) => void; reject: (error: Error) => void }
  >()
  private nextId = 0

  call(job: Job): Promise<string | boolean> {
    const worker = (this.worker ??= this.spawn())
    if (this.pending.size === 0) worker.ref()
    const id = ++this.nextId
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject })
      worker.postMessage({ ...job, id })
    })
  }

  private spawn(): Worker {
    const worker = startWorker()
    worker.on('message', (reply: HashReply) => {
      const waiter = this.pending.get(reply.id)
      this.pending.delete(reply.id)
      if (this.pending.size === 0) worker.unref()
      if (reply.ok) waiter?.resolve(reply.value)
      else waiter?.reject(new Error(`password hashing failed: ${reply.message}`))
    })
    const fail = (error: Error) => {
      // A new thread takes over at the next job; the jobs in flight fail.
      if (this.worker === worker) this.worker = undefined
      for (const waiter of this.pending.values()) waiter.reject(error)
      this.pending.clear()
    }
    worker.on('error', fail)
    worker.on('exit', (code) => fail(new Error(`the password-hashing thread exited with ${code}`)))
    return worker
  }
}

/**
 * Hashes that may wait per thread, and how long. A line longer than this means a flood, which is
 * better refused (`503` with `Retry-After`) than served to clients that gave up waiting. Generous on
 * purpose: the hashing threads run at a lower priority, so while the event loop is busy a thread
 * does far fewer than its ~40 a second, and 50 clients logging in at once (the bench) must never be
 * refused — each refusal costs the event loop work, taking more CPU from the hashing that would
 * drain the line (measured with 32 and 2 s: 70 logins in 10 s and 31 000 refusals).
 */
export const MAX_WAITING_PER_THREAD = 256
export const MAX_WAIT_MS = 10_000

/** What a caller is told when the line is full: try again in a moment. */
const busy = (cause: QueueFullError): AppError =>
  new AppError('UNAVAILABLE', 'Too many passwords are being checked right now; try again shortly.', {
    cause,
    headers: { 'retry-after': '1' },
  })

/**
 * Password hashing off the event loop, on `size` threads of its own at a lower CPU priority, at
 * most one job per thread; further jobs queue in order, at most `bounds.maxWaiting` of them for at
 * most `bounds.maxWaitMs` (else `503 UNAVAILABLE`). One set per process, size and bounds, shared
 * by every `PasswordHasher`, so the bound holds for the whole process.
 */
export class HashingThreads {
  private static readonly shared = new Map<string, HashingThreads>()
  private readonly gate: Semaphore
  private readonly idle: HashThread[]

  private constructor(
    readonly size: number,
    bounds: QueueBounds,
  ) {
    this.gate = new Semaphore(size, bounds)
    this.idle = Array.from({ length: size }, () => new HashThread())
  }

  static forSize(
    size: number,
    bounds: QueueBounds = { maxWaiting: MAX_WAITING_PER_THREAD * size, maxWaitMs: MAX_WAIT_MS },
  ): HashingThreads {
    const key = `${size}:${bounds.maxWaiting}:${bounds.maxWaitMs}`
    let threads = HashingThreads.shared.get(key)
    if (!threads) HashingThreads.shared.set(key, (threads = new HashingThreads(size, bounds)))
    return threads
  }

  async run(job: Job): Promise<string | boolean> {
    try {
      return await this.gate.run(async () => {
        const thread = this.idle.pop()
        if (!thread) throw new Error('no idle hashing thread: the gate admits one job per thread')
        try {
          return await thread.call(job)
        } finally {
          this.idle.push(thread)
        }
      })
    } catch (error) {
      throw error instanceof QueueFullError ? busy(error) : error
    }
  }
}
