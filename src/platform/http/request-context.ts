import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import type { FastifyBaseLogger, FastifyRequest } from 'fastify'
import type { Logger } from 'pino'

/** Where a request came from: what every audit event records besides its own data. */
export interface RequestOrigin {
  /** None for what the CLI or start-up does: they act for no client. */
  ip: string | null
  userAgent: string | undefined
  requestId: string | undefined
  /** Ours, when `requestId` is the client's own `X-Request-ID` (recorded as `data.server_request_id`). */
  serverRequestId?: string | undefined
}

const CLIENT_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

/**
 * The id of our own for a request whose client chose its `X-Request-ID`: anyone can send the id
 * of someone else's request, so an audit trail cannot rely on the client's alone.
 */
const serverRequestIds = new WeakMap<IncomingMessage, string>()

/** A client's `X-Request-ID` is kept when it is safe to echo and log; otherwise a fresh one. */
export function requestIdFor(req: IncomingMessage): string {
  const sent = req.headers['x-request-id']
  if (typeof sent !== 'string' || !CLIENT_REQUEST_ID.test(sent)) return randomUUID()
  serverRequestIds.set(req, randomUUID())
  return sent
}

/** Adds bindings (e.g. the user id) to every later log line of the request. */
export function bindToCurrentRequest(
  request: { log: FastifyBaseLogger },
  bindings: Record<string, unknown>,
): void {
  // Fastify gives every request its own child logger: bind in place rather than make another.
  // (Fastify's logger is pino, whose loggers have setBindings; Fastify's type does not say so.)
  ;(request.log as unknown as Pick<Logger, 'setBindings'>).setBindings(bindings)
}

/** Who sent a request, as sessions and audit events record it. */
export function originOf(request: FastifyRequest): RequestOrigin {
  return {
    ip: request.ip,
    userAgent: request.headers['user-agent'],
    requestId: request.id,
    serverRequestId: serverRequestIds.get(request.raw),
  }
}
