import assert from 'node:assert/strict'
import { it } from 'node:test'
import { newOpaqueToken } from '../../../src/platform/crypto/opaque-tokens.ts'
import { clientFor, type Response } from '../../support/client.ts'
import { basicAuthorization, registerClient, type RegisteredClient } from '../../support/clients.ts'
import { describeOnDatabases } from '../../support/harness.ts'

await describeOnDatabases('POST /auth/introspect (RFC 7662)', (ctx) => {
  const api = clientFor(ctx)
  let introspector: RegisteredClient
  const introspect = (token: string, by: RegisteredClient = introspector): Promise<Response> =>
    api.request({
      method: 'POST',
      url: '/auth/introspect',
      form: { token },
      headers: { authorization: basicAuthorization(by.clientId, by.secret) },
    })
  const machineToken = async (client: RegisteredClient) =>
    (
      await api.token(
        { grant_type: 'client_credentials' },
        { headers: { authorization: basicAuthorization(client.clientId, client.secret) } },
      )
    ).json().access_token as string

  it('describes a live user access token, with no-store', async () => {
    introspector = await registerClient(ctx(), { scopes: ['introspect'] })
    const { user, tokens } = await api.loggedInUser({ username: `u${Date.now()}` })
    const response = await introspect(tokens.access_token)
    assert.equal(response.statusCode, 200)
    assert.equal(response.headers['cache-control'], 'no-store')
    const body = response.json()
    assert.equal(body.active, true)
    assert.equal(body.token_type, 'bearer')
    assert.equal(body.client_id, 'gatehouse')
    assert.equal(body.sub, user.id)
    assert.equal(body.username, user.username)
    assert.equal(body.scope, tokens.scope)
    assert.equal(body.iss, ctx().context.config.jwt.issuer)
    assert.equal(body.aud, ctx().context.config.jwt.audience)
    assert.ok(typeof body.exp === 'number' && typeof body.iat === 'number' && body.exp > body.iat)
    assert.ok(typeof body.jti === 'string' && typeof body.sid === 'string')
  })

  it('answers active: false, and nothing else, once the session is logged out', async () => {
    const { tokens } = await api.loggedInUser()
    assert.equal((await api.logout(tokens.access_token)).statusCode, 204)
    assert.deepEqual((await introspect(tokens.access_token)).json(), { active: false })
  })

  it('answers active: false for garbage, a tampered JWT and an unknown refresh token', async () => {
    const { tokens } = await api.loggedInUser()
    const [header, payload, signature] = tokens.access_token.split('.')
    const tampered = `${header}.${payload}.${signature?.startsWith('A') ? 'B' : 'A'}${signature?.slice(1)}`
    for (const token of ['garbage', tampered, newOpaqueToken(), 'gatehouse_pat_short'])
      assert.deepEqual((await introspect(token)).json(), { active: false }, token)
  })

  it('describes a refresh token until it is rotated away', async () => {
    const { user, tokens } = await api.loggedInUser()
    const live = (await introspect(tokens.refresh_token)).json()
    assert.equal(live.active, true)
    assert.equal(live.token_type, 'refresh_token')
    assert.equal(live.sub, user.id)
    assert.equal(live.client_id, 'gatehouse')
    assert.ok(typeof live.sid === 'string' && live.exp > live.iat)
    assert.equal((await api.refresh(tokens.refresh_token)).statusCode, 200)
    assert.deepEqual((await introspect(tokens.refresh_token)).json(), { active: false })
  })

  it("describes a machine client's token, and not once the client is revoked", async () => {
    const client = await registerClient(ctx(), { scopes: ['reports:read'] })
    const token = await machineToken(client)
    const body = (await introspect(token)).json()
    assert.equal(body.active, true)
    assert.equal(body.sub, client.clientId)
    assert.equal(body.client_id, client.clientId)
    assert.equal(body.scope, 'reports:read')
    assert.equal(body.sid, undefined)
    await ctx().context.revocations.announce([{ kind: 'client', value: client.clientId }])
    assert.deepEqual((await introspect(token)).json(), { active: false })
  })

  it("describes a personal access token: jti is its id, scope narrowed to the user's roles", async () => {
    const { user, tokens } = await api.loggedInUser()
    const { token, id } = await api.personalToken(tokens.access_token, { scope: 'profile todos:read' })
    // The roles shrink behind the token's back (no revocation): introspection narrows anyway.
    await ctx()
      .context.db.updateTable('users')
      .set({ roles: JSON.stringify(['reader']) })
      .where('id', '=', user.id)
      .execute()
    const body = (await introspect(token)).json()
    assert.equal(body.active, true)
    assert.equal(body.token_type, 'bearer')
    assert.equal(body.jti, id)
    assert.equal(body.client_id, 'gatehouse')
    assert.equal(body.sub, user.id)
    assert.equal(body.scope, '')
    const flipped = `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`
    assert.deepEqual((await introspect(flipped)).json(), { active: false })
  })

  it("answers active: false for a deleted user's personal access token", async () => {
    const { user, tokens } = await api.loggedInUser()
    const { token } = await api.personalToken(tokens.access_token)
    await ctx().context.db.deleteFrom('users').where('id', '=', user.id).execute()
    assert.deepEqual((await introspect(token)).json(), { active: false })
  })

  it('refuses a client without the introspect scope: 403 unauthorized_client', async () => {
    const client = await registerClient(ctx(), { scopes: ['reports:read'] })
    const { tokens } = await api.loggedInUser()
    const response = await introspect(tokens.access_token, client)
    assert.equal(response.statusCode, 403)
    assert.equal(response.json().error, 'unauthorized_client')
  })

  it('needs client authentication: 401 invalid_client without it or with a wrong secret', async () => {
    const anonymous = await api.request({ method: 'POST', url: '/auth/introspect', form: { token: 'x' } })
    assert.equal(anonymous.statusCode, 401)
    assert.equal(anonymous.json().error, 'invalid_client')
    assert.equal(anonymous.headers['www-authenticate'], undefined)
    const wrong = await introspect('x', { ...introspector, secret: 'wrong' })
    assert.equal(wrong.statusCode, 401)
    assert.equal(wrong.headers['www-authenticate'], 'Basic realm="gatehouse"')
  })

  it('refuses a body without token with 400 invalid_request', async () => {
    const response = await api.request({
      method: 'POST',
      url: '/auth/introspect',
      form: {},
      headers: { authorization: basicAuthorization(introspector.clientId, introspector.secret) },
    })
    assert.equal(response.statusCode, 400)
    assert.equal(response.json().error, 'invalid_request')
  })
})
