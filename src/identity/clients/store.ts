import type { JSONWebKeySet } from 'jose'
import type { Position } from '../../platform/http/pagination.ts'
import type { Db } from '../../platform/storage/database.ts'
import type { ClientAuthMethod, ClientsTable } from '../../platform/storage/schema.ts'

export type { ClientAuthMethod }

/* The one place with SQL on `clients` and `client_assertions`. */

export interface ClientRecord {
  id: string
  name: string
  scopes: string[]
  authMethod: ClientAuthMethod
  /** `hashOpaqueToken` of the secret (secret methods only). */
  secretHash: string | null
  /** The registered public keys (`private_key_jwt` only). */
  jwks: JSONWebKeySet | null
  disabled: boolean
  createdAt: string
  updatedAt: string
}

const toClient = (row: ClientsTable): ClientRecord => ({
  id: row.id,
  name: row.name,
  scopes: row.scopes.split(' ').filter((scope) => scope !== ''),
  authMethod: row.auth_method,
  secretHash: row.secret_hash,
  jwks: row.jwks === null ? null : (JSON.parse(row.jwks) as JSONWebKeySet),
  disabled: row.disabled === 1,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
})

export async function insertClient(db: Db, client: ClientRecord): Promise<void> {
  await db
    .insertInto('clients')
    .values({
      id: client.id,
      name: client.name,
      scopes: client.scopes.join(' '),
      auth_method: client.authMethod,
      secret_hash: client.secretHash,
      jwks: client.jwks === null ? null : JSON.stringify(client.jwks),
      disabled: client.disabled ? 1 : 0,
      created_at: client.createdAt,
      updated_at: client.updatedAt,
    })
    .execute()
}

export async function findClient(db: Db, id: string): Promise<ClientRecord | undefined> {
  const row = await db.selectFrom('clients').selectAll().where('id', '=', id).executeTakeFirst()
  return row && toClient(row)
}

/** Oldest first, keyset-paginated by (created_at, id). */
export async function listClients(
  db: Db,
  page: { after: Position | undefined; limit: number },
): Promise<ClientRecord[]> {
  const { after } = page
  const rows = await db
    .selectFrom('clients')
    .selectAll()
    .$if(after !== undefined, (qb) =>
      qb.where((eb) =>
        eb.or([
          eb('created_at', '>', after?.at ?? ''),
          eb.and([eb('created_at', '=', after?.at ?? ''), eb('id', '>', after?.id ?? '')]),
        ]),
      ),
    )
    .orderBy('created_at')
    .orderBy('id')
    .limit(page.limit)
    .execute()
  return rows.map(toClient)
}

export interface ClientChanges {
  name?: string | undefined
  scopes?: string[] | undefined
  disabled?: boolean | undefined
  jwks?: JSONWebKeySet | undefined
  secretHash?: string | undefined
}

/** Applies the changes given; the updated client, or nothing when there is no such client. */
export async function updateClient(
  db: Db,
  id: string,
  changes: ClientChanges,
  now: string,
): Promise<ClientRecord | undefined> {
  const row = await db
    .updateTable('clients')
    .set({
      updated_at: now,
      ...(changes.name !== undefined && { name: changes.name }),
      ...(changes.scopes !== undefined && { scopes: changes.scopes.join(' ') }),
      ...(changes.disabled !== undefined && { disabled: changes.disabled ? 1 : 0 }),
      ...(changes.jwks !== undefined && { jwks: JSON.stringify(changes.jwks) }),
      ...(changes.secretHash !== undefined && { secret_hash: changes.secretHash }),
    })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst()
  return row && toClient(row)
}

export async function deleteClient(db: Db, id: string): Promise<boolean> {
  const result = await db.deleteFrom('clients').where('id', '=', id).executeTakeFirst()
  return result.numDeletedRows > 0n
}

/**
 * Records that a client assertion's `jti` was used, until the assertion expires. False when it was
 * used before: the primary key makes the check and the write one atomic statement on every instance.
 */
export async function useAssertionId(
  db: Db,
  clientId: string,
  jti: string,
  expiresAt: string,
): Promise<boolean> {
  const result = await db
    .insertInto('client_assertions')
    .values({ client_id: clientId, jti, expires_at: expiresAt })
    .onConflict((oc) => oc.columns(['client_id', 'jti']).doNothing())
    .executeTakeFirst()
  return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0
}

/** Forgets the `jti`s of expired assertions (they are refused by `exp` anyway); returns how many. */
export async function pruneUsedAssertionIds(db: Db, now: string): Promise<number> {
  const result = await db.deleteFrom('client_assertions').where('expires_at', '<', now).executeTakeFirst()
  return Number(result.numDeletedRows)
}
