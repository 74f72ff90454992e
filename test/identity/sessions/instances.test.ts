import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import {
  createTestDatabase,
  databaseKinds,
  REDIS_URL,
  sharedServicesSkip,
  type TestDatabase,
} from '../../support/databases.ts'
import { STRONG_PASSWORD, uniqueEmail } from '../../support/harness.ts'
import {
  cleanupProcesses,
  request,
  runCli,
  startGatehouse,
  type HttpResponse,
  type ProcessEnv,
  type RunningGatehouse,
} from '../../support/process.ts'
import { startTcpProxy, type TcpProxy } from '../../support/tcp-proxy.ts'

/** How soon the contract's "at once" must reach another instance. */
const PROPAGATION_MS = 1000
/** How often a poll asks again. */
const POLL_MS = 50

interface Tokens {
  access_token: string
  refresh_token: string
}

const bearer = (accessToken: string) => ({ headers: { authorization: `Bearer ${accessToken}` } })

async function signup(server: RunningGatehouse, email: string): Promise<void> {
  const response = await request(server.url, 'POST', '/auth/signup', {
    body: { email, password: STRONG_PASSWORD },
  })
  assert.equal(response.status, 201, response.body)
}

async function login(server: RunningGatehouse, email: string): Promise<Tokens> {
  const response = await request(server.url, 'POST', '/auth/login', {
    body: { username: email, password: STRONG_PASSWORD },
  })
  assert.equal(response.status, 200, response.body)
  return response.json() as unknown as Tokens
}

const me = (server: RunningGatehouse, accessToken: string) =>
  request(server.url, 'GET', '/me', bearer(accessToken))

const refresh = (server: RunningGatehouse, refreshToken: string) =>
  request(server.url, 'POST', '/auth/refresh', { body: { refresh_token: refreshToken } })

async function logout(server: RunningGatehouse, accessToken: string, path = '/auth/logout'): Promise<void> {
  const response = await request(server.url, 'POST', path, bearer(accessToken))
  assert.equal(response.status, 204, response.body)
}

async function kids(server: RunningGatehouse): Promise<string[]> {
  const response = await request(server.url, 'GET', '/.well-known/jwks.json')
  assert.equal(response.status, 200, response.body)
  const { keys } = response.json() as { keys: { kid: string }[] }
  return keys.map((key) => key.kid).sort()
}

interface ErrorBody {
  code: string
  details?: { field: string; message: string }[]
}

/** Asserts the status and error code; returns the error envelope's `error`. */
function assertError(response: HttpResponse, status: number, code: string): ErrorBody {
  assert.equal(response.status, status, response.body)
  const error = response.json().error as ErrorBody
  assert.equal(error.code, code, response.body)
  return error
}

/**
 * Asks `probe` every POLL_MS until `done` accepts its answer; rejects after `timeoutMs` with the
 * last answer. Returns the accepted answer and how long after `since` it came.
 */
async function pollUntil(
  what: string,
  probe: () => Promise<HttpResponse>,
  done: (response: HttpResponse) => boolean,
  timeoutMs: number,
  since = Date.now(),
): Promise<{ response: HttpResponse; ms: number }> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const response = await probe()
    if (done(response)) return { response, ms: Date.now() - since }
    if (Date.now() >= deadline) {
      throw new Error(`${what}: not within ${timeoutMs} ms; last answer ${response.status} ${response.body}`)
    }
    await sleep(POLL_MS)
  }
}

/** Polls `/me` on `server` until `accessToken` is refused; asserts it took under PROPAGATION_MS. */
async function assertRevokedSoon(
  server: RunningGatehouse,
  accessToken: string,
  since: number,
  what: string,
): Promise<void> {
  const { response, ms } = await pollUntil(
    what,
    () => me(server, accessToken),
    (answer) => answer.status !== 200,
    3 * PROPAGATION_MS,
    since,
  )
  assertError(response, 401, 'INVALID_TOKEN')
  assert.ok(ms < PROPAGATION_MS, `${what}: refused after ${ms} ms, not within ${PROPAGATION_MS} ms`)
}

