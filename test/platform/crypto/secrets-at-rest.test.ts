import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { decodeProtectedHeader } from 'jose'
import { ConfigError } from '../../../src/platform/config/config.ts'
import { secretsKeyBox, serverKey } from '../../../src/platform/crypto/at-rest.ts'
import { describeOnDatabases, startTestApp, stopTestApp, type TestApp } from '../../support/harness.ts'
import { clientFor } from '../../support/client.ts'
import { createTestDatabase, type TestDatabase } from '../../support/databases.ts'

const SECRETS_KEY = randomBytes(32).toString('base64')
const CLI = fileURLToPath(new URL('../../../src/cli.ts', import.meta.url))
const TSX = import.meta.resolve('tsx')

/** Another instance on the same database, with its own environment. */
const instance = (t: TestApp, env: Record<string, string> = {}) =>
  startTestApp({ kind: t.kind, url: t.databaseUrl, drop: () => Promise.resolve() }, { env })

const storedKeys = (t: TestApp) =>
  t.context.db.selectFrom('signing_keys').select(['kid', 'private_jwk']).orderBy('created_at').execute()

async function startupProblem(start: Promise<TestApp>): Promise<string> {
  const started = await start.then(
    (t) => t,
    (error: unknown) => error,
  )
  if (!(started instanceof ConfigError)) {
    if (started && typeof started === 'object' && 'app' in started) await stopTestApp(started as TestApp)
    assert.fail(`expected a ConfigError, got ${String(started)}`)
  }
  return started.message
}

// Each suite starts in clear, as a database made before SECRETS_KEY was set.
await describeOnDatabases('Private signing keys at rest', (ctx) => {
  const api = clientFor(ctx)
  it('seals the clear private keys of a database in place on the first start with SECRETS_KEY, tokens signed before still valid', async () => {
    const before = await api.loggedInUser()
    const [clear] = await storedKeys(ctx())
    assert.ok(clear, 'a key was made')
    assert.ok(clear.private_jwk.startsWith('{'), 'stored in clear without SECRETS_KEY')
    const serverKey = () =>
      ctx().context.db.selectFrom('server_secrets').select('value').executeTakeFirstOrThrow()
    assert.doesNotMatch((await serverKey()).value, /^v1\./)

    // Two instances start at once with the key: each seals what it finds, exactly once.
    const [first, second] = await Promise.all([
      instance(ctx(), { SECRETS_KEY }),
      instance(ctx(), { SECRETS_KEY }),
    ])
    try {
      const sealed = await storedKeys(ctx())
      assert.deepEqual(
        sealed.map((row) => row.kid),
        [clear.kid],
      )
      assert.match(sealed[0]!.private_jwk, /^v1\.[\w-]+\.[\w-]+$/)
      assert.ok(!sealed[0]!.private_jwk.includes('"d"'), 'no private parameter in clear')
      assert.match((await serverKey()).value, /^v1\./, 'the server key is sealed in place too')
      for (const t of [first, second]) {
        t.clock.advance((ctx().clock.now() - t.clock.now()) / 1000)
        assert.equal((await clientFor(t).me(before.tokens.access_token)).statusCode, 200)
        const fresh = await clientFor(t).loggedInUser()
        assert.equal(decodeProtectedHeader(fresh.tokens.access_token).kid, clear.kid, 'the same key signs')
        assert.equal((await api.me(fresh.tokens.access_token)).statusCode, 200)
      }
      await stopTestApp(await instance(ctx(), { SECRETS_KEY }))
      assert.deepEqual(await storedKeys(ctx()), sealed, 'a later start leaves sealed keys as they are')

      const kid = await first.context.signingKeys.rotate()
      const rotated = (await storedKeys(ctx())).find((row) => row.kid === kid)
      assert.match(rotated!.private_jwk, /^v1\./, 'a new key is stored sealed')
    } finally {
      await stopTestApp(first)
      await stopTestApp(second)
    }
  })

  it('refuses to start, with a message naming SECRETS_KEY, when the sealed keys need a key it does not have', async () => {
    const missing = await startupProblem(instance(ctx()))
    assert.match(
      missing,
      /SECRETS_KEY: not set, but the private signing key \S+ in the database is encrypted/,
    )
    const wrong = await startupProblem(instance(ctx(), { SECRETS_KEY: randomBytes(32).toString('base64') }))
    assert.match(wrong, /SECRETS_KEY: does not decrypt the private signing key \S+ in the database/)
    const stored = await storedKeys(ctx())
    assert.ok(stored.every((row) => row.private_jwk.startsWith('v1.')))
    const right = await instance(ctx(), { SECRETS_KEY })
    await stopTestApp(right)
  })

  it('cannot be opened in another row: a sealed key copied over another kid does not decrypt', async () => {
    const t = await instance(ctx(), { SECRETS_KEY })
    try {
      const kid = await t.context.signingKeys.rotate()
      const rows = await storedKeys(ctx())
      const other = rows.find((row) => row.kid !== kid)!
      const sealed = rows.find((row) => row.kid === kid)!.private_jwk
      await ctx()
        .context.db.updateTable('signing_keys')
        .set({ private_jwk: sealed })
        .where('kid', '=', other.kid)
        .execute()
      assert.match(
        await startupProblem(instance(ctx(), { SECRETS_KEY })),
        new RegExp(`does not decrypt the private signing key ${other.kid}`),
      )
      await ctx()
        .context.db.updateTable('signing_keys')
        .set({ private_jwk: other.private_jwk })
        .where('kid', '=', other.kid)
        .execute()
    } finally {
      await stopTestApp(t)
    }
  })
})

