import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import net from 'node:net'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import BetterSqlite3 from 'better-sqlite3'
import { createTestDatabase, databaseKinds, type TestDatabase } from '../support/databases.ts'
import { STRONG_PASSWORD, uniqueEmail } from '../support/harness.ts'
import {
  cleanupProcesses,
  request,
  runGatehouseToExit,
  startGatehouse,
  tempDir,
  within,
  type RunningGatehouse,
} from '../support/process.ts'

const DEFAULT_DB = join('data', 'gatehouse.db')
const execFileAsync = promisify(execFile)

/** Reads rows straight from a service's SQLite file, as an operator would after a crash. */
function emailsInDatabase(file: string, emails: readonly string[]): string[] {
  const db = new BetterSqlite3(file, { fileMustExist: true })
  try {
    const rows = db
      .prepare(`select email from users where email in (${emails.map(() => '?').join(', ')})`)
      .all(...emails) as { email: string }[]
    return rows.map((row) => row.email).sort()
  } finally {
    db.close()
  }
}

async function signup(server: RunningGatehouse, email: string): Promise<{ id: string; email: string }> {
  const response = await request(server.url, 'POST', '/auth/signup', {
    body: { email, password: STRONG_PASSWORD },
  })
  assert.equal(response.status, 201, response.body)
  return response.json() as { id: string; email: string }
}

async function login(server: RunningGatehouse, email: string): Promise<{ access_token: string }> {
  const response = await request(server.url, 'POST', '/auth/login', {
    body: { username: email, password: STRONG_PASSWORD },
  })
  assert.equal(response.status, 200, response.body)
  return response.json() as { access_token: string }
}

async function kids(server: RunningGatehouse): Promise<string[]> {
  const response = await request(server.url, 'GET', '/.well-known/jwks.json')
  assert.equal(response.status, 200)
  const { keys } = response.json() as { keys: { kid: string }[] }
  return keys.map((key) => key.kid).sort()
}

/** A client connection driven byte by byte, to hold a request half-sent. */
class RawConnection {
  private data = ''
  private ended = false
  private readonly changed = new Set<() => void>()

  private constructor(readonly socket: net.Socket) {
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => {
      this.data += chunk
      this.notify()
    })
    socket.on('close', () => {
      this.ended = true
      this.notify()
    })
    socket.on('error', () => undefined) // reported as a close without a response
  }

  static async open(port: number): Promise<RawConnection> {
    const socket = net.connect(port, '127.0.0.1')
    await within(
      new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve).once('error', reject)
      }),
      5000,
      'the connection',
    )
    return new RawConnection(socket)
  }

  write(text: string): void {
    this.socket.write(text)
  }

  /** Waits until what has arrived satisfies `predicate`; rejects when the socket closes first. */
  async waitFor<T>(read: (data: string) => T | undefined, ms: number, what: string): Promise<T> {
    return within(
      new Promise<T>((resolve, reject) => {
        const check = () => {
          const value = read(this.data)
          if (value !== undefined) resolve(value)
          else if (this.ended) reject(new Error(`connection closed before ${what}; got: ${this.data}`))
          else return
          this.changed.delete(check)
        }
        this.changed.add(check)
        check()
      }),
      ms,
      what,
    )
  }

  close(): void {
    this.socket.destroy()
  }

  private notify(): void {
    for (const check of [...this.changed]) check()
  }
}

/** The final (non-1xx) response in `data`, once its whole Content-Length body has arrived. */
function completeResponse(data: string): { status: number; body: string } | undefined {
  const responses = data.split(/(?=HTTP\/1\.1 \d{3} )/)
  const last = responses.at(-1)
  const head = last?.match(/^HTTP\/1\.1 (\d{3}) [^\r]*\r\n([\s\S]*?)\r\n\r\n/)
  if (!last || !head || head[1]!.startsWith('1')) return undefined
  const length = Number(/^content-length: *(\d+)/im.exec(head[2]!)?.[1])
  const body = last.slice(head[0].length)
  return Buffer.byteLength(body) >= length ? { status: Number(head[1]), body } : undefined
}

/** What a new client meets: a refused connection, one closed without an answer, or a status. */
async function probe(port: number): Promise<'refused' | 'closed' | number> {
  let connection: RawConnection
  try {
    connection = await RawConnection.open(port)
  } catch (error) {
    // ECONNRESET: accepted by the kernel just as the listening socket closed.
    return (error as NodeJS.ErrnoException).code === 'ECONNREFUSED' ? 'refused' : 'closed'
  }
  try {
    connection.write(`GET /health HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`)
    return (await connection.waitFor(completeResponse, 2000, 'a response')).status
  } catch {
    return 'closed'
  } finally {
    connection.close()
  }
}