/** A copy of `url` pointing at `127.0.0.1:port`, credentials and database number kept. */
function viaPort(url: string, port: number): string {
  const proxied = new URL(url)
  proxied.hostname = '127.0.0.1'
  proxied.port = String(port)
  return proxied.toString()
}

const sharedSkip = await sharedServicesSkip()
const kinds = await databaseKinds()

/** What the issue promises for a revocation made by another process, without Redis. */
const RECONCILE_DEADLINE_MS = 5000

for (const { kind, skip } of kinds) {
  describe(`The CLI beside a running server, without Redis [${kind}]`, { skip }, () => {
    let database: TestDatabase | undefined
    let server: RunningGatehouse
    let env: ProcessEnv

    before(async () => {
      database = await createTestDatabase(kind)
      env = { DATABASE_URL: database.url }
      server = await startGatehouse({ env })
    })
    after(async () => {
      await cleanupProcesses()
      await database?.drop()
    })

    async function refusedSoon(accessToken: string, since: number, what: string): Promise<void> {
      const { response, ms } = await pollUntil(
        what,
        () => me(server, accessToken),
        (answer) => answer.status !== 200,
        RECONCILE_DEADLINE_MS,
        since,
      )
      assertError(response, 401, 'INVALID_TOKEN')
      assert.ok(ms < RECONCILE_DEADLINE_MS, `${what}: refused after ${ms} ms`)
    }

    it('users disable in the CLI: the running server refuses the user’s token within 5 s', async () => {
      const email = uniqueEmail('cli-disable')
      await signup(server, email)
      const tokens = await login(server, email)
      assert.equal((await me(server, tokens.access_token)).status, 200)
      const disabled = await runCli(env, 'users', 'disable', email)
      assert.equal(disabled.code, 0, disabled.stderr)
      await refusedSoon(tokens.access_token, Date.now(), 'the token of the disabled user')
    })

    it('keys revoke in the CLI: the running server refuses the key’s tokens and drops it from the JWKS within 5 s', async () => {
      const email = uniqueEmail('cli-revoke')
      await signup(server, email)
      const tokens = await login(server, email)
      const [kid] = await kids(server)
      assert.equal((await me(server, tokens.access_token)).status, 200)
      const revoked = await runCli(env, 'keys', 'revoke', kid!)
      assert.equal(revoked.code, 0, revoked.stderr)
      const since = Date.now()
      await refusedSoon(tokens.access_token, since, 'a token of the revoked key')
      assert.ok(!(await kids(server)).includes(kid!), 'the revoked key left the JWKS')
      const fresh = await login(server, email)
      assert.equal((await me(server, fresh.access_token)).status, 200, 'the server signs with the successor')
    })
  })
}

describe('Revocation across instances (PostgreSQL + Redis)', { skip: sharedSkip }, () => {
  let database: TestDatabase | undefined
  let a: RunningGatehouse
  let b: RunningGatehouse

  before(async () => {
    database = await createTestDatabase('postgres')
    const env: ProcessEnv = { DATABASE_URL: database.url, REDIS_URL }
    // One after the other: the first migrates and creates the signing key, the second finds both.
    a = await startGatehouse({ env })
    b = await startGatehouse({ env })
    // From here on each hears the other over Redis, not through the database fallback.
    for (const server of [a, b]) await server.waitForLog('revocation channel subscribed', 10_000)
  })
  after(async () => {
    await cleanupProcesses()
    await database?.drop()
  })

  it('both instances are ready, with the database and Redis checked', async () => {
    for (const server of [a, b]) {
      const ready = await request(server.url, 'GET', '/ready')
      assert.equal(ready.status, 200, ready.body)
      assert.deepEqual(ready.json(), { status: 'ready', checks: { database: 'ok', redis: 'ok' } })
    }
  })

  it('a token issued by A is accepted by B (shared keys); logout on B is refused by A within 1 s, refresh too', async () => {
    assert.deepEqual(await kids(b), await kids(a))
    const email = uniqueEmail('instances')
    await signup(a, email)
    const tokens = await login(a, email)
    for (const server of [a, b]) {
      const response = await me(server, tokens.access_token)
      assert.equal(response.status, 200, response.body)
      assert.equal(response.json().email, email)
    }

    await logout(b, tokens.access_token)
    await assertRevokedSoon(a, tokens.access_token, Date.now(), 'the access token on A after logout on B')
    assertError(await me(b, tokens.access_token), 401, 'INVALID_TOKEN')
    assertError(await refresh(a, tokens.refresh_token), 401, 'INVALID_REFRESH_TOKEN')
  })

  it('logout-all on A ends both sessions of the user on B within 1 s', async () => {
    const email = uniqueEmail('instances-all')
    await signup(a, email)
    const first = await login(a, email)
    const second = await login(b, email)
    for (const tokens of [first, second]) {
      assert.equal((await me(b, tokens.access_token)).status, 200)
    }

    await logout(a, first.access_token, '/auth/logout-all')
    const since = Date.now()
    await assertRevokedSoon(b, first.access_token, since, 'the first session on B after logout-all on A')
    await assertRevokedSoon(b, second.access_token, since, 'the second session on B after logout-all on A')
    for (const tokens of [first, second]) {
      assertError(await refresh(b, tokens.refresh_token), 401, 'INVALID_REFRESH_TOKEN')
    }
  })

  it('both instances stop cleanly on SIGTERM with their Redis connections open', async () => {
    for (const server of [a, b]) assert.deepEqual(await server.stop('SIGTERM'), { code: 0, signal: null })
  })
})

