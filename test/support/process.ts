import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import http from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The real entry point, run from source through tsx exactly as `npm test` runs the suites. */
const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url))
const TSX = import.meta.resolve('tsx')
const CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url))
/** What `npm run build` makes and `npm start` runs. */
const BUILT_MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url))

// Generous: a child compiles through tsx and may generate a key pair, on a machine that may be busy.
export const START_TIMEOUT_MS = 30_000
export const EXIT_TIMEOUT_MS = 15_000

/** How a child process ended. */
export interface Exit {
  code: number | null
  signal: NodeJS.Signals | null
}

/**
 * `PORT`, `HOST` and `LOG_LEVEL` are set for every instance; a key set to `undefined` leaves it out.
 * Nothing else of the test runner's environment reaches the child.
 */
export type ProcessEnv = Record<string, string | undefined>

export interface GatehouseOptions {
  /** The working directory: where `./data/gatehouse.db` and `.env` live. Default: a fresh temp dir. */
  cwd?: string
  env?: ProcessEnv
  /** Run the build in dist/ (`BUILT_MAIN`) instead of the source. */
  built?: boolean
}

const live = new Set<ChildProcess>()
const dirs = new Set<string>()

/** A fresh temporary directory, removed by `cleanupProcesses()`. */
export function tempDir(prefix = 'gatehouse-process-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  dirs.add(dir)
  return dir
}

/** Rejects with a message naming `what` unless `promise` settles within `ms`. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms)
  })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}

/** A running `src/main.ts` in its own process, with everything it has written so far. */
export class GatehouseProcess {
  private out = ''
  private err = ''
  private readonly waiters = new Set<() => void>()
  /** Settles once the process has exited and its stdout and stderr are closed; never rejects. */
  readonly exited: Promise<Exit>
  private exit: Exit | undefined

  constructor(
    readonly child: ChildProcess,
    readonly cwd: string,
  ) {
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      this.out += chunk
      this.notify()
    })
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      this.err += chunk
      this.notify()
    })
    this.exited = new Promise<Exit>((resolve) => {
      const done = (exit: Exit) => {
        if (this.exit) return
        this.exit = exit
        live.delete(child)
        this.notify()
        resolve(exit)
      }
      child.once('close', (code, signal) => done({ code, signal }))
      child.once('error', () => done({ code: null, signal: null }))
    })
  }

  get stdout(): string {
    return this.out
  }

  get stderr(): string {
    return this.err
  }

  get hasExited(): boolean {
    return this.exit !== undefined
  }

  /** The JSON log lines written to stdout so far (anything else on stdout is skipped). */
  logs(): Record<string, unknown>[] {
    return this.out.split('\n').flatMap((line) => {
      if (!line.startsWith('{')) return []
      try {
        return [JSON.parse(line) as Record<string, unknown>]
      } catch {
        return [] // a line still being written
      }
    })
  }

  /** The first log line with this `msg`, waiting for it; rejects when the process exits first. */
  async waitForLog(msg: string, timeoutMs = START_TIMEOUT_MS): Promise<Record<string, unknown>> {
    const find = () => this.logs().find((line) => line.msg === msg)
    return within(
      new Promise<Record<string, unknown>>((resolve, reject) => {
        const check = () => {
          const line = find()
          if (line) resolve(line)
          else if (this.exit) reject(new Error(`exited (${describeExit(this.exit)}) before "${msg}"`))
          else return
          this.waiters.delete(check)
        }
        this.waiters.add(check)
        check()
      }),
      timeoutMs,
      `log line "${msg}"`,
    ).catch((error: unknown) => {
      throw new Error(`${(error as Error).message}\nstdout:\n${this.out}\nstderr:\n${this.err}`)
    })
  }

  /** Sends `signal` and waits (bounded) for the process to exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = EXIT_TIMEOUT_MS): Promise<Exit> {
    if (!this.exit) this.child.kill(signal)
    return within(this.exited, timeoutMs, `exit after ${signal}`)
  }

  private notify(): void {
    for (const waiter of [...this.waiters]) waiter()
  }
}

export interface RunningGatehouse extends GatehouseProcess {
  /** `http://127.0.0.1:PORT`, from the `gatehouse listening` log line. */
  readonly url: string
  readonly port: number
}

