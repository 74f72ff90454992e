import { randomBytes } from 'node:crypto'
import { availableParallelism } from 'node:os'
import type { Algorithm } from '@node-rs/argon2'
import { HashingThreads } from './hashing-threads.ts'
import type { QueueBounds } from './semaphore.ts'

export interface Argon2Params {
  memoryCost: number
  timeCost: number
  parallelism: number
}

/** OWASP's argon2id minimum (m=19 MiB, t=2, p=1). Tests pass cheaper params for speed. */
export const PRODUCTION_ARGON2: Argon2Params = { memoryCost: 19456, timeCost: 2, parallelism: 1 }

/** `Algorithm.Argon2id` of the package's const enum, which isolated modules cannot read. */
// eslint-disable-next-line @typescript-eslint/no-unsafe-enum-assignment
export const ARGON2ID: Algorithm.Argon2id = 2
const BCRYPT_HASH = /^\$2[aby]\$\d{2}\$/

export interface PasswordCheck {
  ok: boolean
  /** The stored hash is bcrypt or weaker argon2 than today's: store a fresh one. */
  needsRehash: boolean
}

/** Passwords are compared after Unicode NFKC normalisation (NIST SP 800-63B §5.1.1.2). */
export function normalizePassword(password: string): string {
  return password.normalize('NFKC')
}

/**
 * argon2id for every new hash; bcrypt (`$2a$`, `$2b$`, `$2y$`, as passlib writes them) verified
 * for accounts imported from elsewhere. Hashing never runs on the event loop: it runs on threads of
 * its own at a lower CPU priority, at most `concurrency` at once (one per core by default), and a
 * login flood queues instead of starving requests, in a bounded line: beyond it a hash fails with
 * `503 UNAVAILABLE` and `Retry-After` (see `HashingThreads`).
 *
 * ```ts
 * const hasher = await PasswordHasher.create(PRODUCTION_ARGON2)
 * const { ok, needsRehash } = await hasher.verify(user.password_hash, attempt)
 * ```
 */
export class PasswordHasher {
  private dummyHash: Promise<string> | undefined

  private constructor(
    private readonly params: Argon2Params,
    private readonly threads: HashingThreads,
  ) {}

  /** `queue` replaces the default bounds of the line of waiting hashes (tests use a tiny one). */
  static async create(
    params: Argon2Params,
    concurrency = Math.max(1, availableParallelism()),
    queue?: QueueBounds,
  ): Promise<PasswordHasher> {
    return new PasswordHasher(params, HashingThreads.forSize(concurrency, queue))
  }

  async hash(password: string): Promise<string> {
    const hash = await this.threads.run({
      op: 'hash',
      password: normalizePassword(password),
      options: { ...this.params, algorithm: ARGON2ID },
    })
    if (typeof hash !== 'string') throw new TypeError('argon2 returned no hash')
    return hash
  }

  async verify(storedHash: string, password: string): Promise<PasswordCheck> {
    if (BCRYPT_HASH.test(storedHash)) {
      return { ok: await this.verifyBcrypt(storedHash, password), needsRehash: true }
    }
    const ok =
      (await this.threads.run({ op: 'verify', hash: storedHash, password: normalizePassword(password) })) ===
      true
    return { ok, needsRehash: ok && !this.isCurrent(storedHash) }
  }

  /**
   * Spends the same time as checking a real argon2id hash, for a login whose user does not exist,
   * so response times do not tell which usernames are registered. (The dummy hash is made at the
   * first such login, off the start-up path: that one login costs a hash more.)
   */
  async verifyNothing(password: string): Promise<false> {
    this.dummyHash ??= this.hash(randomBytes(32).toString('base64')).catch((error: unknown) => {
      this.dummyHash = undefined
      throw error
    })
    await this.verify(await this.dummyHash, password)
    return false
  }

  /**
   * `$2y$` is PHP's name for the same algorithm as `$2b$`. Hashes written before normalisation
   * existed may be of the raw password, so a non-NFKC-stable password is tried both ways.
   */
  private async verifyBcrypt(storedHash: string, password: string): Promise<boolean> {
    const hash = storedHash.replace(/^\$2y\$/, '$2b$')
    const normalized = normalizePassword(password)
    const check = async (candidate: string) =>
      (await this.threads.run({ op: 'bcrypt', hash, password: candidate })) === true
    if (await check(normalized)) return true
    return normalized !== password && (await check(password))
  }

  private isCurrent(storedHash: string): boolean {
    const match = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$/.exec(storedHash)
    if (!match) return false
    const [memoryCost, timeCost, parallelism] = match.slice(1).map(Number) as [number, number, number]
    return (
      memoryCost >= this.params.memoryCost &&
      timeCost >= this.params.timeCost &&
      parallelism >= this.params.parallelism
    )
  }
}
