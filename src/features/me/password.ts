import type { Context } from '../../context.ts'
import { recordAuditEvent } from '../../identity/audit/audit-log.ts'
import { END_SESSION_AFTER_WRONG_PASSWORDS, type PasswordAttempt } from '../../identity/limits/limits.ts'
import { voidTokens } from '../../identity/one-time-tokens.ts'
import { endSessions } from '../../identity/sessions/ending.ts'
import { passwordProblems } from '../../identity/users/password-policy.ts'
import { findUserById, setPassword } from '../../identity/users/store.ts'
import { isoAt } from '../../platform/clock.ts'
import { ValidationError, invalidAccessToken, type FieldProblem } from '../../platform/http/errors.ts'
import { type RequestOrigin } from '../../platform/http/request-context.ts'
import type { ChangePasswordBody } from './schemas.ts'

/**
 * `POST /me/password`. The current password proves it is the account's owner at the keyboard,
 * not someone holding a stolen access token; a wrong one is a 422 naming `current_password` (the
 * caller is authenticated, so 401 would wrongly say the token is bad). The check is limited like a
 * login (a per-user budget and the failed-login throttle, see `RateLimits`), and five wrong ones in
 * a row end the session that sent them. On success every other session ends; the one that made
 * the change stays. Unused reset links die with the old password.
 */
export async function changePassword(
  ctx: Pick<Context, 'db' | 'clock' | 'hasher' | 'limits' | 'revocations'>,
  principal: { userId: string; sessionId: string },
  body: ChangePasswordBody,
  origin: RequestOrigin,
): Promise<void> {
  const { db, clock, hasher, limits } = ctx
  const user = await findUserById(db, principal.userId)
  if (!user) throw invalidAccessToken()
  const attempt = await limits.beforePasswordChange(user.id, origin)
  const check = await hasher.verify(user.passwordHash, body.current_password)
  if (check.ok) await limits.afterRightCurrentPassword(attempt, principal.sessionId)
  else await refuseWrongCurrentPassword(ctx, attempt, principal.sessionId)
  const problems: FieldProblem[] = [
    ...(check.ok ? [] : [{ field: 'current_password', message: 'is not the current password' }]),
    ...passwordProblems(body.new_password, user, 'new_password'),
  ]
  if (problems.length > 0) throw new ValidationError(problems)
  const passwordHash = await hasher.hash(body.new_password)
  await db.transaction().execute(async (trx) => {
    await setPassword(trx, user.id, passwordHash, isoAt(clock.now()))
    await voidTokens(trx, clock, user.id, 'password_reset')
  })
  const ended = await endSessions(ctx, user.id, { except: principal.sessionId }, 'password_changed', origin)
  await recordAuditEvent(db, clock, {
    type: 'password_changed',
    userId: user.id,
    origin,
    data: { session_id: principal.sessionId, sessions_ended: ended.length },
  })
}

/**
 * A wrong current password is a failed login (the throttle counts it against the account from
 * this network). Whoever holds the token cannot guess on: the 5th wrong one in a row through one
 * session ends that session, so the guesser needs the password to log in again.
 */
async function refuseWrongCurrentPassword(
  ctx: Pick<Context, 'db' | 'clock' | 'limits' | 'revocations'>,
  attempt: PasswordAttempt,
  sessionId: string,
): Promise<void> {
  const { db, clock, limits } = ctx
  const wrong = await limits.afterWrongCurrentPassword(attempt, sessionId)
  await recordAuditEvent(db, clock, {
    type: 'password_change_failed',
    userId: attempt.userId,
    origin: attempt.origin,
    data: { reason: 'wrong_current_password', wrong_in_a_row: wrong },
  })
  if (wrong >= END_SESSION_AFTER_WRONG_PASSWORDS && attempt.userId !== null) {
    await endSessions(ctx, attempt.userId, { only: [sessionId] }, 'password_guessing', attempt.origin)
  }
}
