import type { Kysely, Migration } from 'kysely'

type Tables = {
  users: { id: string; email: string }
  mail_outbox: { id: string; recipient: string; status: string }
}

const BATCH = 500

/**
 * Addresses are stored and mailed NFKC-normalised from now on (`normalizeEmail`): a full-width
 * `ｏｐｓ@example.com` signed up earlier becomes `ops@example.com`, the address its key already
 * stood for, so mails reach the real owner of that address. Written out here rather than imported,
 * so that the migration keeps doing what it did when it shipped. `email_key` was NFKC-based
 * already and does not change; mails still waiting to be sent are re-addressed the same way.
 */
export const normalizedEmails: Migration = {
  async up(untyped: Kysely<unknown>) {
    const db = untyped.withTables<Tables>()
    const normalize = (email: string) => email.trim().normalize('NFKC')
    let after = ''
    for (;;) {
      const users = await db
        .selectFrom('users')
        .select(['id', 'email'])
        .where('id', '>', after)
        .orderBy('id')
        .limit(BATCH)
        .execute()
      for (const { id, email } of users) {
        if (normalize(email) !== email) {
          await db
            .updateTable('users')
            .set({ email: normalize(email) })
            .where('id', '=', id)
            .execute()
        }
      }
      const last = users.at(-1)
      if (last === undefined) break
      after = last.id
    }
    const pending = await db
      .selectFrom('mail_outbox')
      .select(['id', 'recipient'])
      .where('status', '=', 'pending')
      .execute()
    for (const { id, recipient } of pending) {
      if (normalize(recipient) !== recipient) {
        await db
          .updateTable('mail_outbox')
          .set({ recipient: normalize(recipient) })
          .where('id', '=', id)
          .execute()
      }
    }
  },
}
