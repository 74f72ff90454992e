import { PRODUCT_NAME, type MailQueue } from '../../platform/mail/mail-queue.ts'
import { renderMail, type RenderedMail } from '../../platform/mail/templates.ts'

/*
 * The mails of the account lifecycle. They name no account: a forgotten-password mail is written
 * before anyone knows whether the address has one (see `requestPasswordReset`). The links point at
 * the application at `PUBLIC_URL`, which reads the token from the query and calls the API.
 */

export const RESET_PASSWORD_PATH = '/reset-password'
export const VERIFY_EMAIL_PATH = '/verify-email'

export interface AccountMail extends RenderedMail {
  subject: string
}

export function passwordResetMail(mailer: MailQueue, token: string, ttlSeconds: number): AccountMail {
  return {
    subject: `Reset your ${PRODUCT_NAME} password`,
    ...renderMail({
      productName: PRODUCT_NAME,
      heading: 'Reset your password',
      intro: [`Someone — hopefully you — asked to reset the password of your ${PRODUCT_NAME} account.`],
      action: { label: 'Choose a new password', url: mailer.link(RESET_PASSWORD_PATH, { token }) },
      outro: [
        `The link works once, for ${describeDuration(ttlSeconds)}. Choosing a new password signs you out everywhere.`,
        'If you did not ask for this, ignore this mail: your password stays as it is.',
      ],
    }),
  }
}

export function verificationMail(mailer: MailQueue, token: string, ttlSeconds: number): AccountMail {
  return {
    subject: `Confirm your email address for ${PRODUCT_NAME}`,
    ...renderMail({
      productName: PRODUCT_NAME,
      heading: 'Confirm your email address',
      intro: [`Please confirm that this address belongs to your ${PRODUCT_NAME} account.`],
      action: { label: 'Confirm this address', url: mailer.link(VERIFY_EMAIL_PATH, { token }) },
      outro: [
        `The link works once, for ${describeDuration(ttlSeconds)}.`,
        'If you did not create an account, ignore this mail.',
      ],
    }),
  }
}

/** `1800` → "30 minutes", `86400` → "24 hours", `172800` → "2 days". */
export function describeDuration(seconds: number): string {
  const units: [number, string][] = [
    [86400, 'day'],
    [3600, 'hour'],
    [60, 'minute'],
  ]
  for (const [size, name] of units) {
    const count = seconds / size
    // 24 hours reads better than 1 day; 48 hours is 2 days.
    if (Number.isInteger(count) && (name !== 'day' || count >= 2)) {
      return `${count} ${name}${count === 1 ? '' : 's'}`
    }
  }
  return `${seconds} second${seconds === 1 ? '' : 's'}`
}
