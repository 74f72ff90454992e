import assert from 'node:assert/strict'
import { it } from 'node:test'
import { STRONG_PASSWORD, describeOnDatabases, signupAndLogin, uniqueEmail } from '../support/harness.ts'

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
    const { authorization } = await signupAndLogin(ctx().app)
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
