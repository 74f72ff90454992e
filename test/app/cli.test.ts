import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import BetterSqlite3 from 'better-sqlite3'
import { createTestDatabase, type TestDatabase } from '../support/databases.ts'
import { STRONG_PASSWORD } from '../support/harness.ts'
import { runCli, type CliRun } from '../support/process.ts'

/** Runs `gatehouse ARGS` as a child process, the way an operator would. */
function gatehouse(databaseUrl: string, ...args: string[]): Promise<CliRun> {
  return gatehouseWith({}, databaseUrl, ...args)
}

function gatehouseWith(env: Record<string, string>, databaseUrl: string, ...args: string[]): Promise<CliRun> {
  return runCli({ DATABASE_URL: databaseUrl, ...env }, ...args)
}

describe('gatehouse (the CLI)', () => {
  let database: TestDatabase
  let sqliteFile = ''
  const run = (...args: string[]) => gatehouse(database.url, ...args)
  const user = (email: string) => {
    const db = new BetterSqlite3(sqliteFile, { readonly: true })
    try {
      return db.prepare('select roles, disabled from users where email_key = ?').get(email) as
        { roles: string; disabled: number } | undefined
    } finally {
      db.close()
    }
  }

  const auditEvents = (type: string) => {
    const db = new BetterSqlite3(sqliteFile, { readonly: true })
    try {
      return db
        .prepare('select user_id, ip, user_agent, data from audit_events where type = ?')
        .all(type) as {
        user_id: string | null
        ip: string | null
        user_agent: string | null
        data: string
      }[]
    } finally {
      db.close()
    }
  }

  before(async () => {
    database = await createTestDatabase('sqlite')
    sqliteFile = database.url.slice('sqlite:'.length)
  })
  after(() => database.drop())

  it('lists its commands with --help and exits 0', async () => {
    const { code, stdout } = await run('--help')
    assert.equal(code, 0)
    for (const command of [
      'serve',
      'migrate',
      'users create',
      'users list',
      'users set-role',
      'users disable',
      'keys list',
      'keys rotate',
      'keys revoke',
      'openapi',
    ]) {
      assert.ok(stdout.includes(command), command)
    }
  })

  it('explains every command with --help', async () => {
    for (const command of [
      ['serve'],
      ['migrate'],
      ['users', 'create'],
      ['users', 'list'],
      ['users', 'set-role'],
      ['users', 'disable'],
      ['keys', 'list'],
      ['keys', 'rotate'],
      ['openapi'],
    ]) {
      const { code, stdout } = await run(...command, '--help')
      assert.equal(code, 0, command.join(' '))
      assert.match(stdout, new RegExp(`^Usage: gatehouse ${command.join(' ')}`))
    }
  })

  it('answers an unknown command or option with usage and exit code 2', async () => {
    const unknown = await run('frobnicate')
    assert.equal(unknown.code, 2)
    assert.match(unknown.stderr, /unknown command "frobnicate"/)
    const option = await run('users', 'list', '--colour')
    assert.equal(option.code, 2)
    assert.match(option.stderr, /--colour/)
    const missing = await run('users', 'create', '--email', 'x@example.com')
    assert.equal(missing.code, 2)
    assert.match(missing.stderr, /--email and --password are required/)
  })

  it('migrates the database', async () => {
    const { code, stdout } = await run('migrate')
    assert.equal(code, 0)
    assert.match(stdout, /^applied: 0001_initial|^database is up to date/)
  })

  it('creates users, refusing a weak password or a taken email with exit code 1', async () => {
    const created = await run(
      'users',
      'create',
      '--email',
      'ops@example.com',
      '--password',
      STRONG_PASSWORD,
      '--role',
      'admin',
    )
    assert.equal(created.code, 0, created.stderr)
    assert.match(created.stdout, /^created [0-9a-f-]{36} ops@example.com \(user, admin\)/)
    assert.deepEqual(JSON.parse(user('ops@example.com')!.roles), ['user', 'admin'])
    const taken = await run('users', 'create', '--email', 'OPS@example.com', '--password', STRONG_PASSWORD)
    assert.equal(taken.code, 1)
    assert.match(taken.stderr, /already exists/)
    const weak = await run('users', 'create', '--email', 'weak@example.com', '--password', 'password')
    assert.equal(weak.code, 1)
    assert.match(weak.stderr, /password is too common/)
    const role = await run(
      'users',
      'create',
      '--email',
      'r@example.com',
      '--password',
      STRONG_PASSWORD,
      '--role',
      'wizard',
    )
    assert.equal(role.code, 1)
    assert.match(role.stderr, /unknown role wizard/)
  })

  it('lists users as a table or JSON', async () => {
    await run('users', 'create', '--email', 'listed@example.com', '--password', STRONG_PASSWORD)
    const table = await run('users', 'list')
    assert.equal(table.code, 0)
    assert.match(table.stdout, /^id\s+email\s+username\s+roles\s+disabled\s+created_at\n/)
    assert.ok(table.stdout.includes('listed@example.com'))
    const json = await run('users', 'list', '--json', '--q', 'listed')
    assert.deepEqual(
      JSON.parse(json.stdout).map((u: { email: string }) => u.email),
      ['listed@example.com'],
    )
  })

  it('sets roles and disables and enables a user by email', async () => {
    await run('users', 'create', '--email', 'target@example.com', '--password', STRONG_PASSWORD)
    assert.equal((await run('users', 'set-role', 'target@example.com', '--role', 'admin')).code, 0)
    assert.deepEqual(JSON.parse(user('target@example.com')!.roles), ['user', 'admin'])
    const disabled = await run('users', 'disable', 'target@example.com')
    assert.equal(disabled.code, 0)
    assert.match(disabled.stdout, /disabled, every session ended/)
    assert.equal(user('target@example.com')!.disabled, 1)
    assert.equal((await run('users', 'enable', 'target@example.com')).code, 0)
    assert.equal(user('target@example.com')!.disabled, 0)
    const nobody = await run('users', 'disable', 'nobody@example.com')
    assert.equal(nobody.code, 1)
    assert.match(nobody.stderr, /no user nobody@example.com/)
  })

  it('rotates the signing key, keeping the previous one published', async () => {
    const before = JSON.parse((await run('keys', 'list', '--json')).stdout) as {
      kid: string
      status: string
    }[]
    const signing = before.find((key) => key.status === 'signing')!
    const rotated = await run('keys', 'rotate')
    assert.equal(rotated.code, 0)
    const after = JSON.parse((await run('keys', 'list', '--json')).stdout) as {
      kid: string
      status: string
    }[]
    assert.equal(after.find((key) => key.kid === signing.kid)?.status, 'published')
    const current = after.find((key) => key.status === 'signing')!
    assert.notEqual(current.kid, signing.kid)
    assert.ok(rotated.stdout.includes(current.kid))
  })

  it('revokes a key, naming the one that signs now; an unknown or revoked kid exits 1', async () => {
    const keys = async () =>
      JSON.parse((await run('keys', 'list', '--json')).stdout) as { kid: string; status: string }[]
    const signing = (await keys()).find((key) => key.status === 'signing')!
    const revoked = await run('keys', 'revoke', signing.kid)
    assert.equal(revoked.code, 0, revoked.stderr)
    const after = await keys()
    assert.equal(after.find((key) => key.kid === signing.kid)?.status, 'revoked')
    const current = after.find((key) => key.status === 'signing')!
    assert.notEqual(current.kid, signing.kid)
    assert.ok(revoked.stdout.includes(`signing with ${current.kid}`), revoked.stdout)
    const event = auditEvents('key_revoked').at(-1)!
    assert.deepEqual(JSON.parse(event.data), { kid: signing.kid, signing_kid: current.kid, by: 'cli' })

    const again = await run('keys', 'revoke', signing.kid)
    assert.equal(again.code, 1)
    assert.match(again.stderr, /already revoked/)
    const unknown = await run('keys', 'revoke', 'no-such-kid')
    assert.equal(unknown.code, 1)
    assert.match(unknown.stderr, /no key no-such-kid/)
  })

  it('audits users create, set-role, disable, enable and keys rotate as done by cli, from no address', async () => {
    const created = await run(
      'users',
      'create',
      '--email',
      'audited@example.com',
      '--password',
      STRONG_PASSWORD,
    )
    const id = /^created ([0-9a-f-]{36})/.exec(created.stdout)![1]!
    await run('users', 'set-role', 'audited@example.com', '--role', 'admin')
    await run('users', 'disable', 'audited@example.com')
    await run('users', 'enable', 'audited@example.com')
    await run('keys', 'rotate')
    const of = (type: string) => auditEvents(type).filter((event) => event.user_id === id)
    for (const type of ['user_created', 'role_changed', 'user_disabled', 'user_enabled']) {
      const [event] = of(type)
      assert.ok(event, `${type} is audited`)
      assert.equal(event.ip, null)
      assert.equal(event.user_agent, 'gatehouse-cli')
      assert.equal(JSON.parse(event.data).by, 'cli')
    }
    assert.deepEqual(JSON.parse(of('user_created')[0]!.data).roles, ['user'])
    const rotations = auditEvents('signing_key_rotated')
    assert.ok(rotations.length > 0)
    assert.equal(JSON.parse(rotations.at(-1)!.data).by, 'cli')
    assert.match(JSON.parse(rotations.at(-1)!.data).kid, /./)
  })

  it('read-only commands never promote the account that holds ADMIN_EMAIL', async () => {
    await run('users', 'create', '--email', 'squatter@example.com', '--password', STRONG_PASSWORD)
    const env = { ADMIN_EMAIL: 'squatter@example.com', ADMIN_PASSWORD: STRONG_PASSWORD }
    for (const args of [['users', 'list'], ['keys', 'list'], ['migrate']]) {
      const { code, stderr } = await gatehouseWith(env, database.url, ...args)
      assert.equal(code, 0, stderr)
    }
    assert.deepEqual(JSON.parse(user('squatter@example.com')!.roles), ['user'])
  })

  it('prints the OpenAPI document without touching the database', async () => {
    const { code, stdout } = await gatehouse('sqlite:/nonexistent/dir/never.db', 'openapi')
    assert.equal(code, 0)
    const document = JSON.parse(stdout)
    assert.equal(document.openapi, '3.1.0')
    assert.ok(document.paths['/auth/login'])
  })

  it('names a configuration error and exits 1', async () => {
    const { code, stderr } = await gatehouse('mysql://nope', 'users', 'list')
    assert.equal(code, 1)
    assert.match(stderr, /DATABASE_URL/)
  })
})
