import type { Kysely, Migration } from 'kysely'

/** OAuth 2.0 clients, and the assertion `jti`s they have used (single-use across instances). */
export const clients: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('clients')
      .addColumn('id', 'varchar(32)', (c) => c.primaryKey())
      .addColumn('name', 'varchar(200)', (c) => c.notNull())
      .addColumn('scopes', 'text', (c) => c.notNull())
      .addColumn('auth_method', 'varchar(32)', (c) => c.notNull())
      .addColumn('secret_hash', 'varchar(64)')
      .addColumn('jwks', 'text')
      .addColumn('disabled', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('created_at', 'varchar(24)', (c) => c.notNull())
      .addColumn('updated_at', 'varchar(24)', (c) => c.notNull())
      .execute()
    await db.schema.createIndex('clients_created_at').on('clients').columns(['created_at', 'id']).execute()
    await db.schema
      .createTable('client_assertions')
      .addColumn('client_id', 'varchar(32)', (c) => c.notNull())
      .addColumn('jti', 'varchar(255)', (c) => c.notNull())
      .addColumn('expires_at', 'varchar(24)', (c) => c.notNull())
      .addPrimaryKeyConstraint('client_assertions_pk', ['client_id', 'jti'])
      .execute()
    await db.schema
      .createIndex('client_assertions_expires_at')
      .on('client_assertions')
      .column('expires_at')
      .execute()
  },
}
