import { PRODUCT_NAME, type MailQueue } from '../../platform/mail/mail-queue.ts'
import { describeDuration, renderMail, type AccountMail } from '../../platform/mail/templates.ts'

/*
 * The mail names no account: it is written before anyone knows whether the address has one (see
 * `requestPasswordReset`). The link points at the application at `PUBLIC_URL`, which reads the
 * token from the query and calls the API.
 */

export const RESET_PASSWORD_PATH = '/reset-password'

export function passwordResetMail(mailQueue: MailQueue, token: string, ttlSeconds: number): AccountMail {
  return {
    subject: `Reset your ${PRODUCT_NAME} password`,
    ...renderMail({
      productName: PRODUCT_NAME,
      heading: 'Reset your password',
      intro: [`Someone — hopefully you — asked to reset the password of your ${PRODUCT_NAME} account.`],
      action: { label: 'Choose a new password', url: mailQueue.link(RESET_PASSWORD_PATH, { token }) },
      outro: [
        `The link works once, for ${describeDuration(ttlSeconds)}. Choosing a new password signs you out everywhere.`,
        'If you did not ask for this, ignore this mail: your password stays as it is.',
      ],
    }),
  }
}
