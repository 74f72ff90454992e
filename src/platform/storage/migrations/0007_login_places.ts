import type { Kysely, Migration } from 'kysely'

export const loginPlaces: Migration = {
  async up(db: Kysely<unknown>) {
    // The networks (IPv4 /24, IPv6 /64) each account last logged in from: failed logins from a
    // known place are exempt from the global budget of failures from unknown places.
    await db.schema
      .createTable('login_places')
      .addColumn('user_id', 'varchar(36)', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('network', 'varchar(64)', (c) => c.notNull())
      .addColumn('last_login_at', 'varchar(24)', (c) => c.notNull())
      .addPrimaryKeyConstraint('login_places_pk', ['user_id', 'network'])
      .execute()
    await db.schema
      .createIndex('login_places_last_login')
      .on('login_places')
      .column('last_login_at')
      .execute()
    // Delivery takes first attempts before retries, each in the order they fell due.
    await db.schema
      .createIndex('mail_outbox_due_by_attempts')
      .on('mail_outbox')
      .columns(['status', 'attempts', 'next_attempt_at'])
      .execute()
  },
}
