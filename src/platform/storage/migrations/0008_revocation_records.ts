import { PostgresAdapter, sql, type Kysely, type Migration } from 'kysely'

export const revocationRecords: Migration = {
  async up(db: Kysely<unknown>) {
    // Every revocation — of a session (`sid`), a signing key (`kid`), later others — numbered in
    // commit order: instances read the records after the last one they saw, every 2 s.
    const postgres = db.getExecutor().adapter instanceof PostgresAdapter
    await db.schema
      .createTable('revocations')
      .addColumn('seq', postgres ? 'bigserial' : 'integer', (c) =>
        postgres ? c.primaryKey() : c.primaryKey().autoIncrement(),
      )
      .addColumn('kind', 'varchar(16)', (c) => c.notNull())
      .addColumn('value', 'varchar(255)', (c) => c.notNull())
      .addColumn('revoked_at', 'varchar(24)', (c) => c.notNull())
      .addColumn('keep_until', 'varchar(24)', (c) => c.notNull())
      .execute()
    await db.schema
      .createIndex('revocations_kind_value')
      .unique()
      .on('revocations')
      .columns(['kind', 'value'])
      .execute()
    await db.schema.createIndex('revocations_keep_until').on('revocations').column('keep_until').execute()
    await sql`
      insert into revocations (kind, value, revoked_at, keep_until)
      select 'sid', session_id, revoked_at, keep_until from revoked_sessions order by revoked_at, session_id
    `.execute(db)
    await db.schema.dropTable('revoked_sessions').execute()

    // A revoked key never verifies again, whatever its retirement says; the row stays for the record.
    await db.schema.alterTable('signing_keys').addColumn('revoked_at', 'varchar(24)').execute()
  },
}
