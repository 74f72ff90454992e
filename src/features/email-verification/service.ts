import type { Context } from '../../context.ts'
import { recordAuditEvent } from '../../identity/audit/audit-log.ts'
import {
  consumeToken,
  hashOneTimeToken,
  invalidLinkToken,
  issueToken,
  lastIssuedAt,
  LINK_MAILS_PER_ACCOUNT,
  newOneTimeToken,
  voidTokens,
} from '../../identity/one-time-tokens.ts'
import { identityKey } from '../../identity/users/login-names.ts'
import { findUserById, markEmailVerified } from '../../identity/users/store.ts'
import { enqueueMail } from '../../identity/users/user-mail.ts'
import { isoAt } from '../../platform/clock.ts'
import { invalidAccessToken } from '../../platform/http/errors.ts'
import { type RequestOrigin } from '../../platform/http/request-context.ts'
import { verificationMail } from './mails.ts'

/** A login refused for an unverified address mails a new link at most this often. */
export const LOGIN_RESEND_INTERVAL_MS = 5 * 60 * 1000

/**
 * Issues a verification token for the user's current address and queues the mail with its link —
 * within the account's budget of link mails (`LINK_MAILS_PER_ACCOUNT`): beyond it no token is
 * minted and no mail queued (the mail goes to the holder of the token just inserted, so both or
 * neither). Returns whether a mail was queued.
 */
type MailingDeps = Pick<Context, 'db' | 'clock' | 'config' | 'mailQueue'>

async function sendVerificationMail(ctx: MailingDeps, userId: string): Promise<boolean> {
  const { db, clock, config, mailQueue } = ctx
  const token = newOneTimeToken()
  const expiresAt = clock.now() + config.emailVerificationTtlSeconds * 1000
  const mail = verificationMail(mailQueue, token, config.emailVerificationTtlSeconds)
  const queued = await db.transaction().execute(async (trx) => {
    await issueToken(trx, clock, 'email_verification', { userId }, token, expiresAt, LINK_MAILS_PER_ACCOUNT)
    const to = { tokenHash: hashOneTimeToken(token) }
    return enqueueMail(trx, clock, to, { purpose: 'email_verification', ...mail, expiresAt })
  })
  if (queued) mailQueue.notifyQueued()
  return queued
}

/**
 * `POST /auth/email/verify/request`: mails a link to the caller's address. An address that is
 * already verified gets no mail (there is nothing to confirm), nor does an account whose budget of
 * link mails is spent (someone may have signed up with another person's address to bomb it); both
 * get the same `202`. The audit event says when no mail went out.
 */
export async function requestEmailVerification(
  ctx: MailingDeps,
  userId: string,
  origin: RequestOrigin,
): Promise<void> {
  const user = await findUserById(ctx.db, userId)
  if (!user) throw invalidAccessToken()
  if (user.emailVerified) return
  const mailed = await sendVerificationMail(ctx, user.id)
  await recordAuditEvent(ctx.db, ctx.clock, {
    type: 'email_verification_requested',
    userId: user.id,
    origin,
    data: mailed ? {} : BUDGET_SPENT,
  })
}

/** The audit data of a request for a link that was not mailed: the account's budget is spent. */
const BUDGET_SPENT = { mailed: false, reason: 'budget_spent' }

/**
 * `POST /auth/email/verify`: consumes the token (exactly once) and marks the address verified —
 * the address the link was mailed to: if the account's address has changed since, the link proves
 * nothing about the new one and is refused. Other outstanding verification links are voided.
 */
export async function verifyEmail(
  ctx: Pick<Context, 'db' | 'clock'>,
  token: string,
  origin: RequestOrigin,
): Promise<void> {
  const { db, clock } = ctx
  const userId = await db.transaction().execute(async (trx) => {
    const used = await consumeToken(trx, clock, 'email_verification', token)
    if (!used) return undefined
    const verified = await markEmailVerified(trx, used.userId, identityKey(used.email), isoAt(clock.now()))
    // Throwing rolls the consumption back with the rest.
    if (!verified) throw invalidLinkToken()
    await voidTokens(trx, clock, used.userId, 'email_verification')
    return used.userId
  })
  if (userId === undefined) throw invalidLinkToken()
  await recordAuditEvent(db, clock, { type: 'email_verified', userId, origin })
}

/**
 * After a login refused for an unverified address: since the user cannot log in to ask for a link,
 * the refusal mails one (at most every 5 minutes, within the account's budget of link mails).
 */
export async function mailLinkAfterRefusedLogin(
  ctx: MailingDeps,
  userId: string,
  origin: RequestOrigin,
): Promise<void> {
  const { db, clock } = ctx
  const last = await lastIssuedAt(db, userId, 'email_verification')
  if (last !== undefined && clock.now() - last < LOGIN_RESEND_INTERVAL_MS) return
  const mailed = await sendVerificationMail(ctx, userId)
  await recordAuditEvent(db, clock, {
    type: 'email_verification_requested',
    userId,
    origin,
    data: { trigger: 'login', ...(mailed ? {} : BUDGET_SPENT) },
  })
}
