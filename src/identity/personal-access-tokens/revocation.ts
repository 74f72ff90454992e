import type { Clock } from '../../platform/clock.ts'
import { type RequestOrigin } from '../../platform/http/request-context.ts'
import type { Db } from '../../platform/storage/database.ts'
import { recordAuditEvent } from '../audit/audit-log.ts'
import type { Revocations } from '../revocations/revocations.ts'
import { deletePersonalToken } from './store.ts'

/**
 * Deletes one of the user's personal access tokens and records its revocation in the same
 * transaction, so every instance drops it from its cache at once (see `Revocations`), then audits
 * it with who did it (`by`: a user id, or `revocation_endpoint` for RFC 7009). False when the user
 * has no such token.
 */
export async function revokePersonalToken(
  ctx: { db: Db; clock: Clock; revocations: Revocations },
  userId: string,
  id: string,
  by: string,
  origin: RequestOrigin,
): Promise<boolean> {
  const revocation = { kind: 'pat' as const, value: id }
  const deleted = await ctx.db.transaction().execute(async (trx) => {
    if (!(await deletePersonalToken(trx, userId, id))) return false
    await ctx.revocations.persist(trx, [revocation])
    return true
  })
  if (!deleted) return false
  await ctx.revocations.announce([revocation])
  await recordAuditEvent(ctx.db, ctx.clock, {
    type: 'personal_token_deleted',
    userId,
    origin,
    data: { token_id: id, by },
  })
  return true
}
