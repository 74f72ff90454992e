import type { Clock } from '../../platform/clock.ts'
import { type RequestOrigin } from '../../platform/http/request-context.ts'
import type { Db } from '../../platform/storage/database.ts'
import { recordAuditEvent } from '../audit/audit-log.ts'
import type { Revocation, Revocations } from '../revocations/revocations.ts'
import type { KeyRevocation, KeyStore } from './key-store.ts'

/**
 * `gatehouse keys revoke`: the key stops verifying here at once and on every other instance as soon
 * as it reads the revocation record or hears it on the channel (within the reconcile interval), and
 * leaves the JWKS with it. Audited as `key_revoked`.
 */
export async function revokeSigningKey(
  ctx: { db: Db; clock: Clock; signingKeys: KeyStore; revocations: Revocations },
  kid: string,
  origin: RequestOrigin,
  by: string,
): Promise<KeyRevocation> {
  const { db, clock, signingKeys, revocations } = ctx
  const revocation: Revocation = { kind: 'kid', value: kid }
  const result = await signingKeys.revoke(kid, (trx) => revocations.persist(trx, [revocation]))
  if (result.outcome !== 'revoked') return result
  await revocations.announce([revocation])
  await recordAuditEvent(db, clock, {
    type: 'key_revoked',
    userId: null,
    origin,
    data: { kid, signing_kid: result.signingKid, by },
  })
  return result
}
