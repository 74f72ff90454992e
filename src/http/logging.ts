import pino, { type DestinationStream, type Logger } from 'pino'
import type { FastifyInstance } from 'fastify'
import type { LogLevel } from '../config/config.ts'

/**
 * Paths that must never reach a log even if someone logs a whole object by mistake. The access log
 * below writes none of them; this is the second line of defence.
 */
const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  '*.password',
  '*.new_password',
  '*.current_password',
  '*.password_hash',
  '*.access_token',
  '*.refresh_token',
  '*.token',
  'headers.authorization',
  'headers.cookie',
]

/** Errors are logged by type, code and message only: no stack traces, no SQL. */
function serializeError(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { message: String(error) }
  const code = (error as { code?: unknown }).code
  return {
    type: error.name,
    message: error.message,
    ...(code === undefined ? {} : { code }),
    ...(error.cause === undefined ? {} : { cause: serializeError(error.cause) }),
  }
}

export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'gatehouse' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      serializers: { err: serializeError, error: serializeError },
    },
    destination,
  )
}

/** One access line per request: method, route, path without query string, status, duration. */
export function registerAccessLog(app: FastifyInstance): void {
  app.addHook('onResponse', (request, reply, done) => {
    request.log.info(
      {
        method: request.method,
        route: request.routeOptions.url ?? null,
        path: request.url.split('?', 1)[0],
        status: reply.statusCode,
        duration_ms: Math.round(reply.elapsedTime * 100) / 100,
      },
      'request',
    )
    done()
  })
}