function spawnGatehouse(options: GatehouseOptions): GatehouseProcess {
  const cwd = options.cwd ?? tempDir()
  // Every instance of a test run logs in from 127.0.0.1: budgets are lifted unless a test sets its own.
  const merged: ProcessEnv = {
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    LOGIN_RATE_LIMIT: '1000000',
    SIGNUP_RATE_LIMIT: '1000000',
    MAIL_RATE_LIMIT: '1000000',
    ...options.env,
  }
  const env: Record<string, string> = {}
  for (const [name, value] of Object.entries(merged)) if (value !== undefined) env[name] = value
  const child = spawn(process.execPath, options.built === true ? [BUILT_MAIN] : ['--import', TSX, MAIN], {
    cwd,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  live.add(child)
  return new GatehouseProcess(child, cwd)
}

/**
 * Starts the service as `npm start` would (from source) on a free port and waits for it to listen.
 *
 * ```ts
 * after(cleanupProcesses)
 * const server = await startGatehouse({ env: { DATABASE_URL: database.url } })
 * const response = await request(server.url, 'GET', '/health')
 * assert.deepEqual(await server.stop('SIGTERM'), { code: 0, signal: null })
 * ```
 */
export async function startGatehouse(options: GatehouseOptions = {}): Promise<RunningGatehouse> {
  const gatehouse = spawnGatehouse(options)
  try {
    const line = await gatehouse.waitForLog('gatehouse listening', START_TIMEOUT_MS)
    const url = String(line.url)
    return Object.assign(gatehouse, { url, port: Number(new URL(url).port) })
  } catch (error) {
    gatehouse.child.kill('SIGKILL')
    throw error
  }
}

/** Runs the service expecting it to stop by itself (a configuration error); returns how it ended. */
export async function runGatehouseToExit(
  options: GatehouseOptions = {},
): Promise<Exit & { stdout: string; stderr: string; ms: number }> {
  const started = Date.now()
  const gatehouse = spawnGatehouse(options)
  try {
    const exit = await within(gatehouse.exited, EXIT_TIMEOUT_MS, 'the process to exit by itself')
    return { ...exit, stdout: gatehouse.stdout, stderr: gatehouse.stderr, ms: Date.now() - started }
  } catch (error) {
    gatehouse.child.kill('SIGKILL')
    throw new Error(`${(error as Error).message}\nstdout:\n${gatehouse.stdout}\nstderr:\n${gatehouse.stderr}`)
  }
}

export interface CliRun {
  code: number
  stdout: string
  stderr: string
}

/** Runs `gatehouse ARGS` as a child process, the way an operator would, with `env` and PATH only. */
export function runCli(env: ProcessEnv, ...args: string[]): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', TSX, CLI, ...args],
      { env: { PATH: process.env.PATH, ...env }, timeout: 30_000 },
      (error, stdout, stderr) => {
        resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr })
      },
    )
  })
}

/** Kills every process still running and removes the temp dirs; for `after()`. */
export async function cleanupProcesses(): Promise<void> {
  const exits = [...live].map(
    (child) =>
      new Promise<void>((resolve) => {
        child.once('close', () => resolve())
        child.kill('SIGKILL')
      }),
  )
  live.clear()
  await within(Promise.all(exits), EXIT_TIMEOUT_MS, 'leftover processes to die')
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
  dirs.clear()
}

function describeExit(exit: Exit): string {
  return exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`
}

export interface HttpResponse {
  status: number
  headers: http.IncomingHttpHeaders
  body: string
  /** The body parsed as JSON; cast it to the shape the contract promises. */
  json(): Record<string, unknown>
}

/**
 * One HTTP request on its own connection (`Connection: close`), so no pooled socket outlives it.
 * A JSON `body` is serialised with its content type.
 */
export function request(
  baseUrl: string,
  method: string,
  path: string,
  options: { body?: unknown; headers?: Record<string, string>; timeoutMs?: number } = {},
): Promise<HttpResponse> {
  const payload = options.body === undefined ? undefined : JSON.stringify(options.body)
  const headers: Record<string, string> = {
    ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
    ...options.headers,
  }
  return new Promise((resolve, reject) => {
    const req = http.request(new URL(path, baseUrl), {
      method,
      headers,
      agent: false,
      timeout: options.timeoutMs ?? 10_000,
    })
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no response in time`)))
    req.on('error', reject)
    req.on('response', (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (body += chunk))
      res.on('error', reject)
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body,
          json: () => JSON.parse(body) as Record<string, unknown>,
        }),
      )
    })
    req.end(payload)
  })
}
