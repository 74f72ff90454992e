import type { Kysely, Migration } from 'kysely'

export const sessionsAndAudit: Migration = {
  async up(db: Kysely<unknown>) {
    // The scope granted at login: refreshes keep it (narrowed again to the user's current roles).
    await db.schema
      .alterTable('sessions')
      .addColumn('scope', 'text', (c) => c.notNull().defaultTo(''))
      .execute()

    await db.schema
      .createTable('audit_events')
      .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
      .addColumn('type', 'varchar(64)', (c) => c.notNull())
      // No foreign key: the trail of a deleted user must outlive the user.
      .addColumn('user_id', 'varchar(36)')
      .addColumn('ip', 'varchar(64)')
      .addColumn('user_agent', 'varchar(512)')
      .addColumn('request_id', 'varchar(128)')
      .addColumn('at', 'varchar(24)', (c) => c.notNull())
      .addColumn('data', 'text', (c) => c.notNull())
      .execute()
    await db.schema.createIndex('audit_events_at').on('audit_events').columns(['at', 'id']).execute()
    await db.schema
      .createIndex('audit_events_user_at')
      .on('audit_events')
      .columns(['user_id', 'at'])
      .execute()
    await db.schema.createIndex('audit_events_type_at').on('audit_events').columns(['type', 'at']).execute()
  },
}
