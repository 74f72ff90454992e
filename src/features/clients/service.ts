import type { Context } from '../../context.ts'
import { recordAuditEvent, type AuditEventType } from '../../identity/audit/audit-log.ts'
import { CLIENT_ID, newClientId, newClientSecret } from '../../identity/clients/credentials.ts'
import { checkClientJwks } from '../../identity/clients/jwks.ts'
import {
  deleteClient,
  findClient,
  insertClient,
  listClients,
  updateClient,
  type ClientChanges,
  type ClientRecord,
} from '../../identity/clients/store.ts'
import type { Revocation } from '../../identity/revocations/revocations.ts'
import { isoAt } from '../../platform/clock.ts'
import { ValidationError, notFound } from '../../platform/http/errors.ts'
import { decodeCursor, toPage } from '../../platform/http/pagination.ts'
import type { RequestOrigin } from '../../platform/http/request-context.ts'
import type { Db } from '../../platform/storage/database.ts'
import type { ClientPage, ClientView, CreateClientBody, CreatedClient, UpdateClientBody } from './schemas.ts'

type ClientDeps = Pick<Context, 'db' | 'clock' | 'revocations'>

export const toClientView = (client: ClientRecord): ClientView => ({
  client_id: client.id,
  name: client.name,
  scopes: client.scopes,
  token_endpoint_auth_method: client.authMethod,
  ...(client.jwks !== null && { jwks: client.jwks }),
  disabled: client.disabled,
  created_at: client.createdAt,
})

const jwksOnlyForKeyClients = () =>
  new ValidationError([{ field: 'jwks', message: 'is only for token_endpoint_auth_method private_key_jwt' }])

/** Registers a client: the secret methods get a new secret (in this answer only), `private_key_jwt` its keys. */
export async function createClient(
  ctx: Pick<Context, 'db' | 'clock'>,
  actorId: string,
  body: CreateClientBody,
  origin: RequestOrigin,
): Promise<CreatedClient> {
  const usesKeys = body.token_endpoint_auth_method === 'private_key_jwt'
  if (!usesKeys && body.jwks !== undefined) throw jwksOnlyForKeyClients()
  if (usesKeys && body.jwks === undefined)
    throw new ValidationError([{ field: 'jwks', message: 'is required for private_key_jwt' }])
  const jwks = usesKeys ? await checkClientJwks(body.jwks) : null
  const secret = usesKeys ? undefined : newClientSecret()
  const now = isoAt(ctx.clock.now())
  const client: ClientRecord = {
    id: newClientId(),
    name: body.name,
    scopes: body.scopes,
    authMethod: body.token_endpoint_auth_method,
    secretHash: secret?.secretHash ?? null,
    jwks,
    disabled: false,
    createdAt: now,
    updatedAt: now,
  }
  await insertClient(ctx.db, client)
  await audit(ctx, 'client_created', client.id, actorId, origin, {
    name: client.name,
    scopes: client.scopes,
    token_endpoint_auth_method: client.authMethod,
  })
  return { ...toClientView(client), ...(secret && { client_secret: secret.secret }) }
}

/** Oldest first, keyset-paginated. */
export async function listClientPage(
  ctx: Pick<Context, 'db'>,
  limit: number,
  cursor: string | undefined,
): Promise<ClientPage> {
  const after = decodeCursor(cursor, CLIENT_ID)
  const rows = await listClients(ctx.db, { after, limit: limit + 1 })
  const page = toPage(rows, limit, (client) => ({ at: client.createdAt, id: client.id }))
  return { items: page.items.map(toClientView), next_cursor: page.next_cursor }
}

export async function getClient(ctx: Pick<Context, 'db'>, id: string): Promise<ClientView> {
  const client = await findClient(ctx.db, id)
  if (!client) throw notFound('client')
  return toClientView(client)
}

/**
 * Applies an admin's changes. Disabling the client, or taking a scope away, revokes every token it
 * holds — in the transaction of the change, then on every instance at once — since those tokens
 * carry what it may no longer have until they expire. Enabling it again does not bring them back.
 */
