/**
 * `npm run bench [-- --long] [-- --database-url postgres://… [--redis-url redis://…]]`
 *
 * Builds, starts the production server (`node dist/main.js`, logging to a file) pinned to CPU 0,
 * and measures issue 7's figures with autocannon processes pinned to CPU 1. Prints a table and the
 * targets, and writes the whole result as JSON to bench/results/. See bench/README.md.
 */
import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { describePinning, pinned, pinSelf } from './cpu.ts'
import { runLoad, startLoad, type LoadResult } from './load.ts'
import { watchNoise } from './noise.ts'
import {
  checks,
  figureErrors,
  formatReport,
  ratios,
  type Figure,
  type Measurements,
  type RawRate,
} from './report.ts'
import { BENCH_ADMIN, CONNECTIONS, prepare } from './scenario.ts'
import { build, BenchServer, ROOT } from './server.ts'

const { values: options } = parseArgs({
  options: {
    long: { type: 'boolean', default: false },
    'database-url': { type: 'string' },
    'redis-url': { type: 'string' },
    'no-build': { type: 'boolean', default: false },
  },
})
const seconds = options.long ? 30 : 10

/**
 * A raw library rate on the server core, while the server idles: `script` prints one JSON array
 * of `{ how, opsPerSecond }` (bench/argon2-rate.ts, bench/sign-rate.ts).
 */
async function rawRate(script: string, seconds: number): Promise<RawRate[]> {
  const [command, args] = pinned('server', process.execPath, [
    '--import',
    import.meta.resolve('tsx'),
    join(ROOT, 'bench', script),
    String(seconds),
  ])
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()))
  const code = await new Promise((resolve) => child.on('exit', resolve))
  if (code !== 0) throw new Error(`${script} exited with ${String(code)}`)
  return JSON.parse(out) as RawRate[]
}

/** Bare `node:http` on the server core: how fast the machine is right now (bench/bare-server.ts). */
async function calibrate(seconds: number): Promise<LoadResult> {
  const [command, args] = pinned('server', process.execPath, [
    '--import',
    import.meta.resolve('tsx'),
    join(ROOT, 'bench/bare-server.ts'),
  ])
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'] })
  try {
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.once('data', (chunk: Buffer) => resolve(chunk.toString().trim()))
      child.once('exit', (code) => reject(new Error(`bare-server.ts exited with ${String(code)}`)))
    })
    return await runLoad({
      name: 'bare node:http',
      url,
      path: '/health',
      method: 'GET',
      connections: CONNECTIONS,
      seconds,
    })
  } finally {
    child.kill('SIGTERM')
  }
}