await describeOnDatabases(
  'Server keys at rest',
  (ctx) => {
    const api = clientFor(ctx)
    it('keeps the server key that seals replayable refresh tokens under SECRETS_KEY, one for every instance', async () => {
      const [row] = await ctx().context.db.selectFrom('server_secrets').selectAll().execute()
      assert.equal(row?.name, 'refresh_successors')
      assert.match(row.value, /^v1\./)
      const other = await instance(ctx(), { SECRETS_KEY })
      try {
        const { tokens } = await api.loggedInUser()
        const refresh = (t: TestApp) =>
          t.app.inject({
            method: 'POST',
            url: '/auth/refresh',
            payload: { refresh_token: tokens.refresh_token },
          })
        const first = await refresh(ctx())
        other.clock.advance((ctx().clock.now() - other.clock.now()) / 1000)
        const replay = await refresh(other)
        assert.equal(replay.statusCode, 200)
        assert.equal(replay.json().refresh_token, first.json().refresh_token, 'the other instance opens it')
      } finally {
        await stopTestApp(other)
      }
    })

    it('makes one server key when ten instances ask for it at once', async () => {
      const { db, clock, config } = ctx().context
      const secretsKey = secretsKeyBox(config.secretsKey)
      const boxes = await Promise.all(
        Array.from({ length: 10 }, () => serverKey(db, clock, secretsKey, 'race_test')),
      )
      const sealed = boxes[0]!.seal('secret', 'race')
      for (const box of boxes) assert.equal(box.open(sealed, 'race').toString('utf8'), 'secret')
      const rows = await db
        .selectFrom('server_secrets')
        .select('name')
        .where('name', '=', 'race_test')
        .execute()
      assert.equal(rows.length, 1)
    })
  },
  { env: { SECRETS_KEY } },
)

describe('gatehouse with sealed keys and no SECRETS_KEY', () => {
  let database: TestDatabase
  before(async () => {
    database = await createTestDatabase('sqlite')
    await stopTestApp(await startTestApp(database, { env: { SECRETS_KEY } }))
  })
  after(() => database.drop())

  it('exits 1 with one clear line naming SECRETS_KEY, not a stack trace', async () => {
    const result = await new Promise<{ code: number; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        ['--import', TSX, CLI, 'keys', 'list'],
        { env: { PATH: process.env.PATH, DATABASE_URL: database.url }, timeout: 30_000 },
        (error, _stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stderr }),
      )
    })
    assert.equal(result.code, 1)
    assert.match(
      result.stderr,
      /SECRETS_KEY: not set, but the private signing key \S+ in the database is encrypted/,
    )
    assert.doesNotMatch(result.stderr, /^\s+at /m)
  })
})
