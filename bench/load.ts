import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { pinned } from './cpu.ts'

/** What one load generator does: `connections` closed-loop clients for `seconds`. */
export interface LoadSpec {
  name: string
  url: string
  path: string
  method: 'GET' | 'POST'
  connections: number
  seconds: number
  headers?: Record<string, string>
  body?: string
  /** Refresh mode: each request presents one of these (or a successor), never one used before. */
  refreshTokens?: string[]
}

export interface LoadResult {
  name: string
  connections: number
  seconds: number
  /** 2xx responses, and their rate. */
  requests: number
  rps: number
  /** Latency of 2xx responses, milliseconds. */
  p50: number
  p99: number
  max: number
  /** Connection errors, timeouts and non-2xx responses. */
  errors: number
  statusCodes: Record<string, number>
}

const WORKER = fileURLToPath(new URL('./load-worker.ts', import.meta.url))
const TSX = import.meta.resolve('tsx')

/** A running load generator; `started` resolves once its connections are open. */
export interface Load {
  started: Promise<void>
  result: Promise<LoadResult>
}

/** Starts a load generator in its own process on the load core. */
export function startLoad(spec: LoadSpec): Load {
  const [command, args] = pinned('load', process.execPath, ['--import', TSX, WORKER, JSON.stringify(spec)])
  const child = spawn(command, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  let onStarted: () => void = () => undefined
  const started = new Promise<void>((resolve) => (onStarted = resolve))
  const result = new Promise<LoadResult>((resolve, reject) => {
    child.on('message', (message: { type: string; result?: LoadResult }) => {
      if (message.type === 'started') onStarted()
      if (message.type === 'result' && message.result) resolve(message.result)
    })
    child.on('error', reject)
    child.on('exit', (code) => reject(new Error(`load generator "${spec.name}" exited with ${code}`)))
  })
  return { started, result }
}

export function runLoad(spec: LoadSpec): Promise<LoadResult> {
  return startLoad(spec).result
}
