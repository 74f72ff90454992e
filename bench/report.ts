import type { LoadResult } from './load.ts'
import type { ServerSample } from './server.ts'

/** Bare `node:http` on the reference machine, quiet (PERFORMANCE.md). */
export const BARE_NODE_RPS = 91_800

/** The FastAPI tutorial service's `GET /me` on this kind of machine (issue 7's reference table). */
export const FASTAPI_ME_RPS = 2300

export interface Figure {
  label: string
  load: LoadResult
  /** Event-loop delay and RSS reported by the server over the figure's window. */
  server: ServerSample
  /** CPU time other processes on the machine used meanwhile, in CPUs (Linux). */
  otherCpu: number | undefined
  /** Server CPU time (all threads) per 2xx response, microseconds (Linux). */
  cpuMicros: number | undefined
  /** Share of the figure's time the server spent collecting garbage. */
  gcShare: number
}

export interface Check {
  what: string
  value: number
  unit: string
  target: string
  pass: boolean
}

export interface Measurements {
  health: Figure
  me: Figure
  login: Figure
  refresh: Figure
  meDuringStorm: Figure
  storm: LoadResult
  argon2: { how: string; opsPerSecond: number }[]
  /** Bare `node:http` on the server core, just before the server starts. */
  calibration: LoadResult
  /** The first start of a run creates the schema and signing key (on a new SQLite file); a restart does not. */
  startupMs: { firstStart: number; restart: number }
  rssAfterMb: number
  peakRssMb: number | undefined
}

const round = (value: number, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits

export function rawArgon2Rate(m: Measurements): number {
  return Math.max(...m.argon2.map((r) => r.opsPerSecond))
}

/** Every target of issue 7, computed from one run's figures. */
export function checks(m: Measurements): Check[] {
  const ratio = (what: string, value: number, min: number): Check => ({
    what,
    value: round(value),
    unit: '×',
    target: `≥ ${min}`,
    pass: value >= min,
  })
  const atMost = (what: string, value: number, max: number, unit: string): Check => ({
    what,
    value: round(value, 1),
    unit,
    target: `≤ ${max}`,
    pass: value <= max,
  })
  return [
    ratio('GET /me ÷ GET /health', m.me.load.rps / m.health.load.rps, 0.6),
    ratio(`GET /me ÷ FastAPI GET /me (${FASTAPI_ME_RPS} req/s)`, m.me.load.rps / FASTAPI_ME_RPS, 10),
    atMost('GET /me p99', m.me.load.p99, 10, 'ms'),
    ratio('POST /auth/login ÷ raw argon2id verify', m.login.load.rps / rawArgon2Rate(m), 0.8),
    {
      ...ratio('POST /auth/refresh', m.refresh.load.rps, 2000),
      unit: 'req/s',
      value: Math.round(m.refresh.load.rps),
    },
    atMost('GET /me p99 during a login storm ÷ idle p99', m.meDuringStorm.load.p99 / m.me.load.p99, 2, '×'),
    atMost('RSS after the run', m.rssAfterMb, 150, 'MB'),
    atMost('start-up to the first GET /health 200 (restart)', m.startupMs.restart, 600, 'ms'),
    atMost('start-up to the first GET /health 200 (first start)', m.startupMs.firstStart, 600, 'ms'),
  ]
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)))
  const line = (cells: string[]) =>
    cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join('  ')
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n')
}

export function formatReport(m: Measurements, context: string): string {
  const figures = [m.health, m.me, m.login, m.refresh, m.meDuringStorm]
  const n = (value: number, digits = 0) => value.toFixed(digits)
  const rows = figures.map(({ label, load, server, otherCpu, cpuMicros, gcShare }) => [
    label,
    n(load.rps),
    cpuMicros === undefined ? '?' : n(cpuMicros),
    n(load.p50, 2),
    n(load.p99, 2),
    n(load.errors),
    n(server.eventLoopDelayMs.p99, 2),
    n(server.eventLoopDelayMs.max, 1),
    n(server.rssMb),
    n(gcShare * 100, 1),
    otherCpu === undefined ? '?' : n(otherCpu, 2),
  ])
  rows.push([
    `  (the login storm beside it, ${m.storm.connections} conn.)`,
    n(m.storm.rps),
    '',
    n(m.storm.p50, 1),
    n(m.storm.p99, 1),
    n(m.storm.errors),
    '',
    '',
    '',
    '',
    '',
  ])
  const noisy = figures.filter((f) => (f.otherCpu ?? 0) > 0.05).map((f) => f.label)
  const argon2 = m.argon2.map((r) => `${n(r.opsPerSecond)}/s (${r.how})`).join(', ')
  const results = checks(m).map(
    (c) => `  ${c.pass ? 'ok  ' : 'MISS'}  ${c.what}: ${c.value} ${c.unit} (target ${c.target} ${c.unit})`,
  )
  return [
    context,
    '',
    table(
      [
        'figure',
        'req/s',
        'CPU µs/req',
        'p50 ms',
        'p99 ms',
        'errors',
        'loop p99 ms',
        'loop max ms',
        'RSS MB',
        'GC %',
        'other CPU',
      ],
      rows,
    ),
    '',
    `calibration: bare node:http ${n(m.calibration.rps)} req/s on the server core (${n((m.calibration.rps / BARE_NODE_RPS) * 100)} % of the quiet reference machine's ${BARE_NODE_RPS})`,
    `raw argon2id verify (server core, server parameters): ${argon2}`,
    `start-up to the first GET /health 200: ${n(m.startupMs.firstStart)} ms at the first start (schema, signing key), ${n(m.startupMs.restart)} ms at a restart`,
    `RSS after the run: ${n(m.rssAfterMb)} MB${m.peakRssMb === undefined ? '' : `, peak ${n(m.peakRssMb)} MB`}`,
    'loop = event-loop delay beyond the 10 ms sampling interval (monitorEventLoopDelay, via /metrics)',
    'GC % = share of the time the server spent collecting garbage during the figure',
    'CPU µs/req = server CPU time (every thread) per 2xx response: steadier than req/s on a busy machine',
    'other CPU = CPUs used by processes outside the bench meanwhile (0 on a quiet machine)',
    ...(noisy.length > 0
      ? [`WARNING: other processes were busy during ${noisy.join(', ')}: run again on a quiet machine`]
      : []),
    '',
    'targets (issue 7):',
    ...results,
  ].join('\n')
}
