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

/** A figure compared with another of the same run, without a target. */
export interface Ratio {
  what: string
  value: number
  unit: string
}

/** One way of measuring a library call alone (argon2-rate.ts, sign-rate.ts). */
export interface RawRate {
  how: string
  opsPerSecond: number
}

export interface Measurements {
  health: Figure
  me: Figure
  /** `GET /me` with a personal access token. */
  mePat: Figure
  login: Figure
  refresh: Figure
  /** `POST /auth/token` `grant_type=client_credentials`, `client_secret_basic`. */
  clientToken: Figure
  /** `POST /auth/introspect` of a live user access token, `client_secret_basic`. */
  introspect: Figure
  meDuringStorm: Figure
  storm: LoadResult
  argon2: RawRate[]
  /** jose `SignJWT` RS256 alone on the server core (sign-rate.ts). */
  sign: RawRate[]
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

export function rawSignRate(m: Measurements): number {
  return Math.max(...m.sign.map((r) => r.opsPerSecond))
}

/** Every measured figure, in the order of the table. */
function figuresOf(m: Measurements): Figure[] {
  return [m.health, m.me, m.mePat, m.login, m.refresh, m.clientToken, m.introspect, m.meDuringStorm]
}

/**
 * The figures that had a non-2xx response, a timeout or a connection error, with their status
 * codes: such a figure measured something else (a 429 costs little). The storm's flood is not a
 * figure: its logins may outlive the timeout, queued behind the hashing thread.
 */
export function figureErrors(m: Measurements): string[] {
  return figuresOf(m)
    .filter((f) => f.load.errors > 0)
    .map((f) => {
      const codes = Object.entries(f.load.statusCodes)
        .filter(([code]) => !code.startsWith('2'))
        .map(([code, count]) => `${code} × ${count}`)
      return `${f.label}: ${f.load.errors} (${codes.length > 0 ? codes.join(', ') : 'timeouts or connection errors'})`
    })
}

/** Figures read against another of the same run, with no target (bench/README.md explains them). */
export function ratios(m: Measurements): Ratio[] {
  const ratio = (what: string, value: number): Ratio => ({ what, value: round(value), unit: '×' })
  return [
    ratio('POST /auth/token client_credentials ÷ raw RS256 sign', m.clientToken.load.rps / rawSignRate(m)),
    ratio('POST /auth/refresh ÷ raw RS256 sign', m.refresh.load.rps / rawSignRate(m)),
    ratio('GET /me with a personal access token ÷ GET /me with the JWT', m.mePat.load.rps / m.me.load.rps),
    ratio('POST /auth/introspect ÷ GET /me', m.introspect.load.rps / m.me.load.rps),
  ]
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
    {
      what: "non-2xx responses and errors, every figure (the storm's flood excepted)",
      value: figuresOf(m).reduce((sum, f) => sum + f.load.errors, 0),
      unit: 'responses',
      target: '= 0',
      pass: figureErrors(m).length === 0,
    },
  ]
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)))
  const line = (cells: string[]) =>
    cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join('  ')
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n')
}

export function formatReport(m: Measurements, context: string): string {
  const figures = figuresOf(m)
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
  const rates = (raw: RawRate[]) => raw.map((r) => `${n(r.opsPerSecond)}/s (${r.how})`).join(', ')
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
    `raw argon2id verify (server core, server parameters): ${rates(m.argon2)}`,
    `raw RS256 sign (server core, 2048-bit key, a client token's claims): ${rates(m.sign)}`,
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
    'ratios (no target; bench/README.md):',
    ...ratios(m).map((r) => `  ${r.what}: ${r.value} ${r.unit}`),
    '',
    'targets (issue 7, and no errors):',
    ...results,
  ].join('\n')
}
