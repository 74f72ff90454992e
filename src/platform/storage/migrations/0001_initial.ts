import type { Kysely, Migration } from 'kysely'

export const initial: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('users')
      .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
      .addColumn('email', 'varchar(320)', (c) => c.notNull())
      .addColumn('email_key', 'varchar(320)', (c) => c.notNull().unique())
      .addColumn('username', 'varchar(32)')
      .addColumn('username_key', 'varchar(32)', (c) => c.unique())
      .addColumn('full_name', 'varchar(200)')
      .addColumn('password_hash', 'text', (c) => c.notNull())
      .addColumn('roles', 'text', (c) => c.notNull())
      .addColumn('email_verified', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('disabled', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('created_at', 'varchar(24)', (c) => c.notNull())
      .addColumn('updated_at', 'varchar(24)', (c) => c.notNull())
      .execute()

    await db.schema
      .createTable('sessions')
      .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
      .addColumn('user_id', 'varchar(36)', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('created_at', 'varchar(24)', (c) => c.notNull())
      .addColumn('last_used_at', 'varchar(24)', (c) => c.notNull())
      .addColumn('expires_at', 'varchar(24)', (c) => c.notNull())
      .addColumn('revoked_at', 'varchar(24)')
      .addColumn('revoked_reason', 'varchar(64)')
      .addColumn('user_agent', 'varchar(512)')
      .addColumn('ip', 'varchar(64)')
      .execute()
    await db.schema.createIndex('sessions_user_id').on('sessions').column('user_id').execute()
    await db.schema.createIndex('sessions_revoked_at').on('sessions').column('revoked_at').execute()

    await db.schema
      .createTable('refresh_tokens')
      .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
      .addColumn('session_id', 'varchar(36)', (c) =>
        c.notNull().references('sessions.id').onDelete('cascade'),
      )
      .addColumn('token_hash', 'varchar(64)', (c) => c.notNull().unique())
      .addColumn('created_at', 'varchar(24)', (c) => c.notNull())
      .addColumn('expires_at', 'varchar(24)', (c) => c.notNull())
      .addColumn('rotated_at', 'varchar(24)')
      .addColumn('replaced_by', 'varchar(36)')
      .execute()
    await db.schema
      .createIndex('refresh_tokens_session_id')
      .on('refresh_tokens')
      .column('session_id')
      .execute()

    await db.schema
      .createTable('signing_keys')
      .addColumn('kid', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('alg', 'varchar(16)', (c) => c.notNull())
      .addColumn('private_jwk', 'text', (c) => c.notNull())
      .addColumn('public_jwk', 'text', (c) => c.notNull())
      .addColumn('created_at', 'varchar(24)', (c) => c.notNull())
      .addColumn('retired_at', 'varchar(24)')
      .execute()
  },
}
