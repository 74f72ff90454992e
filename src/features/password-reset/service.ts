import type { Context } from '../../context.ts'
import { recordAuditEvent } from '../../identity/audit/audit-log.ts'
import {
  consumeToken,
  hashOneTimeToken,
  invalidLinkToken,
  issueToken,
  LINK_MAILS_PER_ACCOUNT,
  newOneTimeToken,
  peekToken,
  voidTokens,
} from '../../identity/one-time-tokens.ts'
import { endSessions } from '../../identity/sessions/ending.ts'
import { identityKey } from '../../identity/users/login-names.ts'
import { passwordProblems } from '../../identity/users/password-policy.ts'
import { findUserById, setPassword } from '../../identity/users/store.ts'
import { enqueueMail } from '../../identity/users/user-mail.ts'
import { isoAt } from '../../platform/clock.ts'
import { ValidationError } from '../../platform/http/errors.ts'
import { type RequestOrigin } from '../../platform/http/request-context.ts'
import { passwordResetMail } from './mails.ts'
import type { ResetPasswordBody } from './schemas.ts'

/**
 * `POST /auth/password/forgot`. The caller learns nothing: the answer is the same `202` whether
 * the address has an active account or not, or its budget of reset mails is spent, and so is the
 * work done before it — the token is drawn and hashed, the mail rendered, and the same two
 * `INSERT … SELECT` statements run, writing a token (within the account's budget) and a mail to its
 * holder only for an account. Delivery happens in the background (`startMailWorker`), never in the
 * request.
 */
export async function requestPasswordReset(
  ctx: Pick<Context, 'db' | 'clock' | 'config' | 'mailQueue'>,
  email: string,
  origin: RequestOrigin,
): Promise<void> {
  const { db, clock, config, mailQueue } = ctx
  const token = newOneTimeToken()
  const expiresAt = clock.now() + config.passwordResetTtlSeconds * 1000
  const mail = passwordResetMail(mailQueue, token, config.passwordResetTtlSeconds)
  const userId = await db.transaction().execute(async (trx) => {
    const holder = await issueToken(
      trx,
      clock,
      'password_reset',
      { email },
      token,
      expiresAt,
      LINK_MAILS_PER_ACCOUNT,
    )
    const to = { tokenHash: hashOneTimeToken(token) }
    await enqueueMail(trx, clock, to, { purpose: 'password_reset', ...mail, expiresAt })
    return holder
  })
  await recordAuditEvent(db, clock, {
    type: 'password_reset_requested',
    userId: userId ?? null,
    origin,
    // Who was looked for, when no link went out (no such account, or its budget is spent):
    // repeated probing and mail bombing show in the audit log.
    data: userId === undefined ? { email: email.trim().slice(0, 254) } : {},
  })
  mailQueue.notifyQueued()
}

/**
 * `POST /auth/password/reset`. The token is checked first (so a weak password can be corrected
 * and retried with the same link), then consumed with a compare-and-swap in the transaction that
 * sets the password: of two requests racing with one token, exactly one succeeds. Every session
 * ends. Receiving the mail proves the address, so it counts as verified too.
 */
export async function resetPassword(
  ctx: Pick<Context, 'db' | 'clock' | 'hasher' | 'revocations'>,
  body: ResetPasswordBody,
  origin: RequestOrigin,
): Promise<void> {
  const { db, clock, hasher } = ctx
  const holder = await peekToken(db, clock, 'password_reset', body.token)
  const user = holder && (await findUserById(db, holder.userId))
  if (!holder || !user || user.disabled) throw invalidLinkToken()
  const problems = passwordProblems(body.new_password, user, 'new_password')
  if (problems.length > 0) throw new ValidationError(problems)
  const passwordHash = await hasher.hash(body.new_password)
  const consumed = await db.transaction().execute(async (trx) => {
    const used = await consumeToken(trx, clock, 'password_reset', body.token)
    if (!used) return false
    const sameAddress = identityKey(used.email) === user.emailKey
    await setPassword(trx, used.userId, passwordHash, isoAt(clock.now()), { markVerified: sameAddress })
    await voidTokens(trx, clock, used.userId, 'password_reset')
    return true
  })
  if (!consumed) throw invalidLinkToken()
  await endSessions(ctx, user.id, {}, 'password_reset', origin)
  await recordAuditEvent(db, clock, { type: 'password_reset', userId: user.id, origin })
}
