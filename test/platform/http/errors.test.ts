import assert from 'node:assert/strict'
import { it } from 'node:test'
import type { LightMyRequestResponse } from 'fastify'
import { STRONG_PASSWORD, describeOnDatabases, uniqueEmail } from '../../support/harness.ts'
import { clientFor } from '../../support/client.ts'

/** Every non-2xx body is exactly the envelope, with the response's request id. */
function assertEnvelope(response: LightMyRequestResponse, status: number, code: string) {
  assert.equal(response.statusCode, status, response.body)
  const body = response.json()
  assert.deepEqual(Object.keys(body), ['error'])
  assert.equal(body.error.code, code)
  assert.equal(typeof body.error.message, 'string')
  assert.equal(body.error.request_id, response.headers['x-request-id'])
  for (const key of Object.keys(body.error))
    assert.ok(['code', 'message', 'request_id', 'details'].includes(key), key)
  assert.ok(
    !/at .+\(.+:\d+:\d+\)|node_modules|\bselect\b|\binsert into\b/i.test(response.body),
    'no stack or SQL',
  )
}

await describeOnDatabases('The error envelope', (ctx) => {
  const post = (url: string, payload: string, contentType = 'application/json') =>
    ctx().app.inject({ method: 'POST', url, headers: { 'content-type': contentType }, payload })

  it('answers an unknown route with 404 NOT_FOUND', async () => {
    assertEnvelope(await ctx().app.inject({ method: 'GET', url: '/no/such/route?x=1' }), 404, 'NOT_FOUND')
    assertEnvelope(await ctx().app.inject({ method: 'DELETE', url: '/me' }), 404, 'NOT_FOUND')
  })

  it('answers unparseable JSON with 400 MALFORMED_REQUEST', async () => {
    assertEnvelope(await post('/auth/signup', '{"email": "a@b.c", '), 400, 'MALFORMED_REQUEST')
    assertEnvelope(await post('/auth/login', '\u0000\u0001'), 400, 'MALFORMED_REQUEST')
  })

  it('answers an empty JSON body with 400 MALFORMED_REQUEST', async () => {
    assertEnvelope(await post('/auth/signup', ''), 400, 'MALFORMED_REQUEST')
  })

  it('answers a body that is JSON but not an object with 422', async () => {
    assertEnvelope(await post('/auth/signup', '[1, 2, 3]'), 422, 'VALIDATION_ERROR')
    assertEnvelope(await post('/auth/signup', '"text"'), 422, 'VALIDATION_ERROR')
    assertEnvelope(await post('/auth/signup', 'null'), 422, 'VALIDATION_ERROR')
  })

  it('answers a body over 64 KiB with 413 PAYLOAD_TOO_LARGE', async () => {
    const body = JSON.stringify({
      email: uniqueEmail(),
      password: STRONG_PASSWORD,
      full_name: 'x'.repeat(65 * 1024),
    })
    assertEnvelope(await post('/auth/signup', body), 413, 'PAYLOAD_TOO_LARGE')
    const form = `username=a&password=${'x'.repeat(65 * 1024)}`
    assertEnvelope(
      await post('/auth/login', form, 'application/x-www-form-urlencoded'),
      413,
      'PAYLOAD_TOO_LARGE',
    )
  })

  it('answers a content type the route does not take with 415 UNSUPPORTED_MEDIA_TYPE', async () => {
    for (const type of [
      'text/plain',
      'application/xml',
      'multipart/form-data; boundary=x',
      'application/jsonx',
    ]) {
      assertEnvelope(await post('/auth/signup', '{}', type), 415, 'UNSUPPORTED_MEDIA_TYPE')
    }
  })

  it('accepts JSON with a charset parameter', async () => {
    const body = JSON.stringify({ email: uniqueEmail(), password: STRONG_PASSWORD })
    assert.equal((await post('/auth/signup', body, 'application/json; charset=utf-8')).statusCode, 201)
  })

  it('answers 3 000-character fields (three times any field limit, inside the 16 KiB body limit) with 422, never 500', async () => {
    const long = 'a'.repeat(3_000)
    for (const [url, payload] of [
      ['/auth/signup', { email: `${long}@example.com`, password: long, username: long, full_name: long }],
      ['/auth/login', { username: long, password: long, scope: long }],
    ] as const) {
      const response = await post(url, JSON.stringify(payload))
      assertEnvelope(response, 422, 'VALIDATION_ERROR')
      assert.ok(response.json().error.details.length >= 2)
    }
  })

  it('answers NUL and control characters in identifiers with 422', async () => {
    const response = await post(
      '/auth/signup',
      JSON.stringify({
        email: `nul\u0000${uniqueEmail()}`,
        password: STRONG_PASSWORD,
        username: 'a\u0000b',
        full_name: 'x\u0007',
      }),
    )
    assertEnvelope(response, 422, 'VALIDATION_ERROR')
    assert.deepEqual(
      response
        .json()
        .error.details.map((d: { field: string }) => d.field)
        .sort(),
      ['email', 'full_name', 'username'],
    )
  })

  it('treats SQL-looking input as plain data', async () => {
    const login = await post(
      '/auth/login',
      JSON.stringify({ username: "' OR '1'='1' --", password: "' OR '1'='1' --" }),
    )
    assertEnvelope(login, 401, 'INVALID_CREDENTIALS')
    const email = `o'brien.${Date.now()}@example.com`
    const signup = await post(
      '/auth/signup',
      JSON.stringify({ email, password: STRONG_PASSWORD, full_name: "Robert'); DROP TABLE users;--" }),
    )
    assert.equal(signup.statusCode, 201)
    assert.equal(signup.json().full_name, "Robert'); DROP TABLE users;--")
  })

  it('refuses prototype-pollution keys with 400', async () => {
    const response = await post('/auth/login', '{"username":"a","password":"b","__proto__":{"admin":true}}')
    assertEnvelope(response, 400, 'MALFORMED_REQUEST')
    assert.equal(({} as Record<string, unknown>).admin, undefined)
  })

  it('answers a wrong JSON type with 422 rather than coercing it', async () => {
    const response = await post('/auth/login', JSON.stringify({ username: 12345678, password: true }))
    assertEnvelope(response, 422, 'VALIDATION_ERROR')
  })

  it('accepts a body with an unknown property, ignoring it', async () => {
    const { authorization } = await clientFor(ctx()).loggedInUser()
    const response = await ctx().app.inject({
      method: 'PATCH',
      url: '/me',
      headers: { authorization },
      payload: { constructor: { x: 1 } },
    })
    assert.equal(response.statusCode, 200)
  })
})

await describeOnDatabases(
  'An unexpected failure',
  (ctx) => {
    it('is a 500 INTERNAL_ERROR with a generic message and no internals', async () => {
      const response = await ctx().app.inject({ method: 'GET', url: '/test/explode' })
      assertEnvelope(response, 500, 'INTERNAL_ERROR')
      assert.ok(!response.body.includes('secret internal detail'))
      const logged = ctx().logs.lines.find((line) => line.msg === 'request failed')
      assert.ok(logged, 'the failure is logged')
      assert.equal(logged.request_id, response.headers['x-request-id'])
      assert.ok(!ctx().logs.text().includes('    at '), 'no stack trace in the log')
    })
  },
  {
    addRoutes: (app) =>
      app.get('/test/explode', () => {
        throw new Error('secret internal detail')
      }),
  },
)
