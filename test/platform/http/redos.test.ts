import assert from 'node:assert/strict'
import { before, it } from 'node:test'
import type { LightMyRequestResponse } from 'fastify'
import { SMALL_BODY_LIMIT_BYTES } from '../../../src/platform/http/schemas.ts'
import { describeOnDatabases, type TestApp } from '../../support/harness.ts'

/*
 * Every string a request can carry, at the sizes that reach validation, is refused in bounded CPU
 * time: patterns are linear, and `maxLength` failing keeps a pattern from running at all. The
 * routes and their fields come from the OpenAPI document, so a route added later is covered too.
 */

const ADMIN = { ADMIN_EMAIL: 'redos-admin@example.com', ADMIN_PASSWORD: 'an admin passphrase 42' }
/** A regression bound, not a benchmark: the quadratic email pattern took seconds at these sizes. */
const CPU_BOUND_MS = 50
/**
 * The contract's app-wide body limit; just under it (the attack as reported: a 60 KB email took
 * 6 s); and the largest value a small-body route still parses.
 */
const SIZES = [64 * 1024, 63 * 1024, SMALL_BODY_LIMIT_BYTES - 512]

/** Tries a request again when it measured over the bound, at most three times in all. */
const MEASUREMENTS = 3

/**
 * The CPU time (all of the process's threads) a request took, the least of up to `MEASUREMENTS`:
 * a garbage collection or a busy machine can cost one measurement tens of milliseconds, while a
 * backtracking pattern is slow every time.
 */
async function leastCpu(
  send: () => Promise<LightMyRequestResponse>,
): Promise<{ response: LightMyRequestResponse; ms: number }> {
  let least = Infinity
  let response: LightMyRequestResponse | undefined
  for (let attempt = 0; attempt < MEASUREMENTS && least >= CPU_BOUND_MS; attempt++) {
    const started = process.cpuUsage()
    response = await send()
    const used = process.cpuUsage(started)
    least = Math.min(least, (used.user + used.system) / 1000)
  }
  return { response: response!, ms: least }
}

/** Long runs of what the patterns accept, each ending in a character that makes them fail. */
function adversarialValues(size: number): [string, string][] {
  const run = (unit: string, prefix = '', suffix = '') =>
    prefix + unit.repeat(Math.floor((size - prefix.length - suffix.length) / unit.length)) + suffix
  return [
    ['"a@" + "a." * n + " x"', run('a.', 'a@', ' x')],
    [
      '"a@" + "a" * n + "." + " " * n + "x"',
      `${run('a', 'a@').slice(0, size / 2)}.${' '.repeat(size / 2 - 4)}x`,
    ],
    ['"a" * n + NUL', run('a', '', '\u0000')],
    ['"a." * n + "@"', run('a.', '', '@')],
    ['" " * n + "x"', run(' ', '', 'x')],
    ['"@" * n', run('@')],
  ]
}

interface Field {
  where: 'body' | 'query' | 'path'
  name: string
  array: boolean
}
interface Operation {
  method: string
  path: string
  mediaType: string | undefined
  fields: Field[]
}

type Schema = { type?: string; anyOf?: Schema[]; items?: Schema; properties?: Record<string, Schema> }
const takesString = (schema: Schema): boolean =>
  schema.type === 'string' || (schema.anyOf ?? []).some(takesString)

function operationsOf(document: {
  paths: Record<string, Record<string, Record<string, unknown>>>
}): Operation[] {
  const operations: Operation[] = []
  for (const [path, methods] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(methods)) {
      const content = (operation.requestBody as { content?: Record<string, { schema: Schema }> } | undefined)
        ?.content
      const mediaType = content && Object.keys(content)[0]
      const properties = (mediaType && content[mediaType]?.schema.properties) ?? {}
      const parameters = (operation.parameters ?? []) as {
        in: 'query' | 'path'
        name: string
        schema: Schema
      }[]
      const fields: Field[] = [
        ...Object.entries(properties)
          .filter(
            ([, schema]) => takesString(schema) || (schema.items !== undefined && takesString(schema.items)),
          )
          .map(([name, schema]) => ({ where: 'body' as const, name, array: !takesString(schema) })),
        ...parameters
          .filter((parameter) => takesString(parameter.schema))
          .map((parameter) => ({ where: parameter.in, name: parameter.name, array: false })),
      ]
      if (fields.length > 0) operations.push({ method: method.toUpperCase(), path, mediaType, fields })
    }
  }
  return operations
}

const SOME_ID = '00000000-0000-4000-8000-000000000000'