export async function updateClientAsAdmin(
  ctx: ClientDeps,
  actorId: string,
  id: string,
  body: UpdateClientBody,
  origin: RequestOrigin,
): Promise<ClientView> {
  const before = await findClient(ctx.db, id)
  if (!before) throw notFound('client')
  if (body.jwks !== undefined && before.authMethod !== 'private_key_jwt') throw jwksOnlyForKeyClients()
  const changes: ClientChanges = {
    name: body.name,
    scopes: body.scopes,
    disabled: body.disabled,
    jwks: body.jwks === undefined ? undefined : await checkClientJwks(body.jwks),
  }
  const disabling = body.disabled === true && !before.disabled
  const narrowing = body.scopes !== undefined && before.scopes.some((scope) => !body.scopes?.includes(scope))
  const after = await changeRevokingTokens(ctx, id, disabling || narrowing, (trx, now) =>
    updateClient(trx, id, changes, now),
  )
  if (!after) throw notFound('client')

  if (disabling) await audit(ctx, 'client_disabled', id, actorId, origin)
  if (before.disabled && !after.disabled) await audit(ctx, 'client_enabled', id, actorId, origin)
  const changed = {
    ...(after.name !== before.name && { name: { from: before.name, to: after.name } }),
    ...(after.scopes.join(' ') !== before.scopes.join(' ') && {
      scopes: { from: before.scopes, to: after.scopes },
    }),
    ...(body.jwks !== undefined && { jwks: { kids: after.jwks?.keys.map((key) => key.kid) ?? [] } }),
  }
  if (Object.keys(changed).length > 0)
    await audit(ctx, 'client_changed', id, actorId, origin, { ...changed, tokens_revoked: narrowing })
  return toClientView(after)
}

/**
 * A new secret; the old one stops working at once (the client is read from the database at every
 * authentication). Tokens already issued stay valid until they expire: disable the client to end
 * them too.
 */
export async function rotateClientSecret(
  ctx: Pick<Context, 'db' | 'clock'>,
  actorId: string,
  id: string,
  origin: RequestOrigin,
): Promise<{ client_secret: string }> {
  const client = await findClient(ctx.db, id)
  if (!client) throw notFound('client')
  if (client.authMethod === 'private_key_jwt')
    throw new ValidationError([
      { field: 'token_endpoint_auth_method', message: 'is private_key_jwt: the client has no secret' },
    ])
  const { secret, secretHash } = newClientSecret()
  if (!(await updateClient(ctx.db, id, { secretHash }, isoAt(ctx.clock.now())))) throw notFound('client')
  await audit(ctx, 'client_secret_rotated', id, actorId, origin)
  return { client_secret: secret }
}

/** Deletes the client; every token it holds stops working at once on every instance. */
export async function deleteClientAsAdmin(
  ctx: ClientDeps,
  actorId: string,
  id: string,
  origin: RequestOrigin,
): Promise<void> {
  const deleted = await changeRevokingTokens(ctx, id, true, async (trx) => deleteClient(trx, id))
  if (!deleted) throw notFound('client')
  await audit(ctx, 'client_deleted', id, actorId, origin)
}

/**
 * Runs `change` and, when `revoke` and it changed something, records in the same transaction that
 * every token the client holds so far is revoked (the `client` record covers tokens issued up to
 * now), then announces it to every instance.
 */
async function changeRevokingTokens<T>(
  ctx: ClientDeps,
  id: string,
  revoke: boolean,
  change: (trx: Db, now: string) => Promise<T>,
): Promise<T> {
  const now = ctx.clock.now()
  const revocation: Revocation = { kind: 'client', value: id, at: now }
  const result = await ctx.db.transaction().execute(async (trx) => {
    const changed = await change(trx, isoAt(now))
    if (revoke && changed) await ctx.revocations.persist(trx, [revocation])
    return changed
  })
  if (revoke && result) await ctx.revocations.announce([revocation])
  return result
}

function audit(
  ctx: Pick<Context, 'db' | 'clock'>,
  type: AuditEventType,
  clientId: string,
  actorId: string,
  origin: RequestOrigin,
  data: Record<string, unknown> = {},
): Promise<void> {
  return recordAuditEvent(ctx.db, ctx.clock, {
    type,
    userId: null,
    origin,
    data: { client_id: clientId, ...data, by: actorId },
  })
}
