import assert from 'node:assert/strict'
import { it } from 'node:test'
import { GRANTS } from '../../../src/features/token/grants/index.ts'
import { STRONG_PASSWORD, describeOnDatabases, uniqueEmail } from '../../support/harness.ts'
import { clientFor } from '../../support/client.ts'

await describeOnDatabases('POST /auth/token (RFC 6749)', (ctx) => {
  const api = clientFor(ctx)
  const newUser = async () => (await api.signedUpUser()).email

  it('grants tokens for grant_type=password, with no-store and no-cache (§5.1)', async () => {
    const email = await newUser()
    const response = await api.token({
      grant_type: 'password',
      username: email,
      password: STRONG_PASSWORD,
      scope: 'profile',
    })
    assert.equal(response.statusCode, 200)
    const body = response.json()
    assert.equal(body.token_type, 'bearer')
    assert.equal(body.scope, 'profile')
    assert.ok(body.access_token && body.refresh_token)
    assert.equal(response.headers['cache-control'], 'no-store')
    assert.equal(response.headers.pragma, 'no-cache')
  })

  it('documents every grant of the registry in the OpenAPI description of grant_type', async () => {
    const document = (await ctx().app.inject({ method: 'GET', url: '/openapi.json' })).json()
    const schema =
      document.paths['/auth/token'].post.requestBody.content['application/x-www-form-urlencoded'].schema
    for (const type of GRANTS.keys())
      assert.match(schema.properties.grant_type.description, new RegExp(`\`${type}\``))
  })

  it('ignores parameters it does not know, such as a public client_id (§3.2)', async () => {
    const email = await newUser()
    const response = await api.token({
      grant_type: 'password',
      username: email,
      password: STRONG_PASSWORD,
      client_id: 'swagger',
    })
    assert.equal(response.statusCode, 200)
  })

  it('answers a wrong password with 400 invalid_grant in RFC 6749 §5.2 form', async () => {
    const email = await newUser()
    const response = await api.token({ grant_type: 'password', username: email, password: 'wrong password!' })
    assert.equal(response.statusCode, 400)
    assert.deepEqual(Object.keys(response.json()).sort(), ['error', 'error_description'])
    assert.equal(response.json().error, 'invalid_grant')
    assert.equal(response.headers['cache-control'], 'no-store')
  })

  it('answers an unknown user exactly like a wrong password', async () => {
    const email = await newUser()
    const wrong = await api.token({ grant_type: 'password', username: email, password: 'wrong password!' })
    const unknown = await api.token({
      grant_type: 'password',
      username: uniqueEmail(),
      password: 'wrong password!',
    })
    assert.equal(unknown.statusCode, wrong.statusCode)
    assert.equal(unknown.body, wrong.body)
  })

  it('answers an unknown grant type with unsupported_grant_type', async () => {
    for (const grant_type of ['authorization_code', 'urn:ietf:params:oauth:grant-type:device_code', '']) {
      const response = await api.token({ grant_type })
      assert.equal(response.statusCode, 400, grant_type)
      assert.equal(response.json().error, 'unsupported_grant_type')
    }
  })

  it('answers a missing grant_type or password with invalid_request', async () => {
    for (const form of [
      { username: 'x', password: 'y' },
      { grant_type: 'password', username: 'x' },
    ]) {
      const response = await api.token(form)
      assert.equal(response.statusCode, 400)
      assert.equal(response.json().error, 'invalid_request')
    }
  })

  it('answers a JSON body with 415 in RFC 6749 form', async () => {
    const response = await ctx().app.inject({
      method: 'POST',
      url: '/auth/token',
      payload: { grant_type: 'password', username: 'a', password: 'b' },
    })
    assert.equal(response.statusCode, 415)
    assert.equal(response.json().error, 'invalid_request')
  })

  it('does not set the refresh cookie (it is for API clients, not browsers)', async () => {
    const email = await newUser()
    const response = await api.token({ grant_type: 'password', username: email, password: STRONG_PASSWORD })
    assert.equal(response.headers['set-cookie'], undefined)
  })
})