describe('Restart keeps sessions, revocations and keys', () => {
  const databases: TestDatabase[] = []
  after(async () => {
    await cleanupProcesses()
    for (const database of databases) await database.drop()
  })

  for (const { kind, skip } of kinds) {
    it(
      `on ${kind}: a logged-out session stays refused, a live one keeps working, the kid is the same`,
      { skip },
      async () => {
        let env: ProcessEnv = {}
        if (kind === 'postgres') {
          const database = await createTestDatabase('postgres')
          databases.push(database)
          env = { DATABASE_URL: database.url }
        }
        const first = await startGatehouse({ env })
        // SQLite lives in ./data of the working directory: the restart must use the same one.
        const restart = () => startGatehouse(kind === 'sqlite' ? { env, cwd: first.cwd } : { env })

        const email = uniqueEmail(`restart-${kind}`)
        await signup(first, email)
        const s1 = await login(first, email)
        const s2 = await login(first, email)
        await logout(first, s1.access_token)
        assertError(await me(first, s1.access_token), 401, 'INVALID_TOKEN')
        const kidsBefore = await kids(first)
        assert.deepEqual(await first.stop('SIGTERM'), { code: 0, signal: null })

        const second = await restart()
        assertError(await me(second, s1.access_token), 401, 'INVALID_TOKEN')
        assertError(await refresh(second, s1.refresh_token), 401, 'INVALID_REFRESH_TOKEN')
        const alive = await me(second, s2.access_token)
        assert.equal(alive.status, 200, alive.body)
        assert.equal(alive.json().email, email)
        const refreshed = await refresh(second, s2.refresh_token)
        assert.equal(refreshed.status, 200, refreshed.body)
        const next = refreshed.json() as unknown as Tokens
        assert.notEqual(next.refresh_token, s2.refresh_token)
        assert.equal((await me(second, next.access_token)).status, 200)
        assert.deepEqual(await kids(second), kidsBefore)
        assert.deepEqual(await second.stop('SIGTERM'), { code: 0, signal: null })
      },
    )
  }
})

