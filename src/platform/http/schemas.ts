import { Type, type TSchema } from 'typebox'
import { ERROR_CODES, ERROR_STATUS, type ErrorCode } from './errors.ts'

export const ErrorEnvelope = Type.Object(
  {
    error: Type.Object({
      code: Type.Unsafe<ErrorCode>({
        type: 'string',
        enum: ERROR_CODES,
        description: 'Stable, machine-readable code; switch on this.',
      }),
      message: Type.String({ description: 'Human-readable sentence; may change.' }),
      request_id: Type.String({ description: 'Same as the X-Request-ID response header.' }),
      details: Type.Optional(
        Type.Array(Type.Object({ field: Type.String(), message: Type.String() }), {
          description: 'One entry per invalid field (validation errors).',
        }),
      ),
    }),
  },
  { $id: 'ErrorEnvelope', title: 'Error' },
)

const ERROR_REF = 'ErrorEnvelope#'
const errorRef = Type.Unsafe<unknown>({ $ref: ERROR_REF })

/**
 * Response schemas for the error statuses a route can return, keyed by status, described by the
 * codes they carry. Every route also gets 400/413/415/500 from the shared list.
 */
export function errorResponses(...codes: ErrorCode[]): Record<number, TSchema> {
  return Object.fromEntries([...byStatus(codes)].map(([status, list]) => [status, errorResponse(list)]))
}

/**
 * A route's `response` schemas with `codes` added, as something installed on the route (a guard,
 * a limit) declares them: ahead of the codes the route names itself under the same status.
 */
export function withErrorResponses(response: unknown, codes: ErrorCode[]): Record<string, unknown> {
  const declared = (response ?? {}) as Record<string, { $ref?: unknown; description?: unknown } | undefined>
  const merged: Record<string, unknown> = { ...declared }
  for (const [status, list] of byStatus(codes)) {
    const own = declared[status]
    if (own === undefined) merged[status] = errorResponse(list)
    else if (own.$ref === ERROR_REF && typeof own.description === 'string')
      merged[status] = errorResponse([...new Set([...list, ...own.description.split(', ')])])
  }
  return merged
}

/** The codes by status; every route can fail with INTERNAL_ERROR. */
function byStatus(codes: ErrorCode[]): Map<number, ErrorCode[]> {
  const grouped = new Map<number, ErrorCode[]>()
  for (const code of [...codes, 'INTERNAL_ERROR' as const]) {
    const status = ERROR_STATUS[code]
    grouped.set(status, [...(grouped.get(status) ?? []), code])
  }
  return grouped
}

/** The envelope, described by the codes a status carries (the description is the list). */
const errorResponse = (codes: readonly string[]): TSchema => ({ ...errorRef, description: codes.join(', ') })

/**
 * The route-level body limit of every route whose body is a few short fields (its largest, a todo's
 * 500-character title, is under 6 KiB even written as `\uXXXX` escapes). Less to read and parse for
 * a body that could never be valid; the app-wide limit stays the contract's 64 KiB.
 */
export const SMALL_BODY_LIMIT_BYTES = 16 * 1024

export const BODY_ERRORS: ErrorCode[] = [
  'MALFORMED_REQUEST',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
  'VALIDATION_ERROR',
]
export const BEARER_ERRORS: ErrorCode[] = ['AUTH_REQUIRED', 'INVALID_TOKEN', 'TOKEN_EXPIRED']

/** `204` with no body. */
export const NO_CONTENT = { 204: Type.Null({ description: 'Done.' }) }

/** `202` with no body at all (no `null`, no content type): there is nothing to say. */
export const ACCEPTED = {
  // `type: 'null'` keeps the OpenAPI response free of content; `undefined` is what the handler sends.
  202: Type.Unsafe<undefined>({ type: 'null', description: 'Accepted; any mail is sent in the background.' }),
}
