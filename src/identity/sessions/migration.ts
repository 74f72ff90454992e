import type { Kysely, Migration } from 'kysely'

/**
 * How a session's user proved who they are (RFC 8176 `amr`, and the assurance level `acr`), kept
 * with the session so its refreshes carry the login's, not a default. Every session so far was
 * opened with a password.
 */
export const sessionAuthentication: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .alterTable('sessions')
      .addColumn('amr', 'varchar(64)', (c) => c.notNull().defaultTo('pwd'))
      .execute()
    await db.schema
      .alterTable('sessions')
      .addColumn('acr', 'varchar(16)', (c) => c.notNull().defaultTo('aal1'))
      .execute()
  },
}
