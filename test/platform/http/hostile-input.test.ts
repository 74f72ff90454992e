import assert from 'node:assert/strict'
import { it } from 'node:test'
import { STRONG_PASSWORD, describeOnDatabases, uniqueEmail } from '../../support/harness.ts'
import { clientFor } from '../../support/client.ts'

await describeOnDatabases('Hostile input', (ctx) => {
  const post = (url: string, payload: string | Buffer, contentType = 'application/json', headers = {}) =>
    ctx().app.inject({ method: 'POST', url, headers: { 'content-type': contentType, ...headers }, payload })

  it('answers deeply nested JSON with a 4xx, quickly', async () => {
    for (const depth of [1_000, 100_000]) {
      const started = Date.now()
      const response = await post('/auth/login', '['.repeat(depth) + ']'.repeat(depth))
      assert.ok([400, 413, 422].includes(response.statusCode), `${depth}: ${response.statusCode}`)
      const nested = await post('/auth/signup', `{"email":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}`)
      assert.ok([400, 413, 422].includes(nested.statusCode), `${depth}: ${nested.statusCode}`)
      assert.ok(Date.now() - started < 5000)
    }
  })

  it("answers a huge array with 422, and one over the route's 16 KiB with 413", async () => {
    const array = (n: number) =>
      JSON.stringify({ username: Array.from({ length: n }, () => 1), password: 'x' })
    assert.equal((await post('/auth/login', array(8_000))).statusCode, 422)
    assert.equal((await post('/auth/login', array(9_000))).statusCode, 413)
    assert.equal((await post('/auth/login', array(40_000))).statusCode, 413)
  })

  it('takes invalid UTF-8 as replacement characters, never as a crash', async () => {
    const bytes = Buffer.concat([
      Buffer.from('{"username":"'),
      Buffer.from([0xff, 0xfe, 0xc3, 0x28]),
      Buffer.from('","password":"x"}'),
    ])
    const response = await post('/auth/login', bytes)
    assert.equal(response.statusCode, 401)
  })

  it('never lets a Cyrillic look-alike email log into the Latin account', async () => {
    const latin = `admin.${Date.now()}@example.com`
    assert.equal(
      (await post('/auth/signup', JSON.stringify({ email: latin, password: STRONG_PASSWORD }))).statusCode,
      201,
    )
    const cyrillic = latin.replace('a', '\u0430')
    assert.notEqual(cyrillic, latin)
    const login = await post('/auth/login', JSON.stringify({ username: cyrillic, password: STRONG_PASSWORD }))
    assert.equal(login.statusCode, 401)
    assert.equal(login.json().error.code, 'INVALID_CREDENTIALS')
    const separate = await post(
      '/auth/signup',
      JSON.stringify({ email: cyrillic, password: STRONG_PASSWORD }),
    )
    assert.equal(separate.statusCode, 201, 'it is a different address, not the same account')
    assert.notEqual(separate.json().id, undefined)
  })

  it('treats full-width look-alikes as the same account after NFKC (no second account)', async () => {
    const email = `wide.${Date.now()}@example.com`
    await post('/auth/signup', JSON.stringify({ email, password: STRONG_PASSWORD }))
    const fullWidth = email.replace('w', '\uFF57')
    const again = await post('/auth/signup', JSON.stringify({ email: fullWidth, password: STRONG_PASSWORD }))
    assert.equal(again.statusCode, 409)
  })

  it('refuses __proto__ and constructor.prototype keys with 400, and ignores other unknown keys', async () => {
    const signup = (extra: string) =>
      post('/auth/signup', `{"email":"${uniqueEmail()}","password":"${STRONG_PASSWORD}",${extra}}`)
    assert.equal((await signup('"__proto__":{"roles":["admin"]}')).statusCode, 400)
    assert.equal((await signup('"constructor":{"prototype":{"roles":["admin"]}}')).statusCode, 400)
    const ignored = await signup('"constructor":{"name":"x"},"prototype":1,"roles":["admin"]')
    assert.equal(ignored.statusCode, 201)
    assert.deepEqual(ignored.json().roles, ['user'])
    assert.equal(({} as Record<string, unknown>).roles, undefined, 'Object.prototype is untouched')
  })

  it('answers a body without a content type with 415', async () => {
    const response = await ctx().app.inject({
      method: 'POST',
      url: '/auth/signup',
      payload: '{"email":"a@b.co"}',
      headers: { 'content-type': '' },
    })
    assert.equal(response.statusCode, 415)
  })

  it('answers 3 000-character strings in every field of every body with 422', async () => {
    const { authorization } = await clientFor(ctx()).loggedInUser()
    // Over every field's limit, with the whole body under the routes' 16 KiB.
    const long = 'x'.repeat(3_000)
    for (const [method, url, payload] of [
      ['POST', '/auth/signup', { email: long, password: long, username: long, full_name: long }],
      ['POST', '/auth/login', { username: long, password: long, scope: long }],
      ['POST', '/auth/refresh', { refresh_token: long }],
      ['PATCH', '/me', { full_name: long, username: long }],
      ['POST', '/todos', { title: long }],
    ] as const) {
      const response = await ctx().app.inject({ method, url, headers: { authorization }, payload })
      assert.equal(response.statusCode, 422, `${method} ${url}`)
    }
  })
})

