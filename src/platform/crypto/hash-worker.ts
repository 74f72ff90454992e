/**
 * A password-hashing thread (see `HashingThreads`). It hashes synchronously — this is not the
 * event loop — one job at a time, at a lower CPU priority than the rest of the process.
 */
import { readlinkSync } from 'node:fs'
import { setPriority } from 'node:os'
import { parentPort, workerData } from 'node:worker_threads'
import { hashSync, verifySync } from '@node-rs/argon2'
import bcrypt from 'bcrypt'
import type { HashJob, HashReply } from './hashing-threads.ts'

/**
 * Linux gives each thread its own nice value: this one yields the CPU to the event loop whenever
 * both want it, and takes all of it otherwise. Elsewhere (or if refused) it keeps the default.
 */
function lowerPriority(nice: number): void {
  if (process.platform !== 'linux') return
  try {
    const threadId = Number(readlinkSync('/proc/thread-self').split('/').pop())
    setPriority(threadId, nice)
  } catch {
    // Best effort: hashing still works at normal priority.
  }
}

function run(job: HashJob): string | boolean {
  switch (job.op) {
    case 'hash':
      return hashSync(job.password, job.options)
    case 'verify':
      try {
        return verifySync(job.hash, job.password)
      } catch {
        return false // a malformed stored hash verifies nothing
      }
    case 'bcrypt':
      try {
        return bcrypt.compareSync(job.password, job.hash)
      } catch {
        return false
      }
  }
}

lowerPriority((workerData as { nice: number }).nice)
parentPort?.on('message', (job: HashJob) => {
  let reply: HashReply
  try {
    reply = { id: job.id, ok: true, value: run(job) }
  } catch (error) {
    reply = { id: job.id, ok: false, message: error instanceof Error ? error.message : String(error) }
  }
  parentPort?.postMessage(reply)
})
