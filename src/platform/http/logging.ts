import type { FastifyInstance } from 'fastify'
import pino, { type DestinationStream, type Logger } from 'pino'
import type { LogLevel } from '../config/config.ts'

const SECRET_FIELDS = [
  'password',
  'new_password',
  'current_password',
  'password_hash',
  'access_token',
  'refresh_token',
  'token',
]

/**
 * Paths that must never reach a log even if someone logs a whole object by mistake. The access log
 * below writes none of them; this is the second line of defence. Every path is spelled out: a
 * leading wildcard would make pino copy and scan every log object, the access line included
 * (a twentieth of a `GET /health`), while these cost only when their first key is present.
 */
const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  ...SECRET_FIELDS,
  ...['body', 'user', 'data', 'query'].flatMap((holder) =>
    SECRET_FIELDS.map((field) => `${holder}.${field}`),
  ),
]

/** pino's ISO timestamp, formatted once per millisecond rather than once per line. */
function isoTimeOncePerMillisecond(): () => string {
  let millisecond = 0
  let field = ''
  return () => {
    const now = Date.now()
    if (now !== millisecond) {
      millisecond = now
      field = `,"time":"${new Date(now).toISOString()}"`
    }
    return field
  }
}

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
      timestamp: isoTimeOncePerMillisecond(),
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
