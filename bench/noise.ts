import { readdirSync, readFileSync } from 'node:fs'

/**
 * CPU time that processes outside this bench used while a figure was measured, as a share of one
 * CPU: the machine is shared, and a test run or a compiler beside the bench skews its figures.
 * Linux only (reads /proc); elsewhere it reports nothing.
 */
interface Snapshot {
  at: number
  cpu: Map<number, number>
  parent: Map<number, number>
}

const TICKS_PER_SECOND = 100

function snapshot(): Snapshot | undefined {
  const cpu = new Map<number, number>()
  const parent = new Map<number, number>()
  let entries: string[]
  try {
    entries = readdirSync('/proc').filter((entry) => /^\d+$/.test(entry))
  } catch {
    return undefined
  }
  for (const entry of entries) {
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      // Fields after the command name, which is in parentheses and may contain spaces.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      parent.set(Number(entry), Number(fields[1]))
      cpu.set(Number(entry), Number(fields[11]) + Number(fields[12]))
    } catch {
      // The process ended while we looked.
    }
  }
  return { at: performance.now(), cpu, parent }
}

function isOurs(pid: number, parents: Map<number, number>): boolean {
  for (let current = pid, hops = 0; current > 1 && hops < 64; hops += 1) {
    if (current === process.pid) return true
    current = parents.get(current) ?? 0
  }
  return false
}

/** Starts watching; the returned function gives the other processes' CPU use since, in CPUs. */
export function watchNoise(): () => number | undefined {
  const before = snapshot()
  return () => {
    const after = snapshot()
    if (!before || !after) return undefined
    let ticks = 0
    for (const [pid, total] of after.cpu) {
      if (isOurs(pid, after.parent)) continue
      ticks += total - (before.cpu.get(pid) ?? 0)
    }
    return ticks / TICKS_PER_SECOND / ((after.at - before.at) / 1000)
  }
}
