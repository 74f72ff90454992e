/**
 * `npm run build`: type-checks src/ (tsc, no output), then bundles each entry point into one file in
 * dist/ with esbuild. One file loads in a fraction of the time Node takes to resolve and compile the
 * hundreds of modules behind it: start-up to the first request went from ~1 000 ms to ~450 ms on
 * the bench machine (bench/README.md).
 *
 * Left outside the bundle, loaded from node_modules: native addons, packages that read files of
 * their own at run time, and those loaded only when configured (PostgreSQL, Redis, SMTP, the
 * common-password list).
 */
import { execFileSync } from 'node:child_process'
import { rmSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const ROOT = fileURLToPath(new URL('..', import.meta.url))

const EXTERNAL = [
  'better-sqlite3',
  '@node-rs/argon2',
  'bcrypt',
  '@fastify/swagger-ui',
  'pg',
  'ioredis',
  'nodemailer',
  '@zxcvbn-ts/language-common',
]

const tsc = fileURLToPath(import.meta.resolve('typescript/bin/tsc'))
execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' })

rmSync(new URL('../dist', import.meta.url), { recursive: true, force: true })
await build({
  absWorkingDir: ROOT,
  // hash-worker.js beside the others: `hashing-threads.ts` finds it next to the running module.
  entryPoints: {
    main: 'src/main.ts',
    cli: 'src/cli.ts',
    'hash-worker': 'src/platform/crypto/hash-worker.ts',
  },
  outdir: 'dist',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: EXTERNAL,
  // Bundled CommonJS packages call `require`, which an ES module does not have.
  banner: {
    js: "import { createRequire as createRequireForBundle } from 'node:module'; const require = createRequireForBundle(import.meta.url);",
  },
  // For `node --enable-source-maps` stack traces and bench/profile.ts, which reads through the bundle.
  sourcemap: true,
  logLevel: 'warning',
})
