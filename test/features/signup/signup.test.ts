import assert from 'node:assert/strict'
import { it } from 'node:test'
import { STRONG_PASSWORD, USER_FIELDS, describeOnDatabases, uniqueEmail } from '../../support/harness.ts'
import { clientFor } from '../../support/client.ts'

await describeOnDatabases('POST /auth/signup', (ctx) => {
  const api = clientFor(ctx)

  it('creates the user and returns 201 with the user object', async () => {
    const email = uniqueEmail()
    const response = await api.signup({
      email,
      password: STRONG_PASSWORD,
      username: `u${Date.now()}`,
      full_name: 'Ada Lovelace',
    })
    assert.equal(response.statusCode, 201)
    const user = response.json()
    assert.deepEqual(Object.keys(user).sort(), USER_FIELDS)
    assert.match(user.id, /^[0-9a-f-]{36}$/)
    assert.equal(user.email, email)
    assert.deepEqual(user.roles, ['user'])
    assert.equal(user.email_verified, false)
    assert.equal(user.disabled, false)
    assert.equal(user.full_name, 'Ada Lovelace')
    assert.match(user.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
    assert.match(response.headers['x-request-id'] as string, /.+/)
  })

  it('never returns the password or its hash', async () => {
    const response = await api.signup({ email: uniqueEmail(), password: STRONG_PASSWORD })
    assert.equal(response.statusCode, 201)
    assert.ok(!response.body.includes(STRONG_PASSWORD))
    assert.ok(!response.body.includes('argon2'))
    assert.ok(!('password_hash' in response.json()))
  })

  it('stores a new password as argon2id', async () => {
    const email = uniqueEmail()
    await api.signup({ email, password: STRONG_PASSWORD })
    const row = await ctx()
      .context.db.selectFrom('users')
      .select('password_hash')
      .where('email', '=', email)
      .executeTakeFirstOrThrow()
    assert.match(row.password_hash, /^\$argon2id\$v=19\$/)
  })

  it('trims the email and treats it case-insensitively: a different case is a taken email (409)', async () => {
    const email = uniqueEmail('Case')
    assert.equal((await api.signup({ email: `  ${email}  `, password: STRONG_PASSWORD })).json().email, email)
    const again = await api.signup({ email: email.toUpperCase(), password: STRONG_PASSWORD })
    assert.equal(again.statusCode, 409)
    assert.equal(again.json().error.code, 'ACCOUNT_EXISTS')
  })

  it('rejects a taken username, compared case-insensitively, with 409 ACCOUNT_EXISTS', async () => {
    const username = `Name${Date.now()}`
    assert.equal(
      (await api.signup({ email: uniqueEmail(), password: STRONG_PASSWORD, username })).statusCode,
      201,
    )
    const again = await api.signup({
      email: uniqueEmail(),
      password: STRONG_PASSWORD,
      username: username.toLowerCase(),
    })
    assert.equal(again.statusCode, 409)
    assert.equal(again.json().error.code, 'ACCOUNT_EXISTS')
  })

  for (const [why, password] of [
    ['shorter than 8 characters', 'Ab1!xyz'],
    ['longer than 128 characters', 'x'.repeat(129)],
    ['on the common-password list', 'password123'],
    ['on the common-password list in another case', 'PassWord123'],
  ] as const) {
    it(`rejects a password ${why} with 422 and a detail on the password field`, async () => {
      const response = await api.signup({ email: uniqueEmail(), password })
      assert.equal(response.statusCode, 422)
      const { error } = response.json()
      assert.equal(error.code, 'VALIDATION_ERROR')
      assert.equal(error.details[0].field, 'password')
    })
  }

  it('rejects a password equal to the email or the username', async () => {
    const email = uniqueEmail()
    const sameAsEmail = await api.signup({ email, password: email })
    assert.equal(sameAsEmail.statusCode, 422)
    const sameAsUsername = await api.signup({
      email: uniqueEmail(),
      password: 'LongUsername1',
      username: 'LongUsername1',
    })
    assert.equal(sameAsUsername.statusCode, 422)
    assert.equal(sameAsUsername.json().error.details[0].field, 'password')
  })

  it('accepts any characters in a password, normalised with NFKC (no composition rules)', async () => {
    const email = uniqueEmail()
    const response = await api.signup({ email, password: 'ﬁsh ﬁngers and custard' })
    assert.equal(response.statusCode, 201)
    const login = await ctx().app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { username: email, password: 'fish fingers and custard' },
    })
    assert.equal(login.statusCode, 200)
  })

  it('lists every invalid field in details', async () => {
    const response = await api.signup({ email: 'not-an-email', password: 42, username: 'a b' })
    assert.equal(response.statusCode, 422)
    const fields = response
      .json()
      .error.details.map((d: { field: string }) => d.field)
      .sort()
    assert.deepEqual(fields, ['email', 'password', 'username'])
  })

  it('reports a missing field by name', async () => {
    const response = await api.signup({ password: STRONG_PASSWORD })
    assert.equal(response.statusCode, 422)
    assert.deepEqual(response.json().error.details, [{ field: 'email', message: 'is required' }])
  })

  it('does not let a client choose its roles', async () => {
    const response = await api.signup({ email: uniqueEmail(), password: STRONG_PASSWORD, roles: ['admin'] })
    assert.equal(response.statusCode, 201)
    assert.deepEqual(response.json().roles, ['user'])
  })

  it('answers a form body with 415 UNSUPPORTED_MEDIA_TYPE', async () => {
    const response = await ctx().app.inject({
      method: 'POST',
      url: '/auth/signup',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: `email=${uniqueEmail()}&password=${STRONG_PASSWORD}`,
    })
    assert.equal(response.statusCode, 415)
    assert.equal(response.json().error.code, 'UNSUPPORTED_MEDIA_TYPE')
  })
})
