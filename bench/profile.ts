/**
 * `node --import tsx bench/profile.ts FIGURE [--seconds N] [--database-url …]` — FIGURE is one of
 * health, me, mePat, login, refresh, clientToken, introspect, storm, startup. Runs that figure alone against a server started with
 * `node --cpu-prof`, then prints where the server's CPU time went (self time by function and by
 * package) and keeps the `.cpuprofile` in bench/results/profiles/ (open it in Chrome DevTools).
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs'
import { SourceMap, type SourceMapPayload } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { pinSelf } from './cpu.ts'
import { runLoad, startLoad, type LoadSpec } from './load.ts'
import { BENCH_ADMIN, prepare } from './scenario.ts'
import { build, BenchServer, ROOT } from './server.ts'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number }
}
interface Profile {
  nodes: ProfileNode[]
  startTime: number
  samples: number[]
  timeDeltas: number[]
}

/** V8 stamps samples with the monotonic clock in microseconds, the clock `hrtime` reads. */
const nowMicros = () => Number(process.hrtime.bigint() / 1000n)

const FIGURES = [
  'health',
  'me',
  'mePat',
  'login',
  'refresh',
  'clientToken',
  'introspect',
  'storm',
  'startup',
] as const
type Figure = (typeof FIGURES)[number]

const { values: options, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    seconds: { type: 'string', default: '10' },
    'database-url': { type: 'string' },
    'no-build': { type: 'boolean', default: false },
    top: { type: 'string', default: '25' },
  },
})
const figure = positionals[0] as Figure
if (!FIGURES.includes(figure)) {
  process.stderr.write(`usage: bench/profile.ts ${FIGURES.join('|')} [--seconds N]\n`)
  process.exit(2)
}

/** Self time per key within `window` (monotonic µs), in milliseconds, largest first. */
function summarize(
  profile: Profile,
  key: (node: ProfileNode) => string,
  window: [number, number],
): [string, number][] {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]))
  const totals = new Map<string, number>()
  let at = profile.startTime
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0
    at += delta
    const node = byId.get(id)
    if (!node || at < window[0] || at > window[1]) return
    const name = key(node)
    totals.set(name, (totals.get(name) ?? 0) + delta / 1000)
  })
  return [...totals].sort((a, b) => b[1] - a[1])
}

/**
 * Where a frame's code came from: dist/ is one esbuild bundle per entry point, so its frames are
 * mapped back through the bundle's source map to the package or source file they were bundled from.
 */
const sourceMaps = new Map<string, SourceMap | undefined>()
function originalPosition(frame: ProfileNode['callFrame']): { url: string; line: number } {
  if (!frame.url.startsWith(`file://${ROOT}dist/`)) return { url: frame.url, line: frame.lineNumber + 1 }
  if (!sourceMaps.has(frame.url)) {
    const file = fileURLToPath(`${frame.url}.map`)
    sourceMaps.set(
      frame.url,
      existsSync(file)
        ? new SourceMap(JSON.parse(readFileSync(file, 'utf8')) as SourceMapPayload)
        : undefined,
    )
  }
  const entry = sourceMaps.get(frame.url)?.findEntry(frame.lineNumber, frame.columnNumber)
  if (!entry || !('originalSource' in entry)) return { url: frame.url, line: frame.lineNumber + 1 }
  return { url: new URL(entry.originalSource, frame.url).href, line: entry.originalLine + 1 }
}

const where = (url: string) => url.replace(/^.*node_modules\//, '').replace(`file://${ROOT}`, '')
const byFunction = (node: ProfileNode) => {
  const { url, line } = originalPosition(node.callFrame)
  return `${node.callFrame.functionName || '(anonymous)'} ${where(url)}:${line}`
}
const byPackage = (node: ProfileNode) => {
  if (node.callFrame.url === '') return node.callFrame.functionName
  const { url } = originalPosition(node.callFrame)
  return /node_modules\/((@[^/]+\/)?[^/]+)/.exec(url)?.[1] ?? (url.startsWith('node:') ? url : where(url))
}

pinSelf()
if (!options['no-build']) build()
const dir = mkdtempSync(join(tmpdir(), 'gatehouse-profile-'))
const seconds = Number(options.seconds)
const serverOptions = {
  dir,
  logFile: join(dir, 'server.log'),
  databaseUrl: options['database-url'] ?? `sqlite:${join(dir, 'gatehouse.db')}`,
  redisUrl: undefined,
}
const profiled = { ...serverOptions, nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${join(dir, 'prof')}`] }
let window: [number, number] = [-Infinity, Infinity]
let requests = 1
if (figure === 'startup') {
  await (await BenchServer.start(serverOptions)).stop()
  const server = await BenchServer.start(profiled)
  process.stdout.write(`start-up: ${server.startupMs.toFixed(0)} ms\n`)
  await server.stop()
} else {
  // Tokens and warm data come from an unprofiled server; the profiled one restarts on them.
  const setup = await BenchServer.start({ ...serverOptions, admin: BENCH_ADMIN })
  const scenario = await prepare(setup.url, seconds)
  await setup.stop()
  const server = await BenchServer.start(profiled)
  const on = (spec: LoadSpec): LoadSpec => ({ ...spec, url: server.url })
  const measured = figure === 'storm' ? scenario.me : scenario[figure]
  if (figure !== 'login' && figure !== 'refresh') await runLoad({ ...on(measured), seconds: 2 })
  const flood = figure === 'storm' ? startLoad({ ...on(scenario.login), seconds: seconds + 3 }) : undefined
  await flood?.started
  const load = startLoad(on(measured))
  await load.started
  const began = nowMicros()
  const result = await load.result
  window = [began, nowMicros()]
  await flood?.result
  requests = result.requests
  process.stdout.write(`${JSON.stringify(result)}\n`)
  await server.stop()
}

const file = readdirSync(join(dir, 'prof')).find((name) => name.endsWith('.cpuprofile'))
if (file === undefined) throw new Error('no profile written')
const out = join(ROOT, 'bench/results/profiles')
mkdirSync(out, { recursive: true })
const kept = join(out, `${figure}-${new Date().toISOString().replace(/[:.]/g, '-')}.cpuprofile`)
renameSync(join(dir, 'prof', file), kept)
rmSync(dir, { recursive: true, force: true })

const profile = JSON.parse(readFileSync(kept, 'utf8')) as Profile
const top = Number(options.top)
const show = (rows: [string, number][]) => {
  const total = rows.reduce((sum, [, ms]) => sum + ms, 0)
  return rows
    .slice(0, top)
    .map(
      ([name, ms]) =>
        `${((ms * 1000) / requests).toFixed(1).padStart(9)} µs ${((ms / total) * 100).toFixed(1).padStart(5)} %  ${name}`,
    )
    .join('\n')
}
const unit = figure === 'startup' ? 'in all' : `per request over ${requests} requests`
process.stdout.write(
  `\nprofile: ${kept}\nself time ${unit}, while the load ran:\n\nby package:\n${show(summarize(profile, byPackage, window))}\n\nby function:\n${show(summarize(profile, byFunction, window))}\n`,
)
