import assert from 'node:assert/strict'
import { before, it } from 'node:test'
import fc from 'fast-check'
import type { LightMyRequestResponse } from 'fastify'
import { describeOnDatabases } from '../../support/harness.ts'
import { clientFor } from '../../support/client.ts'

/** Bounded so `npm test` stays quick; raise FUZZ_RUNS locally to search harder. */
const RUNS = Number(process.env.FUZZ_RUNS ?? 120)

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE' | 'PUT'
interface Route {
  method: Method
  path: string
}

const FIELD_NAMES = [
  'email',
  'password',
  'username',
  'full_name',
  'scope',
  'grant_type',
  'refresh_token',
  'title',
  'done',
  'roles',
  'disabled',
  'token',
  'new_password',
  'current_password',
  '__proto__',
  'constructor',
  'prototype',
]

const printable = fc.string({
  unit: fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)),
  maxLength: 200,
})
const hostileText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 300 }),
  fc.constantFrom(
    "' OR 1=1 --",
    '\u0000',
    'a'.repeat(10_000),
    'аdmin@example.com',
    '../../etc/passwd',
    '${jndi:ldap://x}',
    '<script>',
  ),
)
const value = fc.oneof(
  hostileText,
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(hostileText, { maxLength: 5 }),
  fc.jsonValue({ maxDepth: 4 }),
)
const objectBody = fc.dictionary(fc.oneof(fc.constantFrom(...FIELD_NAMES), printable), value, { maxKeys: 8 })

const body = fc.oneof(
  objectBody.map((object) => JSON.stringify(object)),
  fc.jsonValue().map((json) => JSON.stringify(json)),
  fc.string({ unit: 'binary', maxLength: 500 }),
  fc.uint8Array({ maxLength: 500 }).map((bytes) => Buffer.from(bytes)),
  fc.integer({ min: 1, max: 5000 }).map((depth) => '['.repeat(depth) + ']'.repeat(depth)),
  fc.integer({ min: 1, max: 5000 }).map((depth) => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth)),
  objectBody.map((object) =>
    new URLSearchParams(
      Object.entries(object).map(([k, v]): [string, string] => [k, JSON.stringify(v)]),
    ).toString(),
  ),
  fc.constant(undefined),
)

const contentType = fc.oneof(
  fc.constantFrom(
    'application/json',
    'application/x-www-form-urlencoded',
    'text/plain',
    'multipart/form-data; boundary=x',
    'application/json; charset=latin1',
    'application/xml',
    '',
  ),
  printable,
)

/** The OAuth endpoints answer RFC 6749 §5.2 errors, not the envelope. */
const OAUTH_ENDPOINTS = ['/auth/token', '/auth/introspect', '/auth/revoke']

await describeOnDatabases('Every route under random input', (ctx) => {
  let routes: Route[] = []
  let validToken = ''

  before(async () => {
    const document = (await ctx().app.inject({ method: 'GET', url: '/openapi.json' })).json<{
      paths: Record<string, Record<string, unknown>>
    }>()
    routes = Object.entries(document.paths).flatMap(([path, operations]) =>
      Object.keys(operations).map((method) => ({ method: method.toUpperCase() as Method, path })),
    )
    validToken = (await clientFor(ctx()).loggedInUser()).tokens.access_token
    assert.ok(routes.length >= 20, `found ${routes.length} routes`)
  })

  it('answers every random request with a 2xx or a 4xx in the contract’s shape, never a 5xx', async () => {
    const request = fc.record({
      routeIndex: fc.nat(),
      methodOverride: fc.option(fc.constantFrom<Method>('GET', 'POST', 'PATCH', 'DELETE', 'PUT'), {
        freq: 5,
      }),
      id: fc.oneof(
        fc.uuid(),
        printable.filter((s) => s.length > 0),
      ),
      query: fc.option(
        fc.dictionary(fc.constantFrom('limit', 'cursor', 'q', 'all', 'type', 'user_id'), printable, {
          maxKeys: 3,
        }),
      ),
      body,
      contentType: fc.option(contentType),
      requestId: fc.option(printable),
      authorization: fc.option(
        fc.oneof(
          fc.constant('valid'),
          printable.map((s) => `Bearer ${s}`),
          printable,
        ),
      ),
    })
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const route = routes[r.routeIndex % routes.length]!
        const path = route.path.replace(/\{[^}]+\}/g, encodeURIComponent(r.id))
        const url = r.query ? `${path}?${new URLSearchParams(r.query).toString()}` : path
        const headers: Record<string, string> = {}
        if (r.contentType !== null) headers['content-type'] = r.contentType
        if (r.requestId !== null) headers['x-request-id'] = r.requestId
        if (r.authorization !== null)
          headers.authorization = r.authorization === 'valid' ? `Bearer ${validToken}` : r.authorization
        const response: LightMyRequestResponse = await ctx().app.inject({
          method: r.methodOverride ?? route.method,
          url,
          headers,
          ...(r.body === undefined ? {} : { payload: r.body }),
        })
        assert.ok(
          response.statusCode < 500,
          `${route.method} ${url} → ${response.statusCode} ${response.body.slice(0, 300)}`,
        )
        assert.ok(response.headers['x-request-id'], 'X-Request-ID on every response')
        if (response.statusCode >= 400) {
          const json = response.json<Record<string, unknown>>()
          if (OAUTH_ENDPOINTS.some((endpoint) => url.startsWith(endpoint)) && 'error_description' in json) {
            assert.equal(typeof json.error, 'string')
          } else {
            const error = json.error as { code: string; request_id: string }
            assert.match(error.code, /^[A-Z_]+$/)
            assert.equal(error.request_id, response.headers['x-request-id'])
          }
        }
      }),
      { numRuns: RUNS, endOnFailure: true },
    )
  })
})