function requestFor(operation: Operation, field: Field, value: string) {
  let url = operation.path.replace(/\{(\w+)\}/g, (_, name: string) =>
    field.where === 'path' && field.name === name ? encodeURIComponent(value) : SOME_ID,
  )
  if (field.where === 'query') url += `?${field.name}=${encodeURIComponent(value)}`
  if (field.where !== 'body') return { method: operation.method, url }
  const body = { [field.name]: field.array ? [value] : value }
  return operation.mediaType === 'application/x-www-form-urlencoded'
    ? {
        method: operation.method,
        url,
        headers: { 'content-type': operation.mediaType },
        payload: new URLSearchParams({ grant_type: 'password', ...body } as Record<
          string,
          string
        >).toString(),
      }
    : { method: operation.method, url, payload: body }
}

function assertErrorBody(response: LightMyRequestResponse, what: string) {
  assert.ok(response.statusCode >= 400 && response.statusCode < 500, `${what}: ${response.statusCode}`)
  const body = response.json()
  assert.ok(
    typeof body.error?.code === 'string' || typeof body.error === 'string',
    `${what}: ${response.body.slice(0, 200)}`,
  )
}

await describeOnDatabases(
  'Every string field of every route',
  (ctx) => {
    let authorization = ''
    let operations: Operation[] = []
    before(async () => {
      const login = await ctx().app.inject({
        method: 'POST',
        url: '/auth/login',
        payload: { username: ADMIN.ADMIN_EMAIL, password: ADMIN.ADMIN_PASSWORD },
      })
      authorization = `Bearer ${login.json().access_token}`
      operations = operationsOf(ctx().app.swagger() as never)
    })

    const send = (t: TestApp, request: ReturnType<typeof requestFor>) =>
      t.app.inject({
        ...request,
        method: request.method as 'GET',
        headers: { authorization, ...request.headers },
      })

    it('finds the routes that take strings (the email routes among them)', () => {
      const names = operations.flatMap((op) =>
        op.fields.map((field) => `${op.method} ${op.path} ${field.name}`),
      )
      for (const expected of [
        'POST /auth/signup email',
        'POST /auth/password/forgot email',
        'POST /auth/token username',
        'PATCH /admin/users/{id} roles',
        'GET /admin/users q',
        'DELETE /todos/{id} id',
      ])
        assert.ok(names.includes(expected), expected)
    })

    for (const size of SIZES) {
      it(`answers a ${size / 1024} KiB adversarial value in any string field with a 4xx in under ${CPU_BOUND_MS} ms of CPU`, async () => {
        const slow: string[] = []
        for (const operation of operations) {
          for (const field of operation.fields) {
            for (const [shape, value] of adversarialValues(size)) {
              const request = requestFor(operation, field, value)
              const what = `${operation.method} ${operation.path} ${field.name} = ${shape}`
              await send(ctx(), request) // the route's validators compile at its first request
              const { response, ms } = await leastCpu(() => send(ctx(), request))
              assertErrorBody(response, what)
              if (ms >= CPU_BOUND_MS) slow.push(`${what}: ${ms.toFixed(1)} ms`)
            }
          }
        }
        assert.deepEqual(slow, [])
      })
    }

    it(`answers 64 KiB adversarial Authorization, X-Request-ID and Cookie headers in under ${CPU_BOUND_MS} ms of CPU`, async () => {
      const slow: string[] = []
      for (const [shape, value] of adversarialValues(64 * 1024)) {
        for (const request of [
          { method: 'GET' as const, url: '/me', headers: { authorization: `Bearer ${value}` } },
          {
            method: 'GET' as const,
            url: '/me',
            headers: { authorization: `Bearer ${'a'.repeat(64 * 1024)}=${' '.repeat(16)}!` },
          },
          { method: 'GET' as const, url: '/me', headers: { 'x-request-id': value } },
          {
            method: 'POST' as const,
            url: '/auth/refresh',
            headers: { cookie: `gatehouse_refresh=${value}` },
          },
        ]) {
          const what = `${request.method} ${request.url} ${Object.keys(request.headers).join()} = ${shape}`
          await ctx().app.inject(request)
          const { response, ms } = await leastCpu(() => ctx().app.inject(request))
          assertErrorBody(response, what)
          if (ms >= CPU_BOUND_MS) slow.push(`${what}: ${ms.toFixed(1)} ms`)
        }
      }
      assert.deepEqual(slow, [])
    })

    it('answers a 16 KiB body with 413 PAYLOAD_TOO_LARGE on a small-body route, 64 KiB being the limit elsewhere', async () => {
      const response = await ctx().app.inject({
        method: 'POST',
        url: '/auth/password/forgot',
        payload: { email: `${'a'.repeat(SMALL_BODY_LIMIT_BYTES)}@example.com` },
      })
      assert.equal(response.statusCode, 413)
      assert.equal(response.json().error.code, 'PAYLOAD_TOO_LARGE')
    })
  },
  { env: ADMIN },
)
