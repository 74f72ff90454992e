/**
 * The raw argon2id verify rate the login figure is compared with: the library call alone, with the
 * server's parameters, in a process pinned to the server core. Measured three ways — synchronously
 * in a loop on one thread (how the server's hashing thread runs it), and through libuv's thread pool
 * with 1 and with 4 verifications in flight — and the bench takes the best as the reference.
 * Prints one JSON array of `{ how, opsPerSecond }`.
 */
import { hash, verify, verifySync } from '@node-rs/argon2'
import { ARGON2ID, PRODUCTION_ARGON2 } from '../src/platform/crypto/passwords.ts'

const seconds = Number(process.argv[2] ?? '6')
const password = 'correct horse battery staple'
const stored = await hash(password, { ...PRODUCTION_ARGON2, algorithm: ARGON2ID })

function syncRate(ms: number): number {
  const began = performance.now()
  let done = 0
  while (performance.now() - began < ms) {
    if (!verifySync(stored, password)) throw new Error('argon2 verify failed')
    done += 1
  }
  return (done * 1000) / (performance.now() - began)
}

async function poolRate(inFlight: number, ms: number): Promise<number> {
  const began = performance.now()
  let done = 0
  const worker = async () => {
    while (performance.now() - began < ms) {
      if (!(await verify(stored, password))) throw new Error('argon2 verify failed')
      done += 1
    }
  }
  await Promise.all(Array.from({ length: inFlight }, worker))
  return (done * 1000) / (performance.now() - began)
}

syncRate(300) // warm-up
const each = (seconds * 1000) / 3
const results = [
  { how: 'sync, one thread', opsPerSecond: syncRate(each) },
  { how: 'thread pool, 1 in flight', opsPerSecond: await poolRate(1, each) },
  { how: 'thread pool, 4 in flight', opsPerSecond: await poolRate(4, each) },
]
process.stdout.write(`${JSON.stringify(results)}\n`)
