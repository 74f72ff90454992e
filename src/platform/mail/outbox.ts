import { sql } from 'kysely'
import type { Logger } from 'pino'
import { isoAt, type Clock } from '../clock.ts'
import type { Db } from '../storage/database.ts'
import type { MailQueue } from './mail-queue.ts'

/** A mail to queue: its words, rendered, and how long it is worth delivering. */
export interface QueuedMail {
  /** What it is for (`password_reset`, …); logged in place of the recipient and the body. */
  purpose: string
  subject: string
  text: string
  html: string
  /** After this (ms since the epoch) the mail is given up undelivered: its link has expired. */
  expiresAt: number
}

/** A worker that claimed a mail and died holds it this long; then another worker retries it. */
export const CLAIM_LEASE_MS = 2 * 60 * 1000
/** After the n-th failed attempt the next one waits 30 s · 2^(n-1), at most an hour. */
const FIRST_RETRY_MS = 30 * 1000
const MAX_RETRY_MS = 60 * 60 * 1000
const BATCH_SIZE = 20
/** Mails one worker hands to the transport at once: enough to drain a burst, few for the SMTP server. */
export const MAIL_DELIVERY_CONCURRENCY = 4

export function retryDelayMs(attempts: number): number {
  return Math.min(FIRST_RETRY_MS * 2 ** Math.max(0, attempts - 1), MAX_RETRY_MS)
}

/** What delivering the outbox needs. */
export interface MailDeliveryDeps {
  db: Db
  clock: Clock
  mailQueue: MailQueue
  logger: Logger
}

export interface DeliveryReport {
  sent: number
  /** Failed this time, to be tried again later. */
  retrying: number
  /** Given up: refused for good by the server, or expired before it could be delivered. */
  failed: number
}

/**
 * Delivers the mail that is due, a batch per run, at most `MAIL_DELIVERY_CONCURRENCY` at once,
 * first attempts before retries (a fresh reset link is what someone is waiting for; a mail that
 * failed before can wait its turn), and schedules retries with exponential back-off.
 * Any number of workers (instances) may run it at once: each mail is claimed with a
 * compare-and-swap on `next_attempt_at`, so only one of them sends it. A worker that dies while
 * sending leaves the claim to expire and the mail is sent again (at least once, with the same
 * Message-ID). Sent and given-up mails lose their bodies, which carry the token.
 *
 * Failures are logged with the mail's id, purpose and the error's code and message: never the
 * recipient, the body or its link.
 */
export async function deliverDueMail(ctx: MailDeliveryDeps): Promise<DeliveryReport> {
  const report: DeliveryReport = { sent: 0, retrying: 0, failed: 0 }
  report.failed += await giveUpExpired(ctx)
  const due = await dueMail(ctx)
  let next = 0
  const lane = async () => {
    for (let candidate = due[next++]; candidate; candidate = due[next++])
      await deliverOne(ctx, candidate, report)
  }
  await Promise.all(Array.from({ length: Math.min(MAIL_DELIVERY_CONCURRENCY, due.length) }, lane))
  return report
}

interface DueMail {
  id: string
  next_attempt_at: string
}

/** Up to a batch of due mail: first attempts, then retries, each in the order they fell due. */
async function dueMail(ctx: Pick<MailDeliveryDeps, 'db' | 'clock'>): Promise<DueMail[]> {
  const { db, clock } = ctx
  const now = isoAt(clock.now())
  const query = (firstAttempt: boolean, limit: number) =>
    db
      .selectFrom('mail_outbox')
      .select(['id', 'next_attempt_at'])
      .where('status', '=', 'pending')
      .where('attempts', firstAttempt ? '=' : '>', 0)
      .where('next_attempt_at', '<=', now)
      .orderBy('next_attempt_at')
      .limit(limit)
      .execute()
  const fresh = await query(true, BATCH_SIZE)
  return fresh.length < BATCH_SIZE ? [...fresh, ...(await query(false, BATCH_SIZE - fresh.length))] : fresh
}

