import type { Db } from '../../platform/storage/database.ts'
import type { Revocations } from '../revocations/revocations.ts'
import { deletePersonalToken } from './store.ts'

/**
 * Deletes one of the user's personal access tokens and records its revocation in the same
 * transaction, so every instance drops it from its cache at once (see `Revocations`). False when
 * the user has no such token.
 */
export async function revokePersonalToken(
  ctx: { db: Db; revocations: Revocations },
  userId: string,
  id: string,
): Promise<boolean> {
  const revocation = { kind: 'pat' as const, value: id }
  const deleted = await ctx.db.transaction().execute(async (trx) => {
    if (!(await deletePersonalToken(trx, userId, id))) return false
    await ctx.revocations.persist(trx, [revocation])
    return true
  })
  if (deleted) await ctx.revocations.announce([revocation])
  return deleted
}