async function main(): Promise<void> {
  pinSelf()
  if (!options['no-build']) build()
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-'))
  const databaseUrl = options['database-url'] ?? `sqlite:${join(dir, 'gatehouse.db')}`
  const database = databaseUrl.startsWith('sqlite:') ? 'SQLite' : 'PostgreSQL'
  const context = [
    `Gatehouse bench — ${new Date().toISOString()} — ${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}`,
    `${database}${options['redis-url'] ? ' + Redis' : ''}, RS256, LOG_LEVEL=info to a file, ${CONNECTIONS} connections, ${seconds} s per figure`,
    describePinning(),
  ].join('\n')
  process.stdout.write(`${context}\n`)

  process.stdout.write('measuring bare node:http (calibration)…\n')
  const calibration = await calibrate(Math.min(seconds, 5))
  const serverOptions = { dir, logFile: join(dir, 'server.log'), databaseUrl, redisUrl: options['redis-url'] }
  // The first start creates the schema and the signing key; the measured server is a restart.
  // The admin who registers the machine client is created by a start in between, not timed, so
  // neither start-up figure includes a password hash: the restart only finds the admin there.
  const withAdmin = { ...serverOptions, admin: BENCH_ADMIN }
  const first = await BenchServer.start(serverOptions)
  await first.stop()
  await (await BenchServer.start(withAdmin)).stop()
  const server = await BenchServer.start(withAdmin)
  try {
    const scenario = await prepare(server.url, seconds)
    const measure = async (label: string, run: () => Promise<LoadResult>): Promise<Figure> => {
      const before = await server.sample()
      process.stdout.write(`measuring ${label}…\n`)
      const noise = watchNoise()
      const cpuBefore = server.cpuSeconds()
      const result = await run()
      const cpuAfter = server.cpuSeconds()
      const cpuMicros =
        cpuBefore === undefined || cpuAfter === undefined || result.requests === 0
          ? undefined
          : ((cpuAfter - cpuBefore) * 1e6) / result.requests
      const after = await server.sample()
      const gcShare = (after.gcSeconds - before.gcSeconds) / result.seconds
      return { label, load: result, server: after, otherCpu: noise(), cpuMicros, gcShare }
    }
    // Warm-up (JIT, caches), not reported.
    await runLoad({ ...scenario.health, seconds: 2 })
    await runLoad({ ...scenario.me, seconds: 2 })

    const health = await measure('GET /health', () => runLoad(scenario.health))
    const me = await measure('GET /me', () => runLoad(scenario.me))
    const mePat = await measure(scenario.mePat.name, () => runLoad(scenario.mePat))
    process.stdout.write('measuring raw argon2id verify…\n')
    const argon2 = await rawRate('argon2-rate.ts', options.long ? 30 : 9)
    const login = await measure('POST /auth/login', () => runLoad(scenario.login))
    const refresh = await measure('POST /auth/refresh', () => runLoad(scenario.refresh))
    process.stdout.write('measuring raw RS256 signing…\n')
    const sign = await rawRate('sign-rate.ts', options.long ? 12 : 4)
    const clientToken = await measure(scenario.clientToken.name, () => runLoad(scenario.clientToken))
    const introspect = await measure(scenario.introspect.name, () => runLoad(scenario.introspect))
    let storm: LoadResult | undefined
    const meDuringStorm = await measure('GET /me during a login storm', async () => {
      const flood = startLoad({ ...scenario.login, name: 'login storm', seconds: seconds + 4 })
      await flood.started
      await new Promise((resolve) => setTimeout(resolve, 1000))
      const result = await runLoad({ ...scenario.me, name: 'GET /me during a login storm' })
      storm = await flood.result
      return result
    })
    if (!storm) throw new Error('the login storm did not report')
    // Logins queued when the storm's clients left are still being hashed: "after the run" is once
    // the server has finished them and gone idle.
    await server.idle()
    const after = await server.sample()

    const measurements: Measurements = {
      health,
      me,
      mePat,
      login,
      refresh,
      clientToken,
      introspect,
      meDuringStorm,
      storm,
      argon2,
      sign,
      calibration,
      startupMs: { firstStart: first.startupMs, restart: server.startupMs },
      rssAfterMb: after.rssMb,
      peakRssMb: server.peakRssMb(),
    }
    process.stdout.write(`\n${formatReport(measurements, context)}\n`)
    const resultsDir = join(ROOT, 'bench/results')
    mkdirSync(resultsDir, { recursive: true })
    const stamp = new Date().toISOString().replace(/[:.]/g, '-')
    const file = join(
      resultsDir,
      `${stamp}-${database.toLowerCase()}${options['redis-url'] ? '-redis' : ''}.json`,
    )
    const result = { context, database, redis: options['redis-url'] !== undefined, seconds, measurements }
    writeFileSync(
      file,
      `${JSON.stringify({ ...result, checks: checks(measurements), ratios: ratios(measurements) }, null, 2)}\n`,
    )
    process.stdout.write(`\nwritten to ${file}\n`)
    // A figure with a refused or lost request measured something else (a 429 is cheap): it fails the run.
    const failed = figureErrors(measurements)
    if (failed.length > 0) {
      process.stderr.write(`\nFAILED: non-2xx responses or errors in ${failed.join('; ')}\n`)
      process.exitCode = 1
    }
  } finally {
    await server.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}

await main()