describe('When Redis goes away', { skip: sharedSkip }, () => {
  const proxies: TcpProxy[] = []
  let database: TestDatabase | undefined
  let b: RunningGatehouse

  /** A proxy to the real Redis, and the `REDIS_URL` that goes through it. */
  async function redisProxy(): Promise<{ proxy: TcpProxy; url: string }> {
    const target = new URL(REDIS_URL)
    const proxy = await startTcpProxy(Number(target.port || 6379), target.hostname)
    proxies.push(proxy)
    return { proxy, url: viaPort(REDIS_URL, proxy.port) }
  }

  before(async () => {
    database = await createTestDatabase('postgres')
    b = await startGatehouse({ env: { DATABASE_URL: database.url, REDIS_URL } })
    await b.waitForLog('revocation channel subscribed', 10_000)
  })
  after(async () => {
    await cleanupProcesses()
    for (const proxy of proxies) await proxy.close()
    await database?.drop()
  })

  it('A reports Redis unready, still refuses tokens revoked elsewhere, and uses the channel again once Redis is back', async () => {
    const { proxy, url } = await redisProxy()
    const a = await startGatehouse({ env: { DATABASE_URL: database!.url, REDIS_URL: url } })
    await a.waitForLog('revocation channel subscribed', 10_000)
    const ready = await request(a.url, 'GET', '/ready')
    assert.equal(ready.status, 200, ready.body)
    const email = uniqueEmail('redis-outage')
    await signup(a, email)
    const during = await login(a, email)
    assert.equal((await me(a, during.access_token)).status, 200)

    await proxy.close()
    const { response: unready } = await pollUntil(
      "A's /ready once Redis is cut off",
      () => request(a.url, 'GET', '/ready'),
      (answer) => answer.status !== 200,
      5000,
    )
    assert.deepEqual(assertError(unready, 503, 'UNAVAILABLE').details, [
      { field: 'redis', message: 'not reachable' },
    ])
    await a.waitForLog('revocation channel lost: checking revocations in the database', 5000)

    // A still serves, answering from the database what it can no longer hear.
    const stillValid = await me(a, during.access_token)
    assert.equal(stillValid.status, 200, stillValid.body)
    await logout(b, during.access_token)
    assertError(await me(a, during.access_token), 401, 'INVALID_TOKEN')
    assertError(await refresh(a, during.refresh_token), 401, 'INVALID_REFRESH_TOKEN')

    await proxy.reopen()
    await pollUntil(
      "A's /ready once Redis is back",
      () => request(a.url, 'GET', '/ready'),
      (answer) => answer.status === 200,
      10_000,
    )
    // Healthy again only once the subscription is confirmed and the database re-read.
    await a.waitForLog('revocation channel recovered', 10_000)
    assertError(await me(a, during.access_token), 401, 'INVALID_TOKEN')

    const later = await login(b, email)
    assert.equal((await me(a, later.access_token)).status, 200)
    await logout(b, later.access_token)
    await assertRevokedSoon(
      a,
      later.access_token,
      Date.now(),
      'a session ended on B once A hears Redis again',
    )

    assert.equal(a.hasExited, false, 'A survived the outage')
    assert.deepEqual(await a.stop('SIGTERM'), { code: 0, signal: null })
  })

  it('an instance started while Redis is unreachable learns what it missed once Redis comes', async () => {
    const { proxy, url } = await redisProxy()
    await proxy.close()
    const c = await startGatehouse({ env: { DATABASE_URL: database!.url, REDIS_URL: url } })
    const unready = await request(c.url, 'GET', '/ready')
    assert.deepEqual(assertError(unready, 503, 'UNAVAILABLE').details, [
      { field: 'redis', message: 'not reachable' },
    ])

    const email = uniqueEmail('redis-late')
    await signup(b, email)
    const missed = await login(b, email)
    assert.equal((await me(c, missed.access_token)).status, 200)
    await logout(b, missed.access_token)
    assertError(await me(c, missed.access_token), 401, 'INVALID_TOKEN')

    await proxy.reopen()
    await pollUntil(
      "C's /ready once Redis is reachable",
      () => request(c.url, 'GET', '/ready'),
      (answer) => answer.status === 200,
      10_000,
    )
    // Once subscribed C answers from memory: it must first have re-read what it missed meanwhile.
    await c.waitForLog('revocation channel subscribed', 10_000)
    for (const deadline = Date.now() + 500; Date.now() < deadline; await sleep(POLL_MS)) {
      assertError(await me(c, missed.access_token), 401, 'INVALID_TOKEN')
    }

    const later = await login(b, email)
    assert.equal((await me(c, later.access_token)).status, 200)
    await logout(b, later.access_token)
    await assertRevokedSoon(c, later.access_token, Date.now(), 'a session ended on B once C hears Redis')
    assertError(await me(c, missed.access_token), 401, 'INVALID_TOKEN')
    assert.deepEqual(await c.stop('SIGTERM'), { code: 0, signal: null })
    assert.deepEqual(await b.stop('SIGTERM'), { code: 0, signal: null })
  })
})
