import { AsyncLocalStorage } from 'node:async_hooks'
import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import type { FastifyBaseLogger, FastifyInstance, FastifyRequest } from 'fastify'
import type { Logger } from 'pino'
import type { RequestOrigin } from '../audit/audit-log.ts'

interface RequestContext {
  log: FastifyBaseLogger
}

const storage = new AsyncLocalStorage<RequestContext>()
const CLIENT_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

/** A client's `X-Request-ID` is kept when it is safe to echo and log; otherwise a fresh one. */
export function requestIdFor(req: IncomingMessage): string {
  const sent = req.headers['x-request-id']
  return typeof sent === 'string' && CLIENT_REQUEST_ID.test(sent) ? sent : randomUUID()
}

/**
 * The logger of the request being handled — carrying its request id and, once authenticated, the
 * user id — or `fallback` outside a request. Lets code deep in a call log without a logger argument.
 */
export function currentLog(fallback: FastifyBaseLogger): FastifyBaseLogger {
  return storage.getStore()?.log ?? fallback
}

/** Adds bindings (e.g. the user id) to every later log line of the current request. */
export function bindToCurrentRequest(
  request: { log: FastifyBaseLogger },
  bindings: Record<string, unknown>,
): void {
  // Fastify gives every request its own child logger: bind in place rather than make another.
  // (Fastify's logger is pino, whose loggers have setBindings; Fastify's type does not say so.)
  ;(request.log as unknown as Pick<Logger, 'setBindings'>).setBindings(bindings)
}

/**
 * Runs each request's hooks and handler inside its own async context. The context is entered again
 * after the body is parsed, because body parsing resumes from the socket's context, not ours.
 */
export function registerRequestContext(app: FastifyInstance): void {
  app.addHook('onRequest', (request, reply, done) => {
    void reply.header('x-request-id', request.id)
    storage.run({ log: request.log }, done)
  })
  app.addHook('preValidation', (request, _reply, done) => {
    storage.run(storage.getStore() ?? { log: request.log }, done)
  })
}

/** Who sent a request, as sessions and audit events record it. */
export function originOf(request: FastifyRequest): RequestOrigin {
  return { ip: request.ip, userAgent: request.headers['user-agent'], requestId: request.id }
}
