import pino from 'pino'
import type { Static, TSchema } from 'typebox'
import { buildApp } from '../app.ts'
import { closeContext, openContext } from '../compose.ts'
import type { Context } from '../context.ts'
import { updateUserAsAdmin } from '../features/admin/service.ts'
import { listUsers } from '../features/admin/service.ts'
import { CreateClientBody, UpdateClientBody } from '../features/clients/schemas.ts'
import {
  createClient,
  deleteClientAsAdmin,
  listClientPage,
  rotateClientSecret,
  updateClientAsAdmin,
} from '../features/clients/service.ts'
import { recordAuditEvent } from '../identity/audit/audit-log.ts'
import { CLIENT_ID } from '../identity/clients/credentials.ts'
import { revokeSigningKey } from '../identity/signing-keys/revocation.ts'
import { isKnownRole } from '../identity/tokens/scopes.ts'
import { createAccount } from '../identity/users/accounts.ts'
import type { User } from '../identity/users/schemas.ts'
import { findUserByEmail, findUserById, toUser } from '../identity/users/store.ts'
import { migrateToLatest } from '../migrations.ts'
import { loadConfig, type Config } from '../platform/config/config.ts'
import { AppError } from '../platform/http/errors.ts'
import { MAX_PAGE_SIZE } from '../platform/http/pagination.ts'
import { createLogger } from '../platform/http/logging.ts'
import { type RequestOrigin } from '../platform/http/request-context.ts'
import { checkBody } from '../platform/http/validation.ts'
import { openDatabase } from '../platform/storage/database.ts'
import { startServer, stopOnSignals } from '../server.ts'

/** What a command writes; tests and the entry point give it real streams. */
export interface Output {
  out(text: string): void
}

/** A failure the user can fix, reported as one line and exit code 1. */
export class CommandError extends Error {}

/** What a command does is audited as done by `cli`, from no client address. */
const CLI_ORIGIN: RequestOrigin = { ip: null, userAgent: 'gatehouse-cli', requestId: undefined }

/** The context of one command: logs (warnings only) go to stderr, never into the command's output. */
async function withContext<T>(config: Config, run: (ctx: Context) => Promise<T>): Promise<T> {
  const ctx = await openContext(config, { logger: createLogger('warn', pino.destination(2)) })
  try {
    return await run(ctx)
  } finally {
    await closeContext(ctx)
  }
}

/** Turns the contract's errors into the CLI's: the message, without the HTTP trappings. */
function explain(error: unknown): never {
  if (error instanceof AppError) {
    const details = error.details?.map((d) => `${d.field} ${d.message}`).join('; ')
    throw new CommandError(details ?? error.message)
  }
  throw error
}

async function findUser(ctx: Context, idOrEmail: string): Promise<User> {
  const row = idOrEmail.includes('@')
    ? await findUserByEmail(ctx.db, idOrEmail)
    : await findUserById(ctx.db, idOrEmail)
  if (!row) throw new CommandError(`no user ${idOrEmail}`)
  return toUser(row)
}

type Cell = string | number | boolean | null | undefined | readonly string[]