describe('npm start on a fresh directory', () => {
  after(cleanupProcesses)

  it('creates ./data/gatehouse.db, applies the migrations and answers /health and /ready', async () => {
    const cwd = tempDir()
    const server = await startGatehouse({ cwd, env: { LOG_LEVEL: undefined } })
    assert.ok(existsSync(join(cwd, DEFAULT_DB)), 'the default SQLite file exists')
    const migrated = server.logs().find((line) => line.msg === 'database migrated')
    assert.ok(migrated, 'a "database migrated" line is logged')
    assert.ok((migrated.migrations as string[]).includes('0001_initial'))

    const health = await request(server.url, 'GET', '/health')
    assert.equal(health.status, 200)
    assert.deepEqual(health.json(), { status: 'ok' })
    const ready = await request(server.url, 'GET', '/ready')
    assert.equal(ready.status, 200)
    assert.equal(ready.json().status, 'ready')

    assert.deepEqual(await server.stop('SIGTERM'), { code: 0, signal: null })
  })
})

describe('durability', () => {
  after(cleanupProcesses)

  it('keeps every user whose signup answered 201 when the process is killed (SIGKILL) right after', async () => {
    const server = await startGatehouse()
    const emails = Array.from({ length: 5 }, () => uniqueEmail('durable'))
    for (const email of emails) await signup(server, email)
    server.child.kill('SIGKILL')
    assert.deepEqual(await within(server.exited, 5000, 'the killed process'), {
      code: null,
      signal: 'SIGKILL',
    })

    assert.deepEqual(emailsInDatabase(join(server.cwd, DEFAULT_DB), emails), [...emails].sort())
  })
})

