import { isoAt, type Clock } from '../../platform/clock.ts'
import type { Db } from '../../platform/storage/database.ts'

/** A network an account logged in from counts as one of its places for this long after. */
export const PLACE_MEMORY_MS = 30 * 24 * 60 * 60 * 1000

/**
 * Whether `account` logged in from `network` in the last 30 days. One primary-key lookup; an
 * account key that is no user id (an unknown login name) runs the same statement and finds nothing.
 */
export async function isKnownPlace(db: Db, clock: Clock, account: string, network: string): Promise<boolean> {
  const row = await db
    .selectFrom('login_places')
    .select('last_login_at')
    .where('user_id', '=', account)
    .where('network', '=', network)
    .executeTakeFirst()
  return row !== undefined && row.last_login_at > isoAt(clock.now() - PLACE_MEMORY_MS)
}

/** Records a successful login of `userId` from `network`. */
export async function rememberPlace(db: Db, clock: Clock, userId: string, network: string): Promise<void> {
  const now = isoAt(clock.now())
  await db
    .insertInto('login_places')
    .values({ user_id: userId, network, last_login_at: now })
    .onConflict((oc) => oc.columns(['user_id', 'network']).doUpdateSet({ last_login_at: now }))
    .execute()
}

/** Forgets places not logged in from for 30 days (maintenance). Returns how many. */
export async function pruneLoginPlaces(db: Db, clock: Clock): Promise<number> {
  const result = await db
    .deleteFrom('login_places')
    .where('last_login_at', '<=', isoAt(clock.now() - PLACE_MEMORY_MS))
    .executeTakeFirst()
  return Number(result.numDeletedRows)
}
