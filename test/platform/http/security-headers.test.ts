import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import Fastify from 'fastify'
import type { HelmetOptions } from 'helmet'
import { registerResponseHeaders, securityHeaders } from '../../../src/platform/http/security-headers.ts'

/** Helmet options that count how often they are read: helmet reads them whenever it builds its headers. */
function countingOptions(options: HelmetOptions): { options: HelmetOptions; reads: () => number } {
  let reads = 0
  const counted = new Proxy(options, {
    get: (target, property, receiver) => {
      reads += 1
      return Reflect.get(target, property, receiver) as unknown
    },
  })
  return { options: counted, reads: () => reads }
}

const OPTIONS: HelmetOptions = {
  contentSecurityPolicy: { directives: { 'script-src': ["'self'", "'unsafe-inline'"] } },
  hsts: true,
}

describe('Security headers: computed once', () => {
  it('computes the headers once, at registration, never per request', async () => {
    const { options, reads } = countingOptions(OPTIONS)
    const app = Fastify()
    registerResponseHeaders(app, options)
    app.get('/', () => ({ ok: true }))
    await app.ready()
    const readsAtRegistration = reads()
    assert.ok(readsAtRegistration > 0, 'helmet read its options to compute the headers')
    for (let i = 0; i < 5; i += 1) {
      const response = await app.inject({ method: 'GET', url: '/' })
      assert.match(String(response.headers['content-security-policy']), /script-src 'self' 'unsafe-inline'/)
      assert.equal(response.headers['strict-transport-security'], 'max-age=31536000; includeSubDomains')
    }
    assert.equal(reads(), readsAtRegistration, 'no request rebuilt helmet’s headers')
    await app.close()
  })

  it('gives one frozen object, shared by every response', () => {
    const headers = securityHeaders(OPTIONS)
    assert.ok(Object.isFrozen(headers))
    assert.equal(headers['x-content-type-options'], 'nosniff')
    assert.equal(headers['x-powered-by'], undefined)
  })
})
