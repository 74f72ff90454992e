import type { FastifyRequest } from 'fastify'
import { AuthenticationError } from './errors.ts'

const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i

/** RFC 6750 §2.1: the token from `Authorization: Bearer …`, or undefined when none was sent. */
export function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization
  if (header === undefined || !/^Bearer(\s|$)/i.test(header)) return undefined
  const match = BEARER.exec(header)
  if (!match?.[1]) throw new AuthenticationError('INVALID_TOKEN', 'The Authorization header is malformed.')
  return match[1]
}
