import { randomUUID } from 'node:crypto'
import { isoAt, type Clock } from '../clock.ts'
import type { Db } from '../storage/database.ts'

export const AUDIT_EVENT_TYPES = [
  'signup',
  'login_succeeded',
  'login_failed',
  'refresh_reuse_detected',
  'logout',
  'sessions_ended',
] as const
export type AuditEventType = (typeof AUDIT_EVENT_TYPES)[number]

/** Where a request came from: what every audit event records besides its own data. */
export interface RequestOrigin {
  ip: string
  userAgent: string | undefined
  requestId: string | undefined
}

export interface AuditEvent {
  type: AuditEventType
  userId: string | null
  origin: RequestOrigin
  /** Event-specific facts. Never a password, token or hash. */
  data?: Record<string, unknown>
}

/** Appends a security event. Written in the request, so an acknowledged action is always on record. */
export async function recordAuditEvent(db: Db, clock: Clock, event: AuditEvent): Promise<void> {
  await db
    .insertInto('audit_events')
    .values({
      id: randomUUID(),
      type: event.type,
      user_id: event.userId,
      ip: event.origin.ip.slice(0, 64),
      user_agent: event.origin.userAgent?.slice(0, 512) ?? null,
      request_id: event.origin.requestId ?? null,
      at: isoAt(clock.now()),
      data: JSON.stringify(event.data ?? {}),
    })
    .execute()
}
