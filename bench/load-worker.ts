/**
 * One load generator: an autocannon run in its own process, started by `load.ts` (pinned to the
 * load core). It reports `{ type: 'started' }` once connections are open and `{ type: 'result' }`
 * at the end over the IPC channel. Latencies are recorded here at microsecond resolution, because
 * autocannon's own histogram keeps whole milliseconds, too coarse for a p99 of a few ms.
 */
import { createHistogram } from 'node:perf_hooks'
import autocannon from 'autocannon'
import type { LoadResult, LoadSpec } from './load.ts'

function send(message: unknown): Promise<void> {
  return new Promise((resolve, reject) => {
    if (!process.send) {
      reject(new Error('load-worker.ts runs only as a child of load.ts'))
      return
    }
    process.send(message, (error: Error | null) => (error ? reject(error) : resolve()))
  })
}

/** Refresh tokens are single-use: every request takes a fresh one, every 200 hands back its successor. */
function refreshRequests(tokens: string[]): autocannon.Request[] {
  const unused = [...tokens]
  return [
    {
      method: 'POST',
      path: '/auth/refresh',
      headers: { 'content-type': 'application/json' },
      setupRequest: (request) => ({
        ...request,
        body: JSON.stringify({ refresh_token: unused.shift() ?? '' }),
      }),
      onResponse: (status, body) => {
        if (status === 200) unused.push((JSON.parse(body) as { refresh_token: string }).refresh_token)
      },
    },
  ]
}

async function run(spec: LoadSpec): Promise<LoadResult> {
  const latencies = createHistogram()
  let finished: (result: autocannon.Result) => void = () => undefined
  let failed: (error: unknown) => void = () => undefined
  const done = new Promise<autocannon.Result>((resolve, reject) => {
    finished = resolve
    failed = reject
  })
  const instance = autocannon(
    {
      url: spec.url + spec.path,
      method: spec.method,
      connections: spec.connections,
      duration: spec.seconds,
      headers: spec.headers,
      body: spec.body,
      timeout: 10,
      ...(spec.refreshTokens ? { requests: refreshRequests(spec.refreshTokens) } : {}),
    },
    (error: unknown, result) => (error ? failed(error) : finished(result)),
  )
  instance.on('start', () => void send({ type: 'started' }))
  instance.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
    if (statusCode >= 200 && statusCode < 300) latencies.record(Math.max(1, Math.round(responseTime * 1000)))
  })
  const result = await done
  const ms = (micros: number) => Math.round(micros) / 1000
  const ok = result['2xx']
  return {
    name: spec.name,
    connections: spec.connections,
    seconds: result.duration,
    requests: ok,
    rps: ok / result.duration,
    p50: ms(latencies.percentile(50)),
    p99: ms(latencies.percentile(99)),
    max: ms(latencies.max),
    errors: result.errors + result.non2xx,
    statusCodes: Object.fromEntries(
      Object.entries(result.statusCodeStats ?? {}).map(([code, stat]) => [code, stat.count ?? 0]),
    ),
  }
}

const spec = JSON.parse(process.argv[2] ?? '') as LoadSpec
await send({ type: 'result', result: await run(spec) })
process.disconnect()
