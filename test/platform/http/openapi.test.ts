import assert from 'node:assert/strict'
import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'
import { ERROR_CODES, ERROR_STATUS } from '../../../src/platform/http/errors.ts'
import { createTestDatabase, type TestDatabase } from '../../support/databases.ts'
import { USER_FIELDS, startTestApp, stopTestApp, type TestApp } from '../../support/harness.ts'

const repoRoot = path.resolve(import.meta.dirname, '../../..')
const contractPath = path.resolve(repoRoot, '../shared/API.md')
const readmePath = path.resolve(repoRoot, 'README.md')
/** Success statuses whose response has no body. */
const NO_CONTENT = new Set(['202', '204'])

/** The parts of an OpenAPI 3.1 document these tests read. */
interface Schema {
  $ref?: string
  type?: string
  title?: string
  enum?: unknown[]
  const?: unknown
  anyOf?: Schema[]
  oneOf?: Schema[]
  required?: string[]
  properties?: Record<string, Schema>
}
interface Content {
  content?: Record<string, { schema?: Schema }>
  required?: boolean
}
interface Operation {
  requestBody?: Content
  responses: Record<string, Content & { description: string }>
  security?: Record<string, string[]>[]
}
interface SecurityScheme {
  type: string
  flows?: {
    password?: { tokenUrl: string; scopes: Record<string, string> }
    clientCredentials?: { tokenUrl: string; scopes: Record<string, string> }
  }
}
interface OpenApiDocument {
  openapi: string
  paths: Record<string, Record<string, Operation>>
  components: { schemas: Record<string, Schema>; securitySchemes: Record<string, SecurityScheme> }
}

const ERROR_ENVELOPE_REF = '#/components/schemas/ErrorEnvelope'
/** The OAuth endpoints answer RFC 6749 §5.2 errors, not the envelope. */
const OAUTH_ENDPOINTS = new Set(['/auth/token', '/auth/introspect', '/auth/revoke'])
const JSON_TYPE = 'application/json'
const FORM_TYPE = 'application/x-www-form-urlencoded'

/** The contract's routes that exist so far, with the status of their success response. */
const DOCUMENTED_ROUTES: [method: string, path: string, success: string][] = [
  ['post', '/auth/signup', '201'],
  ['post', '/auth/login', '200'],
  ['post', '/auth/token', '200'],
  ['post', '/auth/introspect', '200'],
  ['post', '/auth/revoke', '200'],
  ['get', '/.well-known/oauth-authorization-server', '200'],
  ['post', '/auth/refresh', '200'],
  ['post', '/auth/logout', '204'],
  ['post', '/auth/logout-all', '204'],
  ['get', '/auth/sessions', '200'],
  ['delete', '/auth/sessions/{id}', '204'],
  ['get', '/me', '200'],
  ['patch', '/me', '200'],
  ['post', '/me/password', '204'],
  ['post', '/me/tokens', '201'],
  ['get', '/me/tokens', '200'],
  ['delete', '/me/tokens/{id}', '204'],
  ['get', '/admin/users/{id}/tokens', '200'],
  ['delete', '/admin/users/{id}/tokens/{token_id}', '204'],
  ['post', '/auth/password/forgot', '202'],
  ['post', '/auth/password/reset', '204'],
  ['post', '/auth/email/verify/request', '202'],
  ['post', '/auth/email/verify', '204'],
  ['get', '/.well-known/jwks.json', '200'],
  ['get', '/health', '200'],
  ['get', '/ready', '200'],
  ['get', '/metrics', '200'],
]

/** Every operation in the document, as `[method, path, operation]`. */
function operationsOf(document: OpenApiDocument): [string, string, Operation][] {
  return Object.entries(document.paths).flatMap(([url, item]) =>
    Object.entries(item).map(([method, operation]): [string, string, Operation] => [method, url, operation]),
  )
}

/** The values a schema allows: `enum`, `const`, or a union of those. */
function allowedValues(schema: Schema): unknown[] {
  if (schema.enum) return schema.enum
  if ('const' in schema) return [schema.const]
  const members = schema.anyOf ?? schema.oneOf
  if (members) return members.flatMap(allowedValues)
  throw new Error(`not an enumeration: ${JSON.stringify(schema)}`)
}

const isError = (status: string) => Number(status) >= 400

/** `| 401 | \`AUTH_REQUIRED\` | …` rows of the contract's codes table (or of the README's additions). */
function contractErrorStatus(markdown: string): Record<string, number> {
  const rows = [...markdown.matchAll(/^\|\s*(\d{3})\s*\|\s*`([A-Z][A-Z0-9_]*)`\s*\|/gm)]
  const table: Record<string, number> = {}
  for (const [, status, code] of rows) {
    assert.ok(!(code! in table), `${code} is listed twice in the contract`)
    table[code!] = Number(status)
  }
  return table
}