const ADMIN = { ADMIN_EMAIL: 'root@example.com', ADMIN_PASSWORD: 'an admin passphrase 42' }
const FORM_TYPE = 'application/x-www-form-urlencoded'
const JSON_TYPE = 'application/json'

interface DocumentedOperation {
  method: string
  url: string
  /** The body's media types; undefined for a route without a body. */
  consumes: string[] | undefined
  bodyRequired: boolean
}

await describeOnDatabases(
  'Empty bodies',
  (ctx) => {
    /** Every POST, PUT and PATCH operation the OpenAPI document lists, path parameters filled in. */
    async function bodyOperations(): Promise<DocumentedOperation[]> {
      const document = (await ctx().app.inject({ method: 'GET', url: '/openapi.json' })).json<{
        paths: Record<string, Record<string, { requestBody?: { required?: boolean; content: object } }>>
      }>()
      return Object.entries(document.paths).flatMap(([url, item]) =>
        Object.entries(item)
          .filter(([method]) => ['post', 'put', 'patch'].includes(method))
          .map(([method, { requestBody }]) => ({
            method: method.toUpperCase(),
            url: url.replace(/\{\w+\}/g, '00000000-0000-4000-8000-000000000000'),
            consumes: requestBody && Object.keys(requestBody.content),
            bodyRequired: requestBody?.required !== false,
          })),
      )
    }

    async function adminAuthorization(): Promise<string> {
      const login = await ctx().app.inject({
        method: 'POST',
        url: '/auth/login',
        payload: {
          username: ADMIN.ADMIN_EMAIL,
          password: ADMIN.ADMIN_PASSWORD,
          scope: 'profile todos:read todos:write admin',
        },
      })
      assert.equal(login.statusCode, 200, login.body)
      return `Bearer ${login.json<{ access_token: string }>().access_token}`
    }

    const emptyPost = (operation: DocumentedOperation, authorization: string, contentType?: string) =>
      ctx().app.inject({
        method: operation.method as 'POST',
        url: operation.url,
        headers: { authorization, ...(contentType !== undefined && { 'content-type': contentType }) },
        payload: '',
      })

    it('answers an empty form POST with 415 on every route that does not take forms, and with a 4xx from the route’s own checks where forms are taken, never a 2xx or 5xx', async () => {
      const authorization = await adminAuthorization()
      const operations = (await bodyOperations()).filter((operation) => operation.consumes !== undefined)
      assert.ok(operations.some((operation) => operation.url === '/auth/refresh'))
      assert.ok(operations.some((operation) => operation.consumes!.includes(FORM_TYPE)))
      for (const operation of operations) {
        const where = `${operation.method} ${operation.url}`
        const response = await emptyPost(operation, authorization, FORM_TYPE)
        if (operation.consumes!.includes(FORM_TYPE)) {
          // 422 VALIDATION_ERROR, or RFC 6749's 400 invalid_request on /auth/token.
          assert.ok(
            [400, 422].includes(response.statusCode),
            `${where}: ${response.statusCode} ${response.body}`,
          )
        } else {
          assert.equal(response.statusCode, 415, `${where}: ${response.body}`)
          assert.equal(response.json().error.code, 'UNSUPPORTED_MEDIA_TYPE', where)
        }
      }
    })

    it('answers an empty POST with no Content-Type or labelled JSON with a 4xx on every route with a body, and any empty POST with no 5xx on routes without one', async () => {
      const authorization = await adminAuthorization()
      const operations = await bodyOperations()
      for (const operation of operations.filter((operation) => operation.consumes !== undefined)) {
        const where = `${operation.method} ${operation.url}`
        const none = await emptyPost(operation, authorization)
        // 422: the body is required; 401 on /auth/refresh, whose body is optional, without a cookie.
        assert.ok([400, 401, 422].includes(none.statusCode), `${where}, no Content-Type: ${none.body}`)
        const json = await emptyPost(operation, authorization, JSON_TYPE)
        const expected = !operation.consumes!.includes(JSON_TYPE) ? 415 : operation.bodyRequired ? 400 : 401
        assert.equal(json.statusCode, expected, `${where}, empty JSON: ${json.body}`)
      }
      for (const operation of operations.filter((operation) => operation.consumes === undefined)) {
        for (const contentType of [undefined, JSON_TYPE, FORM_TYPE, 'text/plain']) {
          // A fresh session each time: /auth/logout and /auth/logout-all end theirs.
          const fresh = await clientFor(ctx()).loggedInUser()
          const response = await emptyPost(operation, fresh.authorization, contentType)
          assert.ok(
            response.statusCode < 500,
            `${operation.method} ${operation.url} ${contentType}: ${response.body}`,
          )
        }
      }
    })
  },
  { env: ADMIN },
)
