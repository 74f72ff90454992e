import { execFileSync } from 'node:child_process'
import { availableParallelism } from 'node:os'

/**
 * The server gets CPU 0 to itself and the load generators (and this orchestrator) CPU 1, as the
 * reference figures were measured: every figure is one server core. Needs `taskset` (util-linux)
 * and two CPUs; without them processes run unpinned and the report says so.
 */
const CPUS = { server: '0', load: '1' } as const
export type Role = keyof typeof CPUS

function hasTaskset(): boolean {
  try {
    execFileSync('taskset', ['-V'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

export const PINNING = process.platform === 'linux' && availableParallelism() >= 2 && hasTaskset()

/** `command args` to spawn, prefixed with `taskset -c CPU` when pinning is possible. */
export function pinned(role: Role, command: string, args: string[]): [string, string[]] {
  return PINNING ? ['taskset', ['-c', CPUS[role], command, ...args]] : [command, args]
}

/** Moves every thread of this process to the load core. */
export function pinSelf(): void {
  if (PINNING) execFileSync('taskset', ['-a', '-cp', CPUS.load, String(process.pid)], { stdio: 'ignore' })
}

export function describePinning(): string {
  return PINNING
    ? `server on CPU ${CPUS.server}, load generators on CPU ${CPUS.load} (taskset)`
    : 'not pinned (needs Linux, two CPUs and taskset): figures are not comparable with the references'
}
