import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { createAccount } from '../../src/identity/users/accounts.ts'
import { createTestDatabase, databaseKinds, type TestDatabase } from '../support/databases.ts'
import { STRONG_PASSWORD, startTestApp, stopTestApp, type TestApp } from '../support/harness.ts'
import { clientFor } from '../support/client.ts'

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
        const login = await clientFor(t).login('root@example.com', ADMIN.ADMIN_PASSWORD)
        assert.equal(login.statusCode, 200)
        assert.match(login.json().scope, /\badmin\b/)
        const me = await clientFor(t).me(login.json().access_token)
        assert.deepEqual(me.json().roles, ['user', 'admin'])
      } finally {
        await stopTestApp(t)
      }
    })

    const rolesOf = async (t: TestApp) =>
      (await t.context.db.selectFrom('users').select(['email', 'roles']).execute()).map((u) => ({
        email: u.email,
        roles: JSON.parse(u.roles) as string[],
      }))

    it('promotes an existing account that ADMIN_PASSWORD opens, audited and logged, once', async () => {
      const database = await freshDatabase()
      const first = await startTestApp(database)
      const signup = await first.app.inject({
        method: 'POST',
        url: '/auth/signup',
        payload: { email: 'root@example.com', password: ADMIN.ADMIN_PASSWORD },
      })
      assert.equal(signup.statusCode, 201)
      await stopTestApp(first)
      const t = await startTestApp(database, { env: ADMIN })
      try {
        assert.deepEqual(await rolesOf(t), [{ email: 'root@example.com', roles: ['user', 'admin'] }])
        const events = await t.context.db.selectFrom('audit_events').selectAll().execute()
        const promotion = events.find((event) => event.type === 'role_changed')
        assert.ok(promotion, 'the promotion is an audit event')
        assert.equal(promotion.user_id, signup.json<{ id: string }>().id)
        assert.equal(promotion.ip, null)
        assert.deepEqual(JSON.parse(promotion.data), {
          from: ['user'],
          to: ['user', 'admin'],
          by: 'bootstrap',
        })
        const warning = t.logs.lines.find((line) => String(line.msg).includes('admin role granted'))
        assert.equal(warning?.level, 40, 'logged at warn')
      } finally {
        await stopTestApp(t)
      }
    })

    it('still starts after the admin changed their password (an admin is left alone)', async () => {
      const database = await freshDatabase()
      const first = await startTestApp(database, { env: ADMIN })
      const login = await clientFor(first).login(ADMIN.ADMIN_EMAIL, ADMIN.ADMIN_PASSWORD)
      const changed = await clientFor(first)
        .as(login.json<{ access_token: string }>().access_token)
        .post('/me/password', { current_password: ADMIN.ADMIN_PASSWORD, new_password: STRONG_PASSWORD })
      assert.equal(changed.statusCode, 204)
      await stopTestApp(first)
      const t = await startTestApp(database, { env: ADMIN })
      try {
        const again = await t.app.inject({
          method: 'POST',
          url: '/auth/login',
          payload: { username: ADMIN.ADMIN_EMAIL, password: STRONG_PASSWORD },
        })
        assert.equal(again.statusCode, 200, 'the changed password is not reset')
        assert.deepEqual(await rolesOf(t), [{ email: 'Root@Example.com', roles: ['user', 'admin'] }])
      } finally {
        await stopTestApp(t)
      }
    })

    it('an attacker who registered ADMIN_EMAIL first is not promoted: start-up stops', async () => {
      const database = await freshDatabase()
      const first = await startTestApp(database)
      await clientFor(first).loggedInUser({ email: 'root@example.com', password: STRONG_PASSWORD })
      await stopTestApp(first)
      await assert.rejects(startTestApp(database, { env: ADMIN }), /an account someone else may control/)
      const t = await startTestApp(database)
      try {
        assert.deepEqual(await rolesOf(t), [{ email: 'root@example.com', roles: ['user'] }])
      } finally {
        await stopTestApp(t)
      }
    })

    it('a full-width look-alike of ADMIN_EMAIL registered by someone else is not promoted: start-up stops', async () => {
      const database = await freshDatabase()
      const first = await startTestApp(database)
      // Stored (and mailed) folded, so the squatter's own password is what stands in the way.
      await createAccount(first.context, {
        email: 'ｒｏｏｔ@example.com',
        password: 'the squatter chose this one',
        roles: ['user'],
      })
      await stopTestApp(first)
      await assert.rejects(startTestApp(database, { env: ADMIN }), /an account someone else may control/)
      const t = await startTestApp(database)
      try {
        assert.deepEqual(await rolesOf(t), [{ email: 'root@example.com', roles: ['user'] }])
      } finally {
        await stopTestApp(t)
      }
    })

    it('stops start-up when the admin password fails the policy, naming ADMIN_PASSWORD', async () => {
      await assert.rejects(
        startTestApp(await freshDatabase(), {
          env: { ADMIN_EMAIL: 'root@example.com', ADMIN_PASSWORD: 'password' },
        }),
        /^Error: ADMIN_PASSWORD: /,
      )
    })
  })
}
