import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { describe, it } from 'node:test'
import { sql } from 'kysely'
import { migrateToLatest } from '../../../src/migrations.ts'
import { loadConfig } from '../../../src/platform/config/config.ts'
import { openDatabase } from '../../../src/platform/storage/database.ts'
import { createTestDatabase, databaseKinds } from '../../support/databases.ts'

for (const { kind, skip } of await databaseKinds()) {
  describe(`Migration 0009_session_authentication [${kind}]`, { skip }, () => {
    it('records every session opened before it as a password login (amr pwd, acr aal1)', async () => {
      const database = await createTestDatabase(kind)
      const db = openDatabase(loadConfig({ DATABASE_URL: database.url }).database)
      try {
        await migrateToLatest(db, '0008_revocation_records')
        const userId = randomUUID()
        const sessionId = randomUUID()
        const now = new Date().toISOString()
        await sql`insert into users (id, email, email_key, password_hash, roles, email_verified, disabled, created_at, updated_at)
          values (${userId}, 'old@example.com', 'old@example.com', 'x', '["user"]', 0, 0, ${now}, ${now})`.execute(
          db,
        )
        await sql`insert into sessions (id, user_id, created_at, last_used_at, expires_at, scope)
          values (${sessionId}, ${userId}, ${now}, ${now}, ${now}, 'profile')`.execute(db)
        assert.deepEqual(await migrateToLatest(db, '0009_session_authentication'), [
          '0009_session_authentication',
        ])
        const session = await db
          .selectFrom('sessions')
          .select(['amr', 'acr'])
          .where('id', '=', sessionId)
          .executeTakeFirstOrThrow()
        assert.deepEqual(session, { amr: 'pwd', acr: 'aal1' })
      } finally {
        await db.destroy()
        await database.drop()
      }
    })
  })
}
