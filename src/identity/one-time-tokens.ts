import { randomUUID } from 'node:crypto'
import { Type } from 'typebox'
import { isoAt, type Clock } from '../platform/clock.ts'
import { hashOpaqueToken, newOpaqueToken } from '../platform/crypto/opaque-tokens.ts'
import { ValidationError } from '../platform/http/errors.ts'
import type { Db } from '../platform/storage/database.ts'
import type { OneTimeTokenPurpose } from '../platform/storage/schema.ts'
import { recipientKey, type Recipient } from './users/user-mail.ts'

/*
 * Password-reset and email-verification tokens: 256 random bits, base64url, mailed in a link and
 * stored only as SHA-256 — the same construction as refresh tokens, for the same reason (nothing
 * to brute-force in a 256-bit secret, so a fast hash is right). Each is consumed at most once.
 */
/** A one-time token as a request carries it. */
export const LinkToken = Type.String({
  minLength: 1,
  maxLength: 256,
  description: 'The `token` query parameter of the link in the mail.',
})

export const newOneTimeToken = newOpaqueToken
export const hashOneTimeToken = hashOpaqueToken

/** A token that is unknown, expired, already used, or for something else: 422 naming `token`. */
export const invalidLinkToken = (): ValidationError =>
  new ValidationError([{ field: 'token', message: 'is invalid, expired or already used' }])

export interface TokenHolder {
  userId: string
  /** The address the token was mailed to. */
  email: string
}

/** At most `count` tokens of the purpose issued to one user within the last `withinMs`. */
export interface IssueBudget {
  count: number
  withinMs: number
}

/**
 * Mails with a link one account gets at most, of each purpose (reset, verification), whoever asks:
 * 3 an hour, 10 a day. Within them each request mails a fresh link (the links mailed before stay
 * valid until they expire or one is used); beyond them nothing is minted and nothing mailed — the
 * links already mailed still work — and the answer is the same `202`. Nobody can bomb an address
 * through us: not by asking for its password reset, nor by signing up with it and asking for
 * verification links.
 */
export const LINK_MAILS_PER_ACCOUNT: readonly IssueBudget[] = [
  { count: 3, withinMs: 60 * 60 * 1000 },
  { count: 10, withinMs: 24 * 60 * 60 * 1000 },
]

/**
 * Stores `token` for the active user `to` designates, valid until `expiresAt`, unless the user was
 * issued `budget.count` tokens of `purpose` within `budget.withinMs` already (for every budget
 * given). One `INSERT … SELECT … FROM users`, so that an unknown address costs the same statement
 * and writes nothing. Returns the user's id, or undefined when there is no such user or no budget.
 */
export async function issueToken(
  db: Db,
  clock: Clock,
  purpose: OneTimeTokenPurpose,
  to: Recipient,
  token: string,
  expiresAt: number,
  budgets: readonly IssueBudget[] = [],
): Promise<string | undefined> {
  const [column, key] = recipientKey(to)
  const row = await db
    .insertInto('one_time_tokens')
    .columns(['id', 'user_id', 'purpose', 'token_hash', 'email', 'created_at', 'expires_at'])
    .expression((eb) =>
      eb
        .selectFrom('users')
        .select((s) => [
          s.val(randomUUID()).as('id'),
          'users.id as user_id',
          s.val(purpose).as('purpose'),
          s.val(hashOneTimeToken(token)).as('token_hash'),
          'users.email',
          s.val(isoAt(clock.now())).as('created_at'),
          s.val(isoAt(expiresAt)).as('expires_at'),
        ])
        .where(column, '=', key)
        .where('users.disabled', '=', 0)
        .$if(budgets.length > 0, (query) =>
          query.where((w) =>
            w.and(
              budgets.map((budget) =>
                w(
                  w
                    .selectFrom('one_time_tokens as issued')
                    .select((c) => c.fn.countAll().as('issued'))
                    .whereRef('issued.user_id', '=', 'users.id')
                    .where('issued.purpose', '=', purpose)
                    .where('issued.created_at', '>', isoAt(clock.now() - budget.withinMs)),
                  '<',
                  budget.count,
                ),
              ),
            ),
          ),
        ),
    )
    .returning('user_id')
    .executeTakeFirst()
  return row?.user_id
}

/** The holder of a token that could be consumed now, without consuming it. */
export async function peekToken(
  db: Db,
  clock: Clock,
  purpose: OneTimeTokenPurpose,
  token: string,
): Promise<TokenHolder | undefined> {
  return db
    .selectFrom('one_time_tokens')
    .select(['user_id as userId', 'email'])
    .where('token_hash', '=', hashOneTimeToken(token))
    .where('purpose', '=', purpose)
    .where('used_at', 'is', null)
    .where('expires_at', '>', isoAt(clock.now()))
    .executeTakeFirst()
}

/**
 * Consumes a token: one compare-and-swap on `used_at`, so of any number of concurrent requests
 * presenting it exactly one gets its holder; the others, and any later one, get undefined — as
 * do an unknown token, one of another purpose and an expired one.
 */
export async function consumeToken(
  db: Db,
  clock: Clock,
  purpose: OneTimeTokenPurpose,
  token: string,
): Promise<TokenHolder | undefined> {
  const now = isoAt(clock.now())
  return db
    .updateTable('one_time_tokens')
    .set({ used_at: now })
    .where('token_hash', '=', hashOneTimeToken(token))
    .where('purpose', '=', purpose)
    .where('used_at', 'is', null)
    .where('expires_at', '>', now)
    .returning(['user_id as userId', 'email'])
    .executeTakeFirst()
}

/**
 * Voids every unused token of `purpose` the user holds: after a reset or a password change no
 * older reset link works, and after a verification no older verification link does.
 */
export async function voidTokens(
  db: Db,
  clock: Clock,
  userId: string,
  purpose: OneTimeTokenPurpose,
): Promise<void> {
  await db
    .updateTable('one_time_tokens')
    .set({ used_at: isoAt(clock.now()) })
    .where('user_id', '=', userId)
    .where('purpose', '=', purpose)
    .where('used_at', 'is', null)
    .execute()
}

/** When the user's newest token of `purpose` was issued (ms), or undefined. */
export async function lastIssuedAt(
  db: Db,
  userId: string,
  purpose: OneTimeTokenPurpose,
): Promise<number | undefined> {
  const row = await db
    .selectFrom('one_time_tokens')
    .select('created_at')
    .where('user_id', '=', userId)
    .where('purpose', '=', purpose)
    .orderBy('created_at', 'desc')
    .limit(1)
    .executeTakeFirst()
  return row ? Date.parse(row.created_at) : undefined
}

/** How long an issued token is remembered after its expiry, at least: the daily budgets count it. */
const ISSUED_MEMORY_MS = 24 * 60 * 60 * 1000

/**
 * Deletes tokens past their expiry, used or not, once a day has passed since they were issued
 * (maintenance). Returns how many.
 */
export async function pruneOneTimeTokens(db: Db, clock: Clock): Promise<number> {
  const result = await db
    .deleteFrom('one_time_tokens')
    .where('expires_at', '<', isoAt(clock.now()))
    .where('created_at', '<', isoAt(clock.now() - ISSUED_MEMORY_MS))
    .executeTakeFirst()
  return Number(result.numDeletedRows)
}
