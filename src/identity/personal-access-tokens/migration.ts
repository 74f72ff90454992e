import type { Kysely, Migration } from 'kysely'

/** Personal access tokens, found by their hash on every use (one unique index). */
export const personalAccessTokens: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('personal_access_tokens')
      .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
      .addColumn('user_id', 'varchar(36)', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('name', 'varchar(200)', (c) => c.notNull())
      .addColumn('token_hash', 'varchar(64)', (c) => c.notNull().unique())
      .addColumn('scope', 'text', (c) => c.notNull())
      .addColumn('created_at', 'varchar(24)', (c) => c.notNull())
      .addColumn('expires_at', 'varchar(24)', (c) => c.notNull())
      .addColumn('last_used_at', 'varchar(24)')
      .execute()
    await db.schema
      .createIndex('personal_access_tokens_user')
      .on('personal_access_tokens')
      .columns(['user_id', 'created_at'])
      .execute()
  },
}
