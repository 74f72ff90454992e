import type { Context } from '../../context.ts'
import type { LoginCheck } from '../../identity/login/checks.ts'
import { AppError } from '../../platform/http/errors.ts'
import { mailLinkAfterRefusedLogin } from './service.ts'

/**
 * With `REQUIRE_VERIFIED_EMAIL`, the login of an account whose address is not verified fails —
 * after the right password only, like a disabled account, so a guesser learns nothing — and mails
 * a new link.
 */
export function refuseUnverifiedEmail(
  ctx: Pick<Context, 'db' | 'clock' | 'config' | 'mailQueue'>,
): LoginCheck {
  return async ({ user, origin }) => {
    if (!ctx.config.requireVerifiedEmail || user.emailVerified) return undefined
    return {
      reason: 'email_not_verified',
      error: new AppError(
        'EMAIL_NOT_VERIFIED',
        "This account's email address is not verified yet: follow the link we mailed to it.",
      ),
      afterRecorded: () => mailLinkAfterRefusedLogin(ctx, user.id, origin),
    }
  }
}