function table(rows: Record<string, Cell>[], columns: string[]): string {
  const cell = (value: Cell) =>
    value === null || value === undefined ? '-' : Array.isArray(value) ? value.join(',') : String(value)
  const widths = columns.map((column) =>
    Math.max(column.length, ...rows.map((row) => cell(row[column]).length)),
  )
  const line = (values: string[]) =>
    values
      .map((value, i) => value.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd()
  return (
    [line(columns), ...rows.map((row) => line(columns.map((column) => cell(row[column]))))].join('\n') + '\n'
  )
}

/** Every account has the `user` role; `--role` adds to it. */
function rolesFrom(roles: string[] | undefined): string[] {
  const names = (roles ?? [])
    .flatMap((role) => role.split(','))
    .map((role) => role.trim())
    .filter((role) => role !== '')
  return [...new Set(['user', ...names])]
}

export async function serve(config: Config): Promise<void> {
  const server = await startServer(config)
  stopOnSignals(server)
  server.ctx.logger.info({ url: server.url, database: config.database.kind }, 'gatehouse listening')
  // Open metrics are a choice (a scraper on a private network), not refused; but said at every start.
  if (config.production && config.metricsToken === undefined) {
    server.ctx.logger.warn(
      'METRICS_TOKEN is not set: /metrics is open to anyone who can reach the port; set it, or keep /metrics off the public network',
    )
  }
}

export async function migrate(config: Config, output: Output): Promise<void> {
  const db = openDatabase(config.database)
  try {
    const applied = await migrateToLatest(db)
    output.out(applied.length > 0 ? `applied: ${applied.join(', ')}\n` : 'database is up to date\n')
  } finally {
    await db.destroy()
  }
}

export async function usersCreate(
  config: Config,
  output: Output,
  options: { email: string; password: string; role?: string[]; username?: string; fullName?: string },
): Promise<void> {
  await withContext(config, async (ctx) => {
    const roles = rolesFrom(options.role)
    const unknown = roles.filter((role) => !isKnownRole(config.roleScopes, role))
    if (unknown.length > 0)
      throw new CommandError(
        `unknown role ${unknown.join(', ')}; known: ${Object.keys(config.roleScopes).join(', ')}`,
      )
    const user = await createAccount(ctx, {
      email: options.email,
      password: options.password,
      username: options.username,
      fullName: options.fullName,
      roles,
    }).catch(explain)
    await recordAuditEvent(ctx.db, ctx.clock, {
      type: 'user_created',
      userId: user.id,
      origin: CLI_ORIGIN,
      data: { roles: user.roles, by: 'cli' },
    })
    output.out(`created ${user.id} ${user.email} (${user.roles.join(', ')})\n`)
  })
}

export async function usersList(
  config: Config,
  output: Output,
  options: { q?: string; limit: number; json: boolean },
): Promise<void> {
  await withContext(config, async (ctx) => {
    const { items } = await listUsers(ctx, options.q, options.limit, undefined)
    output.out(
      options.json
        ? `${JSON.stringify(items, null, 2)}\n`
        : table(items, ['id', 'email', 'username', 'roles', 'disabled', 'created_at']),
    )
  })
}

export async function usersSetRole(
  config: Config,
  output: Output,
  user: string,
  roles: string[],
): Promise<void> {
  await withContext(config, async (ctx) => {
    const target = await findUser(ctx, user)
    const updated = await updateUserAsAdmin(
      ctx,
      'cli',
      target.id,
      { roles: rolesFrom(roles) },
      CLI_ORIGIN,
    ).catch(explain)
    output.out(`${updated.email}: ${updated.roles.join(', ')}\n`)
  })
}

export async function usersSetDisabled(
  config: Config,
  output: Output,
  user: string,
  disabled: boolean,
): Promise<void> {
  await withContext(config, async (ctx) => {
    const target = await findUser(ctx, user)
    const updated = await updateUserAsAdmin(ctx, 'cli', target.id, { disabled }, CLI_ORIGIN).catch(explain)
    output.out(`${updated.email}: ${updated.disabled ? 'disabled, every session ended' : 'enabled'}\n`)
  })
}

export async function keysList(config: Config, output: Output, options: { json: boolean }): Promise<void> {
  await withContext(config, async (ctx) => {
    const keys = await ctx.signingKeys.list()
    output.out(
      options.json
        ? `${JSON.stringify(keys, null, 2)}\n`
        : table(
            keys.map((key) => ({ ...key })),
            ['kid', 'alg', 'status', 'created_at', 'retired_at'],
          ),
    )
  })
}

export async function keysRotate(config: Config, output: Output): Promise<void> {
  if (config.jwt.algorithm === 'HS256')
    throw new CommandError('JWT_ALG is HS256: rotate by changing JWT_SECRET')
  await withContext(config, async (ctx) => {
    const kid = await ctx.signingKeys.rotate()
    await recordAuditEvent(ctx.db, ctx.clock, {
      type: 'signing_key_rotated',
      userId: null,
      origin: CLI_ORIGIN,
      data: { kid, by: 'cli' },
    })
    output.out(`signing with ${kid}; the previous key stays in the JWKS until its tokens have expired\n`)
  })
}

export async function keysRevoke(config: Config, output: Output, kid: string): Promise<void> {
  if (config.jwt.algorithm === 'HS256')
    throw new CommandError('JWT_ALG is HS256: there is no key to revoke; change JWT_SECRET instead')
  await withContext(config, async (ctx) => {
    const result = await revokeSigningKey(ctx, kid, CLI_ORIGIN, 'cli')
    if (result.outcome === 'unknown') throw new CommandError(`no key ${kid} (see: gatehouse keys list)`)
    if (result.outcome === 'already revoked') throw new CommandError(`${kid} is already revoked`)
    output.out(
      `revoked ${kid}: every instance stops accepting its tokens and drops it from the JWKS within seconds; signing with ${result.signingKid}\n`,
    )
  })
}

/** Registers a client as `POST /admin/clients` does; the secret is printed this once. */
export async function clientsCreate(
  config: Config,
  output: Output,
  options: { name: string; scopes: string[]; method: string; jwks?: unknown; json: boolean },
): Promise<void> {
  await withContext(config, async (ctx) => {
    const body = checkedClientBody(CreateClientBody, {
      name: options.name,
      scopes: options.scopes,
      token_endpoint_auth_method: options.method,
      ...(options.jwks !== undefined && { jwks: options.jwks }),
    })
    const created = await createClient(ctx, 'cli', body, CLI_ORIGIN).catch(explain)
    if (options.json) {
      output.out(`${JSON.stringify(created, null, 2)}\n`)
      return
    }
    output.out(
      `created ${created.client_id} (${created.name}), ${created.token_endpoint_auth_method}, scopes: ${created.scopes.join(' ') || '-'}\n`,
    )
    if (created.client_secret !== undefined)
      output.out(`client_secret: ${created.client_secret}\nStore it now: it is not shown again.\n`)
  })
}

export async function clientsList(config: Config, output: Output, options: { json: boolean }): Promise<void> {
  await withContext(config, async (ctx) => {
    const clients = []
    let cursor: string | undefined
    do {
      const page = await listClientPage(ctx, MAX_PAGE_SIZE, cursor)
      clients.push(...page.items)
      cursor = page.next_cursor ?? undefined
    } while (cursor !== undefined)
    output.out(
      options.json
        ? `${JSON.stringify(clients, null, 2)}\n`
        : table(
            clients.map((client) => ({
              client_id: client.client_id,
              name: client.name,
              method: client.token_endpoint_auth_method,
              scopes: client.scopes,
              disabled: client.disabled,
              created_at: client.created_at,
            })),
            ['client_id', 'name', 'method', 'scopes', 'disabled', 'created_at'],
          ),
    )
  })
}

export async function clientsRotateSecret(config: Config, output: Output, id: string): Promise<void> {
  await withContext(config, async (ctx) => {
    const { client_secret: secret } = await rotateClientSecret(
      ctx,
      'cli',
      checkedClientId(id),
      CLI_ORIGIN,
    ).catch(explain)
    output.out(
      `client_secret: ${secret}\nThe previous secret no longer works. Store this one now: it is not shown again.\n`,
    )
  })
}

export async function clientsSetDisabled(
  config: Config,
  output: Output,
  id: string,
  disabled: boolean,
): Promise<void> {
  await withContext(config, async (ctx) => {
    const body = checkedClientBody(UpdateClientBody, { disabled })
    const client = await updateClientAsAdmin(ctx, 'cli', checkedClientId(id), body, CLI_ORIGIN).catch(explain)
    output.out(
      `${client.client_id}: ${client.disabled ? 'disabled, every token of it revoked' : 'enabled'}\n`,
    )
  })
}

export async function clientsDelete(config: Config, output: Output, id: string): Promise<void> {
  await withContext(config, async (ctx) => {
    await deleteClientAsAdmin(ctx, 'cli', checkedClientId(id), CLI_ORIGIN).catch(explain)
    output.out(`deleted ${id}: every token of it revoked\n`)
  })
}

/** The route's own schema checks what the command line gave. */
function checkedClientBody<S extends TSchema>(schema: S, body: object): Static<S> {
  try {
    return checkBody(schema, body)
  } catch (error) {
    return explain(error)
  }
}

function checkedClientId(id: string): string {
  if (!CLIENT_ID.test(id)) throw new CommandError(`${id} is not a client id (client_ and 22 characters)`)
  return id
}

/** Builds the app on a throwaway in-memory database: the document does not depend on data. */
export async function openapi(
  env: Readonly<Record<string, string | undefined>>,
  output: Output,
): Promise<void> {
  const config = loadConfig({
    ...env,
    DATABASE_URL: 'sqlite::memory:',
    REDIS_URL: undefined,
    ADMIN_EMAIL: undefined,
    ADMIN_PASSWORD: undefined,
  })
  await withContext(config, async (ctx) => {
    const app = await buildApp(ctx)
    await app.ready()
    output.out(`${JSON.stringify(app.swagger(), null, 2)}\n`)
    await app.close()
  })
}
