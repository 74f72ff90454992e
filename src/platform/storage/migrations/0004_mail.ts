import type { Kysely, Migration } from 'kysely'

export const mail: Migration = {
  async up(db: Kysely<unknown>) {
    // Password-reset and email-verification tokens: only their SHA-256 is stored.
    await db.schema
      .createTable('one_time_tokens')
      .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
      .addColumn('user_id', 'varchar(36)', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('purpose', 'varchar(32)', (c) => c.notNull())
      .addColumn('token_hash', 'varchar(64)', (c) => c.notNull().unique())
      // The address the token was mailed to: verifying it proves that address, not a later one.
      .addColumn('email', 'varchar(320)', (c) => c.notNull())
      .addColumn('created_at', 'varchar(24)', (c) => c.notNull())
      .addColumn('expires_at', 'varchar(24)', (c) => c.notNull())
      .addColumn('used_at', 'varchar(24)')
      .execute()
    await db.schema
      .createIndex('one_time_tokens_user_purpose')
      .on('one_time_tokens')
      .columns(['user_id', 'purpose', 'created_at'])
      .execute()
    await db.schema
      .createIndex('one_time_tokens_expires_at')
      .on('one_time_tokens')
      .column('expires_at')
      .execute()

    // The durable mail queue: a request commits its mail here and returns; a worker delivers it.
    await db.schema
      .createTable('mail_outbox')
      .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
      .addColumn('purpose', 'varchar(32)', (c) => c.notNull())
      .addColumn('recipient', 'varchar(320)', (c) => c.notNull())
      .addColumn('subject', 'varchar(200)', (c) => c.notNull())
      // Erased once the mail is sent or given up: they carry the link with its token.
      .addColumn('text_body', 'text')
      .addColumn('html_body', 'text')
      .addColumn('status', 'varchar(16)', (c) => c.notNull())
      .addColumn('created_at', 'varchar(24)', (c) => c.notNull())
      .addColumn('expires_at', 'varchar(24)', (c) => c.notNull())
      .addColumn('next_attempt_at', 'varchar(24)', (c) => c.notNull())
      .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('sent_at', 'varchar(24)')
      .addColumn('last_error', 'varchar(500)')
      .execute()
    await db.schema
      .createIndex('mail_outbox_due')
      .on('mail_outbox')
      .columns(['status', 'next_attempt_at'])
      .execute()
    await db.schema.createIndex('mail_outbox_created').on('mail_outbox').column('created_at').execute()
  },
}
