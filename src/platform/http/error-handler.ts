import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { isDatabaseUnavailable } from '../storage/database.ts'
import { AppError, OAuthError, ValidationError, oauthErrorCodeOf, type ErrorCode } from './errors.ts'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Answer errors in RFC 6749 §5.2 form (`{error, error_description}`) instead of the envelope. */
    oauthErrors?: boolean
  }
}

/** Fastify's own failures, by their code, in the contract's terms. */
const FASTIFY_ERRORS: Record<string, [ErrorCode, string]> = {
  FST_ERR_CTP_BODY_TOO_LARGE: ['PAYLOAD_TOO_LARGE', 'The request body is larger than this route accepts.'],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: ['UNSUPPORTED_MEDIA_TYPE', 'The Content-Type is not supported here.'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: ['MALFORMED_REQUEST', 'The Content-Length does not match the body.'],
  FST_ERR_CTP_EMPTY_JSON_BODY: ['MALFORMED_REQUEST', 'The body is empty but the Content-Type says JSON.'],
  FST_ERR_CTP_INVALID_JSON_BODY: ['MALFORMED_REQUEST', 'The body is not valid JSON.'],
}

const STATUS_FALLBACK: Record<number, [ErrorCode, string]> = {
  400: ['MALFORMED_REQUEST', 'The request could not be parsed.'],
  404: ['NOT_FOUND', 'The resource was not found.'],
  413: ['PAYLOAD_TOO_LARGE', 'The request body is larger than this route accepts.'],
  415: ['UNSUPPORTED_MEDIA_TYPE', 'The Content-Type is not supported here.'],
}

/** Any thrown value, as the AppError the client will see. Unknown failures become a bare 500. */
export function toAppError(error: unknown): AppError {
  if (error instanceof AppError) return error
  const fastifyError = error as Partial<FastifyError>
  if (Array.isArray(fastifyError.validation)) {
    return new ValidationError(
      fastifyError.validation.map((issue) => ({
        field: issue.instancePath.split('/').slice(1).join('.') || 'body',
        message: issue.message ?? 'is invalid',
      })),
    )
  }
  const known =
    // Own keys only: any library's error may carry a `code`, even one like "constructor".
    (fastifyError.code !== undefined && Object.hasOwn(FASTIFY_ERRORS, fastifyError.code)
      ? FASTIFY_ERRORS[fastifyError.code]
      : undefined) ??
    (fastifyError.statusCode !== undefined ? STATUS_FALLBACK[fastifyError.statusCode] : undefined)
  if (known) return new AppError(known[0], known[1], { cause: error })
  if (isDatabaseUnavailable(error)) {
    return new AppError('UNAVAILABLE', 'The service is temporarily unavailable; try again shortly.', {
      cause: error,
      headers: { 'retry-after': '5' },
    })
  }
  return new AppError('INTERNAL_ERROR', 'Something went wrong on our side.', { cause: error })
}

function send(request: FastifyRequest, reply: FastifyReply, error: AppError): FastifyReply {
  if (request.routeOptions.config.oauthErrors === true) {
    // RFC 6749 §5.2: errors are 400 unless client authentication failed (an OAuthError says so);
    // keep 429/5xx meaningful. Only `invalid_client` after Basic carries a challenge (its own).
    const oauth = error instanceof OAuthError
    const status =
      oauth || error.status >= 429 || error.status === 413 || error.status === 415 ? error.status : 400
    void reply.headers({ ...error.headers, 'cache-control': 'no-store' })
    const oauthCode = oauth ? error.oauthCode : oauthErrorCodeOf(error.code)
    return reply.code(status).send({ error: oauthCode, error_description: error.message })
  }
  // RFC 6750 §3: every 401 names the scheme; token errors add their own error attribute.
  void reply.headers(
    error.status === 401 ? { 'www-authenticate': 'Bearer', ...error.headers } : error.headers,
  )
  return reply.code(error.status).send({
    error: {
      code: error.code,
      message: error.message,
      request_id: request.id,
      ...(error.details ? { details: error.details } : {}),
    },
  })
}

/** The one place where errors — ours and Fastify's — become responses. */
export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error, request, reply) => {
    const appError = toAppError(error)
    if (appError.status >= 500) {
      request.log.error({ err: appError.cause ?? appError, code: appError.code }, 'request failed')
    }
    return send(request, reply, appError)
  })
  app.setNotFoundHandler((request, reply) =>
    send(request, reply, new AppError('NOT_FOUND', 'No route matches this method and path.')),
  )
}
