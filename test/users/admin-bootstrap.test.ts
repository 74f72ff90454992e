import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { loadConfig } from '../../src/config/config.ts'
import { createLogger } from '../../src/http/logging.ts'
import { openServices } from '../../src/services.ts'
import { createTestDatabase, databaseKinds, type TestDatabase } from '../support/databases.ts'
import { STRONG_PASSWORD, TEST_ARGON2, TestClock, startTestApp, stopTestApp } from '../support/harness.ts'

const ADMIN = { ADMIN_EMAIL: 'Root@Example.com', ADMIN_PASSWORD: 'an admin passphrase 42' }

for (const { kind, skip } of await databaseKinds()) {
  describe(`ADMIN_EMAIL and ADMIN_PASSWORD at start [${kind}]`, { skip }, () => {
    const databases: TestDatabase[] = []
    after(async () => {
      for (const database of databases) await database.drop()
    })
    const freshDatabase = async () => {
      const database = await createTestDatabase(kind)
      databases.push(database)
      return database
    }

    it('creates the admin when the account is missing, and it can log in with the admin role', async () => {
      const t = await startTestApp(await freshDatabase(), { env: ADMIN })
      try {
        const login = await t.app.inject({
          method: 'POST',
          url: '/auth/login',
          payload: { username: 'root@example.com', password: ADMIN.ADMIN_PASSWORD },
        })
        assert.equal(login.statusCode, 200)
        assert.match(login.json().scope, /\badmin\b/)
        const me = await t.app.inject({
          method: 'GET',
          url: '/me',
          headers: { authorization: `Bearer ${login.json().access_token}` },
        })
        assert.deepEqual(me.json().roles, ['user', 'admin'])
      } finally {
        await stopTestApp(t)
      }
    })

    it('promotes an existing account without touching its password, once, across restarts', async () => {
      const database = await freshDatabase()
      const first = await startTestApp(database)
      const signup = await first.app.inject({
        method: 'POST',
        url: '/auth/signup',
        payload: { email: 'root@example.com', password: STRONG_PASSWORD },
      })
      assert.equal(signup.statusCode, 201)
      await stopTestApp(first)
      for (let start = 0; start < 2; start++) {
        const t = await startTestApp(database, { env: ADMIN })
        try {
          const login = await t.app.inject({
            method: 'POST',
            url: '/auth/login',
            payload: { username: 'root@example.com', password: STRONG_PASSWORD },
          })
          assert.equal(login.statusCode, 200, 'the existing password still works')
          const users = await t.services.db.selectFrom('users').select('roles').execute()
          assert.deepEqual(
            users.map((u) => JSON.parse(u.roles) as string[]),
            [['user', 'admin']],
          )
        } finally {
          await stopTestApp(t)
        }
      }
    })

    it('stops start-up when the admin password fails the policy, naming ADMIN_PASSWORD', async () => {
      const database = await freshDatabase()
      const config = loadConfig({
        DATABASE_URL: database.url,
        ADMIN_EMAIL: 'root@example.com',
        ADMIN_PASSWORD: 'password',
      })
      await assert.rejects(
        openServices(config, { clock: new TestClock(), argon2: TEST_ARGON2, logger: createLogger('silent') }),
        /^Error: ADMIN_PASSWORD: /,
      )
    })
  })
}
