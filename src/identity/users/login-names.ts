import type { StringCheck } from '../../platform/http/validation.ts'

/**
 * Deliberately simple: something@domain.tld — labels separated by single dots — with no spaces or
 * control characters. Linear in its input, as every pattern applied to a request must be: its
 * neighbouring parts never match the same character, so a failing match never retries another
 * split. (It used to let a label contain the dot between labels: "a@" + "a." * 30000 took seconds.)
 */
export const EMAIL_PATTERN = '^\\s*[^\\s@\\p{Cc}]{1,64}@[^\\s@.\\p{Cc}]+(?:\\.[^\\s@.\\p{Cc}]+)+\\s*$'
export const EMAIL_MAX_LENGTH = 254
export const EMAIL_PROBLEM = 'must be an email address of at most 254 characters'

/** Emails and usernames are trimmed, NFKC-normalised and compared case-insensitively. */
export function identityKey(text: string): string {
  return text.trim().normalize('NFKC').toLowerCase()
}

/**
 * An email address as it is stored and mailed: trimmed and NFKC-normalised, in the case typed —
 * `identityKey` without the lowercasing. Storing what the user typed would let a full-width
 * `ｏｐｓ@example.com` hold the account of `ops@example.com` (both have one key) while its mails
 * went to the look-alike spelling.
 */
export function normalizeEmail(text: string): string {
  return text.trim().normalize('NFKC')
}

const EMAIL = new RegExp(EMAIL_PATTERN, 'u')

/**
 * Whether an address is still one after normalisation: NFKC can turn a valid-looking address into
 * something else (`a＠b@example.com` gets a second `@`, `ﷺ` becomes 18 letters) or leave
 * whitespace at its ends that a second normalisation would trim.
 */
export function isStorableEmail(text: string): boolean {
  const email = normalizeEmail(text)
  // eslint-disable-next-line @typescript-eslint/no-misused-spread -- code points, as maxLength counts
  return [...email].length <= EMAIL_MAX_LENGTH && email === email.trim() && EMAIL.test(email)
}

/** The schema keyword `x-normalized-email: true`: the address must stay one once normalised. */
export const NORMALIZED_EMAIL_CHECK: StringCheck = {
  keyword: 'x-normalized-email',
  problem: (text) => (isStorableEmail(text) ? undefined : EMAIL_PROBLEM),
}

/** A username never contains `@`, so a login name with one is an email address. */
export function looksLikeEmail(login: string): boolean {
  return login.includes('@')
}
