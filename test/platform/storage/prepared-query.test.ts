import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { openDatabase, type Db } from '../../../src/platform/storage/database.ts'
import { migrateToLatest } from '../../../src/migrations.ts'
import { preparedQuery } from '../../../src/platform/storage/prepared.ts'
import { createTestDatabase, databaseKinds, type TestDatabase } from '../../support/databases.ts'

const NOW = '2026-01-01T00:00:00.000Z'

const insertUser = preparedQuery((db, user: { id: string; email: string; username: string | null }) =>
  db.insertInto('users').values({
    ...user,
    email_key: user.email,
    username_key: user.username,
    full_name: null,
    password_hash: 'not a hash',
    roles: '["user"]',
    email_verified: 0,
    disabled: 0,
    created_at: NOW,
    updated_at: NOW,
  }),
)
const selectEmail = preparedQuery((db, { id }: { id: string }) =>
  db.selectFrom('users').select('email').where('id', '=', id),
)
const renameUsername = preparedQuery((db, { id, username }: { id: string; username: string }) =>
  db.updateTable('users').set({ username }).where('id', '=', id),
)

for (const { kind, skip } of await databaseKinds()) {
  describe(`preparedQuery (${kind})`, { skip }, () => {
    let database: TestDatabase
    let db: Db
    before(async () => {
      database = await createTestDatabase(kind)
      const url = database.url
      db = openDatabase(kind === 'sqlite' ? { kind, path: url.slice('sqlite:'.length) } : { kind, url })
      await migrateToLatest(db)
    })
    after(async () => {
      await db.destroy()
      await database.drop()
    })

    it('runs the compiled statement with each call’s own arguments', async () => {
      await insertUser(db, { id: 'user-1', email: 'one@example.com', username: null })
      await insertUser(db, { id: 'user-2', email: 'two@example.com', username: 'two' })
      assert.deepEqual((await selectEmail(db, { id: 'user-1' })).rows, [{ email: 'one@example.com' }])
      assert.deepEqual((await selectEmail(db, { id: 'user-2' })).rows, [{ email: 'two@example.com' }])
      assert.deepEqual((await selectEmail(db, { id: 'nobody' })).rows, [])
    })

    it('writes a null argument as NULL', async () => {
      const row = await db
        .selectFrom('users')
        .select('username')
        .where('id', '=', 'user-1')
        .executeTakeFirst()
      assert.equal(row?.username, null)
    })

    it('reports the rows a write changed', async () => {
      assert.equal((await renameUsername(db, { id: 'user-2', username: 'deux' })).numAffectedRows, 1n)
      assert.equal((await renameUsername(db, { id: 'nobody', username: 'x' })).numAffectedRows, 0n)
    })

    it('runs inside a transaction and rolls back with it', async () => {
      await assert.rejects(
        db.transaction().execute(async (trx) => {
          await renameUsername(trx, { id: 'user-2', username: 'rolled-back' })
          throw new Error('abort')
        }),
        /abort/,
      )
      const row = await db
        .selectFrom('users')
        .select('username')
        .where('id', '=', 'user-2')
        .executeTakeFirst()
      assert.equal(row?.username, 'deux')
    })

    it('builds the query afresh on a database with a plugin, which sees every query', async () => {
      const seen: string[] = []
      const recording = db.withPlugin({
        transformQuery: (args) => {
          seen.push(args.node.kind)
          return args.node
        },
        transformResult: async (args) => Promise.resolve(args.result),
      })
      assert.deepEqual((await selectEmail(recording, { id: 'user-1' })).rows, [{ email: 'one@example.com' }])
      assert.deepEqual(seen, ['SelectQueryNode'])
    })

    it('builds and compiles the query once, then reuses it for every call and transaction', async () => {
      let builds = 0
      const selectUsername = preparedQuery((db, { id }: { id: string }) => {
        builds += 1
        return db.selectFrom('users').select('username').where('id', '=', id)
      })
      for (const id of ['user-1', 'user-2', 'nobody']) await selectUsername(db, { id })
      await db.transaction().execute(async (trx) => selectUsername(trx, { id: 'user-2' }))
      assert.deepEqual((await selectUsername(db, { id: 'user-2' })).rows, [{ username: 'deux' }])
      assert.equal(builds, 1)
    })

    // The innocent edit this guards against: a normalisation moved into the builder would run
    // once, on the first call's value, and that value would then be looked up for every caller.
    const normalise = (text: string) => text.trim().normalize('NFKC').toLowerCase() // as identityKey
    const transforms: Record<string, (key: string) => string> = {
      'key.toLowerCase()': (key) => key.toLowerCase(),
      'a normalising function': (key) => normalise(key),
      'a template string': (key) => `users:${key}`,
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-conversion -- the edit under test
      'String(key)': (key) => String(key),
      concatenation: (key) => 'users:' + key,
    }
    for (const [edit, transform] of Object.entries(transforms)) {
      it(`refuses, at its first use, a builder that transforms an argument: ${edit}`, async () => {
        const transformed = preparedQuery((db, { key }: { key: string }) =>
          db.selectFrom('users').select('email').where('email_key', '=', transform(key)),
        )
        await assert.rejects(transformed(db, { key: 'one@example.com' }), (error: unknown) => {
          assert.ok(error instanceof TypeError)
          assert.match(error.message, /^prepared query \(key\): build it with each argument as it is/)
          return true
        })
      })
    }

    it('refuses a builder that leaves an argument out of the parameters', async () => {
      const dropped = preparedQuery((db, { id }: { id: string }) =>
        db.selectFrom('users').select('email').where('id', '=', JSON.stringify(id)),
      )
      await assert.rejects(dropped(db, { id: 'user-1' }), {
        name: 'TypeError',
        message: /^prepared query: id not a parameter of select/,
      })
    })

    it('refuses a transforming builder on a database with a plugin too', async () => {
      const lowered = preparedQuery((db, { key }: { key: string }) =>
        db.selectFrom('users').select('email').where('email_key', '=', key.toLowerCase()),
      )
      const withPlugin = db.withPlugin({
        transformQuery: (args) => args.node,
        transformResult: async (args) => Promise.resolve(args.result),
      })
      await assert.rejects(lowered(withPlugin, { key: 'one@example.com' }), TypeError)
    })
  })
}
