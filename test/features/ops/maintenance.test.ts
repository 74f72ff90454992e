import assert from 'node:assert/strict'
import { it } from 'node:test'
import { runMaintenance } from '../../../src/features/ops/maintenance.ts'
import { describeOnDatabases } from '../../support/harness.ts'
import { clientFor } from '../../support/client.ts'

await describeOnDatabases(
  'Maintenance',
  (ctx) => {
    it('deletes audit events past AUDIT_RETENTION, spent revocation records and sessions past their end', async () => {
      const { db } = ctx().context
      const old = await clientFor(ctx()).loggedInUser()
      await ctx().app.inject({
        method: 'POST',
        url: '/auth/logout',
        headers: { authorization: old.authorization },
      })
      ctx().clock.advance(31 * 86400)
      const recent = await clientFor(ctx()).loggedInUser()

      const deleted = await runMaintenance(ctx().context)
      assert.ok(deleted.auditEvents! > 0)
      assert.ok(deleted.revocationRecords! > 0)
      assert.ok(deleted.sessions! > 0)

      const users = await db.selectFrom('audit_events').select('user_id').distinct().execute()
      assert.deepEqual(
        users.map((row) => row.user_id),
        [recent.user.id],
      )
      assert.equal((await db.selectFrom('revocations').selectAll().execute()).length, 0)
      const sessions = await db.selectFrom('sessions').select('user_id').execute()
      assert.deepEqual(
        sessions.map((row) => row.user_id),
        [recent.user.id],
      )
      const me = await clientFor(ctx()).me(recent.tokens.access_token)
      assert.equal(me.statusCode, 200)
    })

    it('deletes expired personal access tokens, and only those', async () => {
      const api = clientFor(ctx())
      const { tokens } = await api.loggedInUser()
      const short = await api.personalToken(tokens.access_token, { expires_in: 60 })
      const long = await api.personalToken(tokens.access_token, { expires_in: 3600 })
      ctx().clock.advance(61)
      assert.equal((await runMaintenance(ctx().context)).personalTokens, 1)
      const left = await ctx()
        .context.db.selectFrom('personal_access_tokens')
        .select('id')
        .where('id', 'in', [short.id, long.id])
        .execute()
      assert.deepEqual(
        left.map((row) => row.id),
        [long.id],
      )
    })
  },
  { env: { AUDIT_RETENTION: '30d' } },
)
