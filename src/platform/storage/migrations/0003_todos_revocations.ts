import type { Kysely, Migration } from 'kysely'

export const todosAndRevocations: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('todos')
      .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
      .addColumn('user_id', 'varchar(36)', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('title', 'varchar(500)', (c) => c.notNull())
      .addColumn('done', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('created_at', 'varchar(24)', (c) => c.notNull())
      .addColumn('updated_at', 'varchar(24)', (c) => c.notNull())
      .execute()
    // Keyset pagination walks (user_id, created_at, id).
    await db.schema
      .createIndex('todos_user_created')
      .on('todos')
      .columns(['user_id', 'created_at', 'id'])
      .execute()
    await db.schema.createIndex('todos_created').on('todos').columns(['created_at', 'id']).execute()
    await db.schema.createIndex('users_created').on('users').columns(['created_at', 'id']).execute()

    // Revoked sessions, kept until every access token of theirs has expired. Not tied to the
    // sessions table: a deleted user's sessions go, their revocations must stay.
    await db.schema
      .createTable('revoked_sessions')
      .addColumn('session_id', 'varchar(36)', (c) => c.primaryKey())
      .addColumn('revoked_at', 'varchar(24)', (c) => c.notNull())
      .addColumn('keep_until', 'varchar(24)', (c) => c.notNull())
      .execute()
    await db.schema
      .createIndex('revoked_sessions_keep_until')
      .on('revoked_sessions')
      .column('keep_until')
      .execute()
  },
}
