import type { Kysely, Migration } from 'kysely'
import { sql } from 'kysely'

export const secretsAtRest: Migration = {
  async up(db: Kysely<unknown>) {
    // Keys the service makes for itself, one per name for the whole database (every instance
    // shares them); sealed under SECRETS_KEY when it is set.
    await db.schema
      .createTable('server_secrets')
      .addColumn('name', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('value', 'text', (c) => c.notNull())
      .addColumn('created_at', 'varchar(24)', (c) => c.notNull())
      .execute()

    // The successor a rotation issued, sealed, kept for the reuse grace window only: a replay
    // within it gets that same token back. Erased once the window has passed.
    await db.schema.alterTable('refresh_tokens').addColumn('successor_sealed', 'text').execute()
    await db.schema
      .createIndex('refresh_tokens_sealed_successor')
      .on('refresh_tokens')
      .column('rotated_at')
      .where(sql.ref('successor_sealed'), 'is not', null)
      .execute()
  },
}
