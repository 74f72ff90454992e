import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { closeSync, openSync, readFileSync } from 'node:fs'
import { createServer, request } from 'node:http'
import { fileURLToPath } from 'node:url'
import { pinned } from './cpu.ts'

export const ROOT = fileURLToPath(new URL('..', import.meta.url))
/**
 * The production command — `npm start`'s, run without npm: `node`, its flags, the compiled entry
 * point. Read from package.json so the bench measures what production runs.
 */
function productionCommand(): { nodeFlags: string[]; main: string } {
  const { scripts } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    scripts: { start: string }
  }
  const [node, ...rest] = scripts.start.split(/\s+/)
  const main = rest.pop()
  if (node !== 'node' || main === undefined) throw new Error(`unexpected start script: ${scripts.start}`)
  return { nodeFlags: rest, main: fileURLToPath(new URL(`../${main}`, import.meta.url)) }
}
const START_TIMEOUT_MS = 30_000
/** prom-client samples the event loop with `monitorEventLoopDelay` at this resolution (its default). */
const EVENT_LOOP_RESOLUTION_MS = 10
/** `/proc/PID/stat` counts CPU time in these (USER_HZ, 100 on every Linux this runs on). */
const CLOCK_TICKS_PER_SECOND = 100

/** `npm run build`: type-checks src/ and bundles it into dist/ (scripts/build.ts). */
export function build(): void {
  process.stdout.write('building (npm run build)…\n')
  execFileSync(process.execPath, ['--import', 'tsx', 'scripts/build.ts'], { cwd: ROOT, stdio: 'inherit' })
}

/** Servers still running: stopped if the bench itself is stopped (Ctrl-C, kill) or fails. */
const running = new Set<ChildProcess>()
process.once('exit', () => {
  for (const child of running) child.kill('SIGTERM')
})
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130))

export interface ServerOptions {
  /** Working directory (no `.env` there, so a developer's settings cannot leak in). */
  dir: string
  logFile: string
  databaseUrl: string
  redisUrl: string | undefined
  /** Extra `node` flags, e.g. `--cpu-prof`. */
  nodeArgs?: string[]
  /** `ADMIN_EMAIL`/`ADMIN_PASSWORD`: the account the server ensures at start (it registers clients). */
  admin?: { email: string; password: string }
}

/** Event-loop delay beyond the sampling interval, and memory, as the server reports them. */
export interface ServerSample {
  eventLoopDelayMs: { p50: number; p99: number; max: number }
  rssMb: number
  /** Time spent in garbage collection since the server started (prom-client's gc histogram). */
  gcSeconds: number
}

export class BenchServer {
  private constructor(
    readonly url: string,
    private readonly child: ChildProcess,
    /** Spawn to the first `GET /health` 200, milliseconds. */
    readonly startupMs: number,
  ) {}

  /** Starts the production server pinned to the server core, logging (info) to `logFile`. */
  static async start(options: ServerOptions): Promise<BenchServer> {
    const port = await freePort()
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? options.dir,
      HOST: '127.0.0.1',
      PORT: String(port),
      DATABASE_URL: options.databaseUrl,
      LOG_LEVEL: 'info',
      // The limits protect production from floods; here the flood is the measurement. The login
      // limit also sizes /auth/token's per-address budget (30 × it, 30 million a minute here) and
      // the failed client authentications' (none happen); /auth/introspect has no address budget.
      LOGIN_RATE_LIMIT: '1000000',
      SIGNUP_RATE_LIMIT: '1000000',
      ...(options.redisUrl === undefined ? {} : { REDIS_URL: options.redisUrl }),
      ...(options.admin === undefined
        ? {}
        : { ADMIN_EMAIL: options.admin.email, ADMIN_PASSWORD: options.admin.password }),
    }
    const log = openSync(options.logFile, 'a')
    const { nodeFlags, main } = productionCommand()
    const [command, args] = pinned('server', process.execPath, [
      ...nodeFlags,
      ...(options.nodeArgs ?? []),
      main,
    ])
    const began = performance.now()
    const child = spawn(command, args, { cwd: options.dir, env, stdio: ['ignore', log, log] })
    running.add(child)
    child.once('exit', () => running.delete(child))
    closeSync(log)
    const url = `http://127.0.0.1:${port}`
    let exited: string | undefined
    child.once('exit', (code, signal) => (exited = `exited with ${signal ?? code}`))
    while (!(await healthy(url))) {
      if (exited !== undefined) throw new Error(`the server ${exited}; see ${options.logFile}`)
      if (performance.now() - began > START_TIMEOUT_MS) throw new Error('the server did not start')
      await new Promise((resolve) => setTimeout(resolve, 2))
    }
    return new BenchServer(url, child, performance.now() - began)
  }

  get pid(): number {
    return this.child.pid ?? 0
  }

  /**
   * Reads `/metrics`. prom-client resets its event-loop histogram on every scrape, so a sample
   * covers the time since the previous one: scrape before a phase, and again after it.
   */
  async sample(): Promise<ServerSample> {
    const text = await (await fetch(`${this.url}/metrics`)).text()
    const gauge = (name: string) => Number(new RegExp(`^${name} ([0-9.e+-]+)$`, 'm').exec(text)?.[1] ?? NaN)
    const delay = (name: string) =>
      Math.max(0, gauge(`nodejs_eventloop_lag_${name}_seconds`) * 1000 - EVENT_LOOP_RESOLUTION_MS)
    return {
      eventLoopDelayMs: { p50: delay('p50'), p99: delay('p99'), max: delay('max') },
      rssMb: gauge('process_resident_memory_bytes') / 2 ** 20,
      gcSeconds: [...text.matchAll(/^nodejs_gc_duration_seconds_sum\{kind="\w+"\} ([0-9.e+-]+)$/gm)]
        .map((match) => Number(match[1]))
        .reduce((sum, seconds) => sum + seconds, 0),
    }
  }

  /**
   * CPU time the server has used so far, all threads (Linux), seconds. Per request, it is a figure
   * that other processes on a busy machine disturb far less than a rate.
   */
  cpuSeconds(): number | undefined {
    try {
      const stat = readFileSync(`/proc/${this.pid}/stat`, 'utf8')
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND
    } catch {
      return undefined
    }
  }

  /** Waits (at most 30 s) until the server uses under 2 % of a CPU over half a second. */
  async idle(): Promise<void> {
    const began = performance.now()
    for (let before = this.cpuSeconds(); performance.now() - began < 30_000;) {
      await new Promise((resolve) => setTimeout(resolve, 500))
      const now = this.cpuSeconds()
      if (before === undefined || now === undefined || now - before < 0.01) return
      before = now
    }
  }

  /** Peak resident memory of the whole run (Linux), megabytes. */
  peakRssMb(): number | undefined {
    try {
      const status = readFileSync(`/proc/${this.pid}/status`, 'utf8')
      const kb = /^VmHWM:\s+(\d+) kB$/m.exec(status)?.[1]
      return kb === undefined ? undefined : Number(kb) / 1024
    } catch {
      return undefined
    }
  }

  /** SIGTERM (graceful), as an orchestrator stops it. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return
    const exit = new Promise((resolve) => this.child.once('exit', resolve))
    this.child.kill('SIGTERM')
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000)
    await exit
    clearTimeout(timer)
  }
}

function healthy(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(`${url}/health`, { agent: false }, (res) => {
      res.resume()
      resolve(res.statusCode === 200)
    })
    req.on('error', () => resolve(false))
    req.end()
  })
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}
