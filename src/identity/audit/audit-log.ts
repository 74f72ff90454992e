import { randomUUID } from 'node:crypto'
import { isoAt, type Clock } from '../../platform/clock.ts'
import { decodeCursor, toPage } from '../../platform/http/pagination.ts'
import { type RequestOrigin } from '../../platform/http/request-context.ts'
import type { Db } from '../../platform/storage/database.ts'
import { preparedQuery } from '../../platform/storage/prepared.ts'

export const AUDIT_EVENT_TYPES = [
  'signup',
  'user_created',
  'login_succeeded',
  'login_failed',
  'login_throttled',
  'refresh_reuse_detected',
  'logout',
  'sessions_ended',
  'password_changed',
  'password_change_failed',
  'password_reset_requested',
  'password_reset',
  'email_verification_requested',
  'email_verified',
  'profile_changed',
  'role_changed',
  'user_disabled',
  'user_enabled',
  'user_deleted',
  'signing_key_rotated',
  'key_revoked',
  'personal_token_created',
  'personal_token_deleted',
  'client_created',
  'client_changed',
  'client_disabled',
  'client_enabled',
  'client_secret_rotated',
  'client_deleted',
] as const
export type AuditEventType = (typeof AUDIT_EVENT_TYPES)[number]

export interface AuditEvent {
  type: AuditEventType
  userId: string | null
  origin: RequestOrigin
  /** Event-specific facts. Never a password, token or hash. */
  data?: Record<string, unknown>
}

export interface AuditEntry {
  id: string
  type: string
  user_id: string | null
  ip: string | null
  request_id: string | null
  at: string
  data: Record<string, unknown>
}

/** Newest first, keyset-paginated on (at, id), optionally for one user and/or one type. */
export async function listAuditEvents(
  db: Db,
  filter: { userId?: string | undefined; type?: string | undefined },
  limit: number,
  cursor: string | undefined,
): Promise<{ items: AuditEntry[]; next_cursor: string | null }> {
  const after = decodeCursor(cursor)
  let query = db
    .selectFrom('audit_events')
    .select(['id', 'type', 'user_id', 'ip', 'request_id', 'at', 'data'])
  if (filter.userId !== undefined) query = query.where('user_id', '=', filter.userId)
  if (filter.type !== undefined) query = query.where('type', '=', filter.type)
  if (after) {
    query = query.where((eb) =>
      eb.or([eb('at', '<', after.at), eb.and([eb('at', '=', after.at), eb('id', '<', after.id)])]),
    )
  }
  const rows = await query
    .orderBy('at', 'desc')
    .orderBy('id', 'desc')
    .limit(limit + 1)
    .execute()
  const page = toPage(rows, limit, (row) => ({ at: row.at, id: row.id }))
  return {
    items: page.items.map((row) => ({ ...row, data: JSON.parse(row.data) as Record<string, unknown> })),
    next_cursor: page.next_cursor,
  }
}

/** Deletes events older than the retention; returns how many. */
export async function pruneAuditEvents(db: Db, clock: Clock, retentionSeconds: number): Promise<number> {
  const result = await db
    .deleteFrom('audit_events')
    .where('at', '<', isoAt(clock.now() - retentionSeconds * 1000))
    .executeTakeFirst()
  return Number(result.numDeletedRows)
}

// Every login writes one: built once (see preparedQuery).
const insertAuditEvent = preparedQuery(
  (
    db,
    row: {
      id: string
      type: string
      user_id: string | null
      ip: string | null
      user_agent: string | null
      request_id: string | null
      at: string
      data: string
    },
  ) => db.insertInto('audit_events').values(row),
)

/** Appends a security event. Written in the request, so an acknowledged action is always on record. */
export async function recordAuditEvent(db: Db, clock: Clock, event: AuditEvent): Promise<void> {
  await insertAuditEvent(db, {
    id: randomUUID(),
    type: event.type,
    user_id: event.userId,
    ip: event.origin.ip?.slice(0, 64) ?? null,
    user_agent: event.origin.userAgent?.slice(0, 512) ?? null,
    request_id: event.origin.requestId ?? null,
    at: isoAt(clock.now()),
    data: JSON.stringify(
      event.origin.serverRequestId === undefined
        ? (event.data ?? {})
        : { ...event.data, server_request_id: event.origin.serverRequestId },
    ),
  })
}

/** How many events of `type` were recorded after `since` (an ISO time). */
export async function countAuditEvents(db: Db, type: AuditEventType, since: string): Promise<number> {
  const row = await db
    .selectFrom('audit_events')
    .select((eb) => eb.fn.countAll().as('count'))
    .where('type', '=', type)
    .where('at', '>', since)
    .executeTakeFirst()
  return Number(row?.count ?? 0)
}