async function deliverOne(ctx: MailDeliveryDeps, candidate: DueMail, report: DeliveryReport): Promise<void> {
  const { db, clock, mailQueue, logger } = ctx
  const mail = await db
    .updateTable('mail_outbox')
    .set({
      next_attempt_at: isoAt(clock.now() + CLAIM_LEASE_MS),
      attempts: sql<number>`attempts + 1`,
    })
    .where('id', '=', candidate.id)
    .where('status', '=', 'pending')
    .where('next_attempt_at', '=', candidate.next_attempt_at)
    .returningAll()
    .executeTakeFirst()
  if (!mail) return // another worker claimed it first
  try {
    await mailQueue.transport.send({
      messageId: `<${mail.id}@${mailQueue.fromDomain}>`,
      from: mailQueue.from,
      to: mail.recipient,
      subject: mail.subject,
      text: mail.text_body ?? '',
      html: mail.html_body ?? '',
      date: new Date(clock.now()),
    })
    await db
      .updateTable('mail_outbox')
      .set({ status: 'sent', sent_at: isoAt(clock.now()), text_body: null, html_body: null })
      .where('id', '=', mail.id)
      .execute()
    report.sent += 1
    logger.info({ mail_id: mail.id, purpose: mail.purpose, attempts: mail.attempts }, 'mail sent')
  } catch (error) {
    const failure = describeFailure(error, mail.recipient)
    const retryAt = clock.now() + retryDelayMs(mail.attempts)
    const giveUp = failure.permanent || isoAt(retryAt) >= mail.expires_at
    await db
      .updateTable('mail_outbox')
      .set(
        giveUp
          ? { status: 'failed', last_error: failure.summary, text_body: null, html_body: null }
          : { next_attempt_at: isoAt(retryAt), last_error: failure.summary },
      )
      .where('id', '=', mail.id)
      .execute()
    if (giveUp) report.failed += 1
    else report.retrying += 1
    logger.warn(
      {
        mail_id: mail.id,
        purpose: mail.purpose,
        attempts: mail.attempts,
        failure: failure.fields,
        ...(giveUp ? {} : { retry_at: isoAt(retryAt) }),
      },
      giveUp ? 'mail delivery failed; giving up' : 'mail delivery failed; will retry',
    )
  }
}

/** Mails whose link has expired are not worth sending any more. */
async function giveUpExpired(ctx: Pick<MailDeliveryDeps, 'db' | 'clock' | 'logger'>): Promise<number> {
  const result = await ctx.db
    .updateTable('mail_outbox')
    .set({
      status: 'failed',
      last_error: 'expired before it could be delivered',
      text_body: null,
      html_body: null,
    })
    .where('status', '=', 'pending')
    .where('expires_at', '<=', isoAt(ctx.clock.now()))
    .executeTakeFirst()
  const count = Number(result.numUpdatedRows)
  if (count > 0) ctx.logger.warn({ mails: count }, 'mail expired before it could be delivered')
  return count
}

interface Failure {
  /** The SMTP server refused this message or recipient for good (5xx): retrying cannot help. */
  permanent: boolean
  summary: string
  fields: Record<string, unknown>
}

/**
 * nodemailer's errors carry a `code` (ECONNECTION, EAUTH, EENVELOPE, EMESSAGE, …), the system
 * error behind a socket failure (`originalCode`: ECONNREFUSED, …), the SMTP `responseCode` and
 * `command`, and a message made of those and the server's reply — never the message data. Only
 * these fields are kept, so no body (and no token) can reach a log or the table; a reply that
 * echoes the recipient's address has it replaced.
 */
function describeFailure(error: unknown, recipient: string): Failure {
  const { code, originalCode, responseCode, command, message } = (error ?? {}) as Record<string, unknown>
  const address = new RegExp(recipient.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'gi')
  const fields = {
    ...(typeof code === 'string' ? { code } : {}),
    ...(typeof originalCode === 'string' ? { original_code: originalCode } : {}),
    ...(typeof responseCode === 'number' ? { response_code: responseCode } : {}),
    ...(typeof command === 'string' ? { command } : {}),
    message:
      typeof message === 'string' ? message.replace(address, '[recipient]').slice(0, 300) : 'unknown error',
  }
  const permanent =
    (code === 'EENVELOPE' || code === 'EMESSAGE') &&
    typeof responseCode === 'number' &&
    responseCode >= 500 &&
    responseCode < 600
  const summary = [fields.code, fields.response_code, fields.message].filter((x) => x !== undefined).join(' ')
  return { permanent, summary: summary.slice(0, 500), fields }
}

/** Forgets delivered and given-up mails after a week (maintenance). Returns how many. */
export async function pruneMailOutbox(db: Db, clock: Clock): Promise<number> {
  const result = await db
    .deleteFrom('mail_outbox')
    .where('status', '!=', 'pending')
    .where('created_at', '<', isoAt(clock.now() - 7 * 86400 * 1000))
    .executeTakeFirst()
  return Number(result.numDeletedRows)
}
