import { randomUUID } from 'node:crypto'
import { isoAt, type Clock } from '../../platform/clock.ts'
import type { QueuedMail } from '../../platform/mail/outbox.ts'
import type { Db } from '../../platform/storage/database.ts'
import { identityKey } from './login-names.ts'

/** An active (not disabled) user, by id or by email address. */
export type Recipient = { userId: string } | { email: string }

/** The active user holding the one-time token with this SHA-256 (one just issued, or none). */
export interface TokenHolderRecipient {
  tokenHash: string
}

/** The `users` column and the value that pick out a recipient. */
export function recipientKey(to: Recipient): ['users.id' | 'users.email_key', string] {
  return 'userId' in to ? ['users.id', to.userId] : ['users.email_key', identityKey(to.email)]
}

/**
 * Queues `mail` to the active user `to` designates, in the caller's transaction (so the mail
 * exists exactly when what it announces does) — by id, by address, or as the holder of a token
 * the transaction issued (no token issued: no mail). One `INSERT … SELECT … FROM users`: for no such
 * user it writes nothing and returns false, having done the same work — which is what lets
 * `POST /auth/password/forgot` cost the same for unknown addresses. After commit, ring
 * `mailQueue.notifyQueued()` so the worker delivers at once.
 */
export async function enqueueMail(
  db: Db,
  clock: Clock,
  to: Recipient | TokenHolderRecipient,
  mail: QueuedMail,
): Promise<boolean> {
  const now = isoAt(clock.now())
  const result = await db
    .insertInto('mail_outbox')
    .columns([
      'id',
      'purpose',
      'recipient',
      'subject',
      'text_body',
      'html_body',
      'status',
      'created_at',
      'expires_at',
      'next_attempt_at',
    ])
    .expression((eb) =>
      eb
        .selectFrom('users')
        .select((s) => [
          s.val(randomUUID()).as('id'),
          s.val(mail.purpose).as('purpose'),
          'users.email',
          s.val(mail.subject).as('subject'),
          s.val(mail.text).as('text_body'),
          s.val(mail.html).as('html_body'),
          s.val('pending').as('status'),
          s.val(now).as('created_at'),
          s.val(isoAt(mail.expiresAt)).as('expires_at'),
          s.val(now).as('next_attempt_at'),
        ])
        .where((w) => {
          if (!('tokenHash' in to)) {
            const [column, key] = recipientKey(to)
            return w(column, '=', key)
          }
          const holder = w
            .selectFrom('one_time_tokens')
            .select('one_time_tokens.user_id')
            .where('one_time_tokens.token_hash', '=', to.tokenHash)
          return w('users.id', '=', holder)
        })
        .where('users.disabled', '=', 0),
    )
    .executeTakeFirst()
  return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0
}
