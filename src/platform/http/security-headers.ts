import type { IncomingMessage, ServerResponse } from 'node:http'
import type { FastifyInstance } from 'fastify'
import helmet, { type HelmetOptions } from 'helmet'

/**
 * Helmet's headers, computed once. Our headers never vary by request, and @fastify/helmet rebuilds
 * helmet's middleware (parsing the CSP directives again) on every request: a tenth of a `GET /health`.
 */
export function securityHeaders(options: Readonly<HelmetOptions>): Readonly<Record<string, string>> {
  const headers = new Map<string, string>()
  const response = {
    setHeader: (name: string, value: string) => headers.set(name.toLowerCase(), value),
    // helmet's hidePoweredBy: Fastify sends no X-Powered-By anyway.
    removeHeader: (name: string) => headers.delete(name.toLowerCase()),
  }
  helmet(options)({} as unknown as IncomingMessage, response as unknown as ServerResponse, () => undefined)
  return Object.freeze(Object.fromEntries(headers))
}

/**
 * Every response carries the hardening headers, its request id, and `Cache-Control: no-store` unless
 * its route says otherwise: personal data and tokens must not sit in shared caches.
 */
export function registerResponseHeaders(app: FastifyInstance, options: Readonly<HelmetOptions>): void {
  // Once, here: rebuilding them in the hook would cost every request (a test counts helmet's reads).
  const headers = securityHeaders(options)
  app.addHook('onRequest', (request, reply, done) => {
    void reply.headers(headers).header('x-request-id', request.id)
    done()
  })
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (!reply.hasHeader('cache-control')) void reply.header('cache-control', 'no-store')
    done(null, payload)
  })
}
