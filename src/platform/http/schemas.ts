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

const errorRef = Type.Unsafe<unknown>({ $ref: 'ErrorEnvelope#' })

/**
 * Response schemas for the error statuses a route can return, keyed by status, described by the
 * codes they carry. Every route also gets 400/413/415/500 from the shared list.
 */
export function errorResponses(...codes: ErrorCode[]): Record<number, TSchema> {
  const byStatus = new Map<number, ErrorCode[]>()
  for (const code of [...codes, 'INTERNAL_ERROR' as const]) {
    const status = ERROR_STATUS[code]
    byStatus.set(status, [...(byStatus.get(status) ?? []), code])
  }
  return Object.fromEntries(
    [...byStatus].map(([status, list]) => [status, { ...errorRef, description: list.join(', ') }]),
  )
}

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

/** OpenAPI security requirement of bearer-protected routes. */
export const BEARER_SECURITY = [{ OAuth2PasswordBearer: [] }]
