import { PRODUCT_NAME, type MailQueue } from '../../platform/mail/mail-queue.ts'
import { describeDuration, renderMail, type AccountMail } from '../../platform/mail/templates.ts'

/** The link points at the application at `PUBLIC_URL`, which reads the token and calls the API. */
export const VERIFY_EMAIL_PATH = '/verify-email'

export function verificationMail(mailQueue: MailQueue, token: string, ttlSeconds: number): AccountMail {
  return {
    subject: `Confirm your email address for ${PRODUCT_NAME}`,
    ...renderMail({
      productName: PRODUCT_NAME,
      heading: 'Confirm your email address',
      intro: [`Please confirm that this address belongs to your ${PRODUCT_NAME} account.`],
      action: { label: 'Confirm this address', url: mailQueue.link(VERIFY_EMAIL_PATH, { token }) },
      outro: [
        `The link works once, for ${describeDuration(ttlSeconds)}.`,
        'If you did not create an account, ignore this mail.',
      ],
    }),
  }
}
