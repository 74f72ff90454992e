import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'
import BetterSqlite3 from 'better-sqlite3'
import { exportJWK, generateKeyPair } from 'jose'
import { hashOpaqueToken } from '../../src/platform/crypto/opaque-tokens.ts'
import { createTestDatabase, type TestDatabase } from '../support/databases.ts'
import { runCli, tempDir, type CliRun } from '../support/process.ts'

const CLIENT_ID_FORMAT = /client_[A-Za-z0-9_-]{22}/
const SECRET_LINE = /^client_secret: ([A-Za-z0-9_-]{43})$/m

describe('gatehouse clients (the CLI)', () => {
  let database: TestDatabase
  let sqliteFile = ''
  const run = (...args: string[]): Promise<CliRun> => runCli({ DATABASE_URL: database.url }, ...args)

  /** Reads the database the CLI wrote, as another process would. */
  function query<T>(sql: string, ...params: unknown[]): T[] {
    const db = new BetterSqlite3(sqliteFile, { readonly: true })
    try {
      return db.prepare(sql).all(...params) as T[]
    } finally {
      db.close()
    }
  }
  interface ClientRow {
    name: string
    scopes: string
    auth_method: string
    secret_hash: string | null
    disabled: number
  }

  const clientRow = (id: string): ClientRow | undefined =>
    query<ClientRow>(
      'select name, scopes, auth_method, secret_hash, disabled from clients where id = ?',
      id,
    )[0]
  const revocationOf = (id: string) =>
    query<{ revoked_at: string }>(
      "select revoked_at from revocations where kind = 'client' and value = ?",
      id,
    )[0]

  /** `clients create` with a secret; returns the id and the secret it printed. */
  async function created(...args: string[]): Promise<{ id: string; secret: string }> {
    const result = await run('clients', 'create', '--name', 'billing worker', ...args)
    assert.equal(result.code, 0, result.stderr)
    const id = CLIENT_ID_FORMAT.exec(result.stdout)?.[0]
    const secret = SECRET_LINE.exec(result.stdout)?.[1]
    assert.ok(id && secret, result.stdout)
    return { id, secret }
  }

  before(async () => {
    database = await createTestDatabase('sqlite')
    sqliteFile = database.url.slice('sqlite:'.length)
  })
  after(() => database.drop())

  it('lists the clients commands in its help, and explains each', async () => {
    const help = await run('--help')
    for (const command of ['create', 'list', 'rotate-secret', 'disable', 'enable', 'delete']) {
      assert.ok(help.stdout.includes(`clients ${command}`), command)
      const own = await run('clients', command, '--help')
      assert.equal(own.code, 0, command)
      assert.match(own.stdout, new RegExp(`^Usage: gatehouse clients ${command}`))
    }
  })

  it('creates a client, printing its id and secret once; only the hash is stored', async () => {
    const { id, secret } = await created('--scope', 'reports:read', '--scope', 'introspect')
    assert.deepEqual(clientRow(id), {
      name: 'billing worker',
      scopes: 'reports:read introspect',
      auth_method: 'client_secret_basic',
      secret_hash: hashOpaqueToken(secret),
      disabled: 0,
    })
  })

  it('takes space- or comma-separated scopes and the method, and prints JSON with --json', async () => {
    const result = await run(
      'clients',
      'create',
      '--name',
      'poster',
      '--scope',
      'a:read,b:read c:read',
      '--method',
      'client_secret_post',
      '--json',
    )
    assert.equal(result.code, 0, result.stderr)
    const body = JSON.parse(result.stdout) as Record<string, unknown>
    assert.deepEqual(body.scopes, ['a:read', 'b:read', 'c:read'])
    assert.equal(body.token_endpoint_auth_method, 'client_secret_post')
    assert.equal(typeof body.client_secret, 'string')
  })

  it('registers a private_key_jwt client from a JWKS file, with no secret', async () => {
    const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true })
    const dir = tempDir('gatehouse-jwks-')
    const file = path.join(dir, 'jwks.json')
    writeFileSync(
      file,
      JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256' }] }),
    )
    const result = await run(
      'clients',
      'create',
      '--name',
      'signer',
      '--method',
      'private_key_jwt',
      '--jwks',
      file,
    )
    assert.equal(result.code, 0, result.stderr)
    assert.doesNotMatch(result.stdout, /client_secret/)
    const id = CLIENT_ID_FORMAT.exec(result.stdout)?.[0] ?? ''
    assert.equal(clientRow(id)?.secret_hash, null)

    const privateFile = path.join(dir, 'private.json')
    writeFileSync(
      privateFile,
      JSON.stringify({ keys: [{ ...(await exportJWK(privateKey)), kid: 'k1', alg: 'ES256' }] }),
    )
    const refused = await run(
      'clients',
      'create',
      '--name',
      's',
      '--method',
      'private_key_jwt',
      '--jwks',
      privateFile,
    )
    assert.equal(refused.code, 1)
    assert.match(refused.stderr, /jwks .*private key members/)
    const missing = await run(
      'clients',
      'create',
      '--name',
      's',
      '--method',
      'private_key_jwt',
      '--jwks',
      '/nope',
    )
    assert.equal(missing.code, 1)
    assert.match(missing.stderr, /cannot read \/nope/)
  })

  it('refuses what the route refuses, with the same words, and exits 1', async () => {
    const badScope = await run('clients', 'create', '--name', 'x', '--scope', 'Reports')
    assert.equal(badScope.code, 1)
    assert.match(badScope.stderr, /scopes\.0 must be a scope name/)
    const badMethod = await run('clients', 'create', '--name', 'x', '--method', 'none')
    assert.equal(badMethod.code, 1)
    assert.match(badMethod.stderr, /token_endpoint_auth_method/)
    const noName = await run('clients', 'create')
    assert.equal(noName.code, 2)
    assert.match(noName.stderr, /--name is required/)
    assert.equal(query('select id from clients where name = ?', 'x').length, 0)
  })

  it('lists clients as a table or JSON, never a secret', async () => {
    const { id, secret } = await created()
    const table = await run('clients', 'list')
    assert.equal(table.code, 0, table.stderr)
    assert.match(table.stdout, /^client_id\s+name\s+method\s+scopes\s+disabled\s+created_at$/m)
    assert.ok(table.stdout.includes(id))
    const json = await run('clients', 'list', '--json')
    const listed = JSON.parse(json.stdout) as { client_id: string }[]
    assert.ok(listed.some((client) => client.client_id === id))
    assert.ok(!json.stdout.includes(secret) && !table.stdout.includes(secret))
  })

  it('rotates a secret: the new one is printed and stored, the old one is gone', async () => {
    const { id, secret } = await created()
    const result = await run('clients', 'rotate-secret', id)
    assert.equal(result.code, 0, result.stderr)
    const fresh = SECRET_LINE.exec(result.stdout)?.[1] ?? ''
    assert.notEqual(fresh, secret)
    assert.equal(clientRow(id)?.secret_hash, hashOpaqueToken(fresh))
  })

  it('disables a client, recording the revocation of its tokens, and enables it again', async () => {
    const { id } = await created()
    const disabled = await run('clients', 'disable', id)
    assert.equal(disabled.code, 0, disabled.stderr)
    assert.match(disabled.stdout, /disabled, every token of it revoked/)
    assert.equal(clientRow(id)?.disabled, 1)
    assert.ok(revocationOf(id), 'a client revocation record, read by every instance')
    const enabled = await run('clients', 'enable', id)
    assert.equal(enabled.code, 0, enabled.stderr)
    assert.equal(clientRow(id)?.disabled, 0)
  })

  it('deletes a client, recording the revocation of its tokens', async () => {
    const { id } = await created()
    const result = await run('clients', 'delete', id)
    assert.equal(result.code, 0, result.stderr)
    assert.equal(clientRow(id), undefined)
    assert.ok(revocationOf(id))
  })

  it('exits 1 for an unknown client or what is not a client id', async () => {
    const unknown = await run('clients', 'delete', 'client_AAAAAAAAAAAAAAAAAAAAAA')
    assert.equal(unknown.code, 1)
    assert.match(unknown.stderr, /client was not found/)
    const malformed = await run('clients', 'disable', 'gatehouse')
    assert.equal(malformed.code, 1)
    assert.match(malformed.stderr, /gatehouse is not a client id/)
  })

  it('audits what it does as done by cli, from no address', async () => {
    const { id } = await created()
    await run('clients', 'rotate-secret', id)
    await run('clients', 'disable', id)
    await run('clients', 'delete', id)
    const events = query<{ type: string; ip: string | null; user_agent: string; data: string }>(
      'select type, ip, user_agent, data from audit_events where data like ?',
      `%${id}%`,
    )
    assert.deepEqual(events.map((event) => event.type).sort(), [
      'client_created',
      'client_deleted',
      'client_disabled',
      'client_secret_rotated',
    ])
    for (const event of events) {
      assert.equal(event.ip, null)
      assert.equal(event.user_agent, 'gatehouse-cli')
      assert.equal((JSON.parse(event.data) as { by: string }).by, 'cli')
    }
  })
})