describe('graceful shutdown', () => {
  after(cleanupProcesses)

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`on ${signal}: refuses new connections, finishes the in-flight request, closes the database, exits 0`, async () => {
      const server = await startGatehouse()
      const email = uniqueEmail('inflight')
      const body = JSON.stringify({ email, password: STRONG_PASSWORD })
      const half = Math.floor(body.length / 2)

      const inFlight = await RawConnection.open(server.port)
      inFlight.write(
        `POST /auth/signup HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\n` +
          `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
          // Node answers 100 Continue as it hands the request to the app: proof it is in flight.
          `Expect: 100-continue\r\n\r\n${body.slice(0, half)}`,
      )
      await inFlight.waitFor(
        (data) => (data.startsWith('HTTP/1.1 100') ? true : undefined),
        5000,
        '100 Continue',
      )

      server.child.kill(signal)
      await server.waitForLog('shutting down: finishing in-flight requests', 5000)
      let refused = false
      for (const deadline = Date.now() + 3000; !refused && Date.now() < deadline; await sleep(50)) {
        refused = (await probe(server.port)) === 'refused'
      }
      assert.ok(refused, 'a new connection is refused once shutdown began')
      await sleep(200)
      assert.equal(server.hasExited, false, 'the process waits for the in-flight request')

      inFlight.write(body.slice(half))
      const response = await inFlight.waitFor(completeResponse, 10_000, 'the signup response')
      assert.equal(response.status, 201, response.body)
      assert.equal((JSON.parse(response.body) as { email: string }).email, email)

      // The client keeps its connection open: the server must not wait for it to go away.
      assert.deepEqual(await within(server.exited, 10_000, 'exit after the in-flight request'), {
        code: 0,
        signal: null,
      })
      inFlight.close()
      assert.ok(
        server.logs().some((line) => line.msg === 'stopped'),
        'the last log line is not lost',
      )
      // SQLite removes the write-ahead log when the last connection closes cleanly.
      const file = join(server.cwd, DEFAULT_DB)
      assert.equal(existsSync(`${file}-wal`), false, 'the database was closed')
      assert.deepEqual(emailsInDatabase(file, [email]), [email])
    })
  }
})

describe('restart', () => {
  after(cleanupProcesses)

  it('keeps the signing keys, the users and the validity of issued tokens across a restart', async () => {
    const cwd = tempDir()
    const first = await startGatehouse({ cwd })
    const email = uniqueEmail('restart')
    const user = await signup(first, email)
    const { access_token: accessToken } = await login(first, email)
    const kidsBefore = await kids(first)
    assert.equal(kidsBefore.length, 1)
    assert.deepEqual(await first.stop('SIGTERM'), { code: 0, signal: null })

    const second = await startGatehouse({ cwd })
    assert.equal(
      second.logs().some((line) => line.msg === 'database migrated'),
      false,
      'nothing left to migrate',
    )
    assert.deepEqual(await kids(second), kidsBefore)
    const me = await request(second.url, 'GET', '/me', {
      headers: { authorization: `Bearer ${accessToken}` },
    })
    assert.equal(me.status, 200, me.body)
    assert.equal(me.json().id, user.id)
    assert.equal(me.json().email, email)
    await login(second, email)
    assert.deepEqual(await second.stop('SIGTERM'), { code: 0, signal: null })
  })
})

const postgres = (await databaseKinds()).find((entry) => entry.kind === 'postgres')!

describe('PostgreSQL', { skip: postgres.skip }, () => {
  let database: TestDatabase | undefined
  before(async () => {
    database = await createTestDatabase('postgres')
  })
  after(async () => {
    await cleanupProcesses()
    await database?.drop()
  })

  it('starts on DATABASE_URL=postgres://… and serves signup, login and /me', async () => {
    const server = await startGatehouse({ env: { DATABASE_URL: database!.url } })
    assert.equal(server.logs().find((line) => line.msg === 'gatehouse listening')?.database, 'postgres')
    assert.equal(existsSync(join(server.cwd, DEFAULT_DB)), false, 'no SQLite file on the side')
    assert.equal((await request(server.url, 'GET', '/ready')).status, 200)

    const email = uniqueEmail('postgres')
    const user = await signup(server, email)
    const { access_token: accessToken } = await login(server, email)
    const me = await request(server.url, 'GET', '/me', {
      headers: { authorization: `Bearer ${accessToken}` },
    })
    assert.equal(me.status, 200, me.body)
    assert.equal(me.json().id, user.id)
    assert.deepEqual(await server.stop('SIGTERM'), { code: 0, signal: null })
  })
})

describe('NODE_ENV=production', () => {
  after(cleanupProcesses)
  const production = {
    NODE_ENV: 'production',
    PUBLIC_URL: 'https://accounts.example.com',
    JWT_ISSUER: 'https://auth.example.com',
    // Not contacted at start: no mail is queued.
    SMTP_URL: 'smtps://mailer:secret@smtp.example.com:465',
    SECRETS_KEY: randomBytes(32).toString('base64'),
  }

  it('starts with the production checklist filled in, warning at start that /metrics is open without METRICS_TOKEN', async () => {
    const server = await startGatehouse({ env: production })
    const warning = await server.waitForLog(
      'METRICS_TOKEN is not set: /metrics is open to anyone who can reach the port; set it, or keep /metrics off the public network',
      5000,
    )
    assert.equal(warning.level, 40)
    assert.equal((await request(server.url, 'GET', '/metrics')).status, 200)
    assert.equal((await request(server.url, 'GET', '/docs')).status, 200)
    assert.deepEqual(await server.stop('SIGTERM'), { code: 0, signal: null })
  })

  it('with METRICS_TOKEN and DOCS=false: /metrics needs the token, /docs and /openapi.json are 404, and no warning', async () => {
    const token = randomBytes(32).toString('base64url')
    const server = await startGatehouse({ env: { ...production, METRICS_TOKEN: token, DOCS: 'false' } })
    assert.equal((await request(server.url, 'GET', '/metrics')).status, 401)
    const scraped = await request(server.url, 'GET', '/metrics', {
      headers: { authorization: `Bearer ${token}` },
    })
    assert.equal(scraped.status, 200)
    for (const url of ['/docs', '/openapi.json']) {
      assert.equal((await request(server.url, 'GET', url)).status, 404, url)
    }
    assert.deepEqual(await server.stop('SIGTERM'), { code: 0, signal: null })
    assert.ok(!server.logs().some((line) => String(line.msg).includes('METRICS_TOKEN')))
  })
})

describe('configuration errors', () => {
  after(cleanupProcesses)

  for (const { name, env, names } of [
    {
      name: 'an HS256 secret under 32 bytes',
      env: { JWT_ALG: 'HS256', JWT_SECRET: 'short' },
      names: 'JWT_SECRET',
    },
    { name: 'a malformed duration', env: { ACCESS_TOKEN_TTL: 'abc' }, names: 'ACCESS_TOKEN_TTL' },
    {
      name: 'an http:// PUBLIC_URL in production',
      env: { NODE_ENV: 'production', PUBLIC_URL: 'http://example.com' },
      names: 'PUBLIC_URL',
    },
  ]) {
    it(`refuses to start with ${name}: exits non-zero at once, naming ${names} on stderr`, async () => {
      const cwd = tempDir()
      const result = await runGatehouseToExit({ cwd, env })
      assert.equal(result.signal, null)
      assert.notEqual(result.code, 0)
      assert.match(result.stderr, new RegExp(`\\b${names}\\b`))
      assert.doesNotMatch(result.stdout, /gatehouse listening/)
      assert.equal(existsSync(join(cwd, 'data')), false, 'nothing is created')
    })
  }
})

describe('npm run migrate', () => {
  it('creates the database and applies the migrations, then reports it is up to date', async () => {
    const cwd = tempDir()
    const cli = fileURLToPath(new URL('../../src/cli.ts', import.meta.url))
    const run = () =>
      execFileAsync(process.execPath, ['--import', import.meta.resolve('tsx'), cli, 'migrate'], {
        cwd,
        env: { PATH: process.env.PATH },
        timeout: 15_000,
      })
    assert.equal(
      (await run()).stdout,
      'applied: 0001_initial, 0002_sessions_audit, 0003_todos_revocations, 0004_mail, 0005_normalized_emails, 0006_secrets_at_rest, 0007_login_places, 0008_revocation_records, 0009_session_authentication, 0010_clients, 0011_personal_access_tokens\n',
    )
    assert.ok(existsSync(join(cwd, DEFAULT_DB)))
    assert.equal((await run()).stdout, 'database is up to date\n')
  })
})