describe('GET /openapi.json', () => {
  let database: TestDatabase | undefined
  let testApp: TestApp | undefined
  let document: OpenApiDocument

  before(async () => {
    database = await createTestDatabase('sqlite')
    testApp = await startTestApp(database)
    const response = await testApp.app.inject({ method: 'GET', url: '/openapi.json' })
    assert.equal(response.statusCode, 200)
    assert.match(response.headers['content-type'] as string, /^application\/json/)
    document = response.json()
  })
  after(async () => {
    if (testApp) await stopTestApp(testApp)
    await database?.drop()
  })

  const operation = (method: string, url: string): Operation => {
    const found = document.paths[url]?.[method]
    assert.ok(found, `${method.toUpperCase()} ${url} is not in the document`)
    return found
  }

  it('is an OpenAPI 3.1 document', () => {
    assert.match(document.openapi, /^3\.1(\.\d+)?$/)
  })

  it('documents every public route with a schema for its success response', () => {
    for (const [method, url, success] of DOCUMENTED_ROUTES) {
      const response = operation(method, url).responses[success]
      assert.ok(response, `${method.toUpperCase()} ${url} has no ${success} response`)
      if (NO_CONTENT.has(success)) {
        assert.equal(response.content, undefined, `${method.toUpperCase()} ${url} ${success} has no body`)
        continue
      }
      const schemas = Object.values(response.content ?? {}).map((media) => media.schema)
      assert.ok(
        schemas.length > 0 && schemas.every((schema) => schema !== undefined),
        `${method.toUpperCase()} ${url} ${success} has no schema`,
      )
    }
  })

  it('documents only routes the app serves, without the documentation routes themselves', () => {
    for (const [method, url] of operationsOf(document)) {
      assert.ok(
        testApp!.app.hasRoute({ method: method.toUpperCase(), url: url.replace(/\{(\w+)\}/g, ':$1') }),
        `${method.toUpperCase()} ${url} is documented but not served`,
      )
    }
    assert.ok(!('/openapi.json' in document.paths))
    assert.ok(!Object.keys(document.paths).some((url) => url.startsWith('/docs')))
  })

  it('points every error response at the ErrorEnvelope schema, except on the RFC 6749 OAuth endpoints', () => {
    for (const [method, url, { responses }] of operationsOf(document)) {
      if (OAUTH_ENDPOINTS.has(url)) continue
      const where = `${method.toUpperCase()} ${url}`
      for (const [status, response] of Object.entries(responses).filter(([status]) => isError(status))) {
        assert.equal(response.content?.[JSON_TYPE]?.schema?.$ref, ERROR_ENVELOPE_REF, `${where} ${status}`)
        for (const code of response.description.split(', ')) {
          assert.equal(ERROR_STATUS[code as keyof typeof ERROR_STATUS], Number(status), `${where}: ${code}`)
        }
      }
    }
  })

  it('lists the body errors on every route that takes a body and 401 on every bearer route', () => {
    const checked = new Set<string>()
    for (const [method, url, { requestBody, security, responses }] of operationsOf(document)) {
      if (OAUTH_ENDPOINTS.has(url)) continue
      const expected = [...(requestBody ? ['400', '413', '415', '422'] : []), ...(security ? ['401'] : [])]
      for (const status of expected) {
        assert.ok(responses[status], `${method.toUpperCase()} ${url} does not document ${status}`)
      }
      if (expected.length > 0) checked.add(`${method} ${url}`)
    }
    // The routes above must be among those checked, or the loop proved nothing.
    for (const route of ['post /auth/signup', 'post /auth/login', 'get /me', 'patch /me']) {
      assert.ok(checked.has(route), `${route} takes neither a body nor a bearer token in the document`)
    }
  })

  it('documents the OAuth endpoints as form-only, answering RFC 6749 §5.2 errors', () => {
    for (const url of OAUTH_ENDPOINTS) {
      const endpoint = operation('post', url)
      assert.deepEqual(Object.keys(endpoint.requestBody?.content ?? {}), [FORM_TYPE], url)
      const errors = Object.entries(endpoint.responses).filter(([status]) => isError(status))
      for (const status of ['400', '401'])
        assert.ok(
          errors.some(([s]) => s === status),
          `${url} ${status}`,
        )
      for (const [status, response] of errors) {
        const schema = response.content?.[JSON_TYPE]?.schema
        assert.ok(schema && schema.$ref === undefined, `${url} ${status} must not be the ErrorEnvelope`)
        assert.deepEqual(schema.required, ['error', 'error_description'])
        const codes = allowedValues(schema.properties!.error!)
        for (const code of ['invalid_request', 'invalid_client', 'invalid_grant', 'unsupported_grant_type']) {
          assert.ok(codes.includes(code), `${url} ${status}: ${code} is missing`)
        }
      }
    }
  })

  it('documents the body media types each route accepts', () => {
    assert.deepEqual(Object.keys(operation('post', '/auth/signup').requestBody!.content!), [JSON_TYPE])
    assert.deepEqual(Object.keys(operation('post', '/auth/login').requestBody!.content!).sort(), [
      JSON_TYPE,
      FORM_TYPE,
    ])
    assert.deepEqual(Object.keys(operation('patch', '/me').requestBody!.content!), [JSON_TYPE])
  })

  it('documents the cross-site 403 FORBIDDEN of the cookie refresh and form login, and that the refresh body may be left out', () => {
    for (const url of ['/auth/refresh', '/auth/login']) {
      const { responses, description } = operation('post', url) as Operation & { description?: string }
      assert.ok(responses['403']?.description.split(', ').includes('FORBIDDEN'), `${url} 403`)
      assert.match(description ?? '', /Sec-Fetch-Site: cross-site/, `${url} description`)
      assert.match(description ?? '', /Origin: null/, `${url} description`)
    }
    assert.equal(operation('post', '/auth/refresh').requestBody?.required, false)
    assert.equal(operation('post', '/auth/login').requestBody?.required, true)
  })

  it('defines ErrorEnvelope with every error code, User and TokenResponse as components', () => {
    const { schemas } = document.components
    const envelope = schemas.ErrorEnvelope
    assert.ok(envelope, 'ErrorEnvelope is missing')
    const error = envelope.properties?.error
    assert.deepEqual(error?.required, ['code', 'message', 'request_id'])
    assert.deepEqual(allowedValues(error.properties!.code!).sort(), [...ERROR_CODES].sort())

    assert.deepEqual(Object.keys(schemas.User?.properties ?? {}).sort(), USER_FIELDS)
    assert.deepEqual(Object.keys(schemas.TokenResponse?.properties ?? {}).sort(), [
      'access_token',
      'expires_in',
      'refresh_expires_in',
      'refresh_token',
      'scope',
      'token_type',
    ])
    assert.deepEqual(allowedValues(schemas.TokenResponse!.properties!.token_type!), ['bearer'])
  })

  it('offers the OAuth2 password flow against /auth/token and requires it on /me', () => {
    const schemes = Object.entries(document.components.securitySchemes).filter(
      ([, scheme]) => scheme.type === 'oauth2' && scheme.flows?.password !== undefined,
    )
    assert.equal(schemes.length, 1, 'exactly one OAuth2 password-flow scheme')
    const [name, scheme] = schemes[0]!
    assert.equal(scheme.flows!.password!.tokenUrl, '/auth/token')
    assert.ok('profile' in scheme.flows!.password!.scopes)
    assert.equal(
      scheme.flows!.clientCredentials!.tokenUrl,
      '/auth/token',
      'Authorize offers client credentials',
    )
    assert.ok('introspect' in scheme.flows!.clientCredentials!.scopes)

    for (const method of ['get', 'patch']) {
      assert.deepEqual(operation(method, '/me').security, [{ [name]: [] }], `${method.toUpperCase()} /me`)
    }
    for (const [method, url] of [
      ['post', '/auth/signup'],
      ['post', '/auth/login'],
      ['post', '/auth/token'],
      ['post', '/auth/introspect'],
      ['post', '/auth/revoke'],
      ['get', '/.well-known/jwks.json'],
      ['get', '/.well-known/oauth-authorization-server'],
      ['get', '/health'],
    ] as const) {
      assert.equal(operation(method, url).security, undefined, `${method.toUpperCase()} ${url} is public`)
    }
  })

  it(
    'keeps the error codes in step with the contract',
    {
      // CI always has the contract beside the checkout: there a missing file fails the test.
      skip:
        existsSync(contractPath) || process.env.CI === 'true'
          ? false
          : `the contract is not at ${contractPath}`,
    },
    () => {
      const contract = contractErrorStatus(readFileSync(contractPath, 'utf8'))
      assert.ok(Object.keys(contract).length > 0, 'no codes table found in the contract')
      // Codes the contract does not have are allowed only when the README declares them, in the
      // table under its "Contract additions" heading.
      const readme = readFileSync(readmePath, 'utf8')
      const section = /^#+ Contract additions\n([\s\S]*?)(?=^#)/m.exec(readme)?.[1] ?? ''
      const additions = contractErrorStatus(section)
      for (const code of Object.keys(additions)) {
        assert.ok(
          !(code in contract),
          `${code} is in the contract already; drop it from the README's additions`,
        )
      }
      assert.deepEqual({ ...contract, ...additions }, { ...ERROR_STATUS })
    },
  )
})

describe('DOCS=false', () => {
  let database: TestDatabase | undefined
  let testApp: TestApp | undefined

  before(async () => {
    database = await createTestDatabase('sqlite')
    testApp = await startTestApp(database, { env: { DOCS: 'false' } })
  })
  after(async () => {
    if (testApp) await stopTestApp(testApp)
    await database?.drop()
  })

  it('serves neither Swagger UI nor the OpenAPI document: 404 NOT_FOUND, like any unknown route', async () => {
    for (const url of ['/docs', '/docs/', '/docs/json', '/docs/static/index.html', '/openapi.json']) {
      const response = await testApp!.app.inject({ method: 'GET', url })
      assert.equal(response.statusCode, 404, url)
      assert.equal(response.json().error.code, 'NOT_FOUND', url)
    }
  })

  it('still builds the document, for gatehouse openapi', () => {
    const document = testApp!.app.swagger() as unknown as OpenApiDocument
    assert.ok(document.paths['/auth/login'])
  })
})
