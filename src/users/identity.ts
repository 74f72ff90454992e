/** Emails and usernames are trimmed, NFKC-normalised and compared case-insensitively. */
export function identityKey(text: string): string {
  return text.trim().normalize('NFKC').toLowerCase()
}

/** A username never contains `@`, so a login name with one is an email address. */
export function looksLikeEmail(login: string): boolean {
  return login.includes('@')
}
