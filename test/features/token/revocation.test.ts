import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { clientFor, type Response } from '../../support/client.ts'
import { basicAuthorization, registerClient, type RegisteredClient } from '../../support/clients.ts'
import {
  REDIS_URL,
  createTestDatabase,
  sharedServicesSkip,
  type TestDatabase,
} from '../../support/databases.ts'
import {
  describeOnDatabases,
  startAnotherInstance,
  startTestApp,
  stopTestApp,
  type TestApp,
} from '../../support/harness.ts'

const revokeWith = (t: () => TestApp, token: string, by?: RegisteredClient): Promise<Response> =>
  clientFor(t).request({
    method: 'POST',
    url: '/auth/revoke',
    form: { token },
    headers: by && { authorization: basicAuthorization(by.clientId, by.secret) },
  })

const machineToken = async (t: () => TestApp, client: RegisteredClient): Promise<string> => {
  const response = await clientFor(t).token(
    { grant_type: 'client_credentials' },
    { headers: { authorization: basicAuthorization(client.clientId, client.secret) } },
  )
  assert.equal(response.statusCode, 200, response.body)
  return response.json().access_token as string
}

await describeOnDatabases('POST /auth/revoke (RFC 7009)', (ctx) => {
  const api = clientFor(ctx)
  const revoke = (token: string, by?: RegisteredClient) => revokeWith(ctx, token, by)

  it("ends the session of a user's refresh token, without client authentication", async () => {
    const { tokens } = await api.loggedInUser()
    const response = await revoke(tokens.refresh_token)
    assert.equal(response.statusCode, 200)
    assert.equal(response.headers['cache-control'], 'no-store')
    assert.equal((await api.refresh(tokens.refresh_token)).statusCode, 401)
    assert.equal((await api.me(tokens.access_token)).statusCode, 401)
  })

  it("ends the session of a user's access token", async () => {
    const { tokens } = await api.loggedInUser()
    assert.equal((await revoke(tokens.access_token)).statusCode, 200)
    assert.equal((await api.me(tokens.access_token)).statusCode, 401)
    assert.equal((await api.refresh(tokens.refresh_token)).statusCode, 401)
  })

  it('answers 200 for a token that is unknown, malformed or already revoked', async () => {
    const { tokens } = await api.loggedInUser()
    assert.equal((await revoke(tokens.access_token)).statusCode, 200)
    for (const token of [tokens.access_token, 'garbage', 'gatehouse_pat_x', 'a.b.c'])
      assert.equal((await revoke(token)).statusCode, 200, token)
  })

  it('ends a personal access token, and only it', async () => {
    const { tokens } = await api.loggedInUser()
    const pat = await api.personalToken(tokens.access_token)
    assert.equal((await revoke(pat.token)).statusCode, 200)
    const left = await ctx()
      .context.db.selectFrom('personal_access_tokens')
      .select('id')
      .where('id', '=', pat.id)
      .execute()
    assert.deepEqual(left, [])
    assert.equal(await ctx().context.revocations.isRevoked('pat', pat.id), true)
    const audited = await ctx()
      .context.db.selectFrom('audit_events')
      .select('data')
      .where('type', '=', 'personal_token_deleted')
      .execute()
    assert.ok(
      audited.some(
        ({ data }) => JSON.parse(data).token_id === pat.id && JSON.parse(data).by === 'revocation_endpoint',
      ),
    )
    assert.equal((await api.me(tokens.access_token)).statusCode, 200, 'the session lives on')
  })

  it('lets a client revoke its own token', async () => {
    const client = await registerClient(ctx(), { scopes: ['reports:read'] })
    const token = await machineToken(ctx, client)
    assert.equal((await revoke(token, client)).statusCode, 200)
    await assert.rejects(ctx().context.accessTokens.verify(token), { code: 'INVALID_TOKEN' })
  })

  it("refuses another client's token with 400 unauthorized_client, and revokes nothing", async () => {
    const owner = await registerClient(ctx(), { scopes: ['reports:read'] })
    const other = await registerClient(ctx(), { scopes: ['reports:read'] })
    const token = await machineToken(ctx, owner)
    const response = await revoke(token, other)
    assert.equal(response.statusCode, 400)
    assert.equal(response.json().error, 'unauthorized_client')
    const anonymous = await revoke(token)
    assert.equal(anonymous.statusCode, 400, "the public client cannot revoke a machine client's token")
    assert.equal((await ctx().context.accessTokens.verify(token)).kind, 'client')
  })

  it("refuses a user's token to an authenticated client: it was issued to gatehouse", async () => {
    const client = await registerClient(ctx())
    const { tokens } = await api.loggedInUser()
    const response = await revoke(tokens.refresh_token, client)
    assert.equal(response.statusCode, 400)
    assert.equal(response.json().error, 'unauthorized_client')
    assert.equal((await api.me(tokens.access_token)).statusCode, 200)
  })

  it('answers a client that fails to authenticate with 401 invalid_client, and revokes nothing', async () => {
    const client = await registerClient(ctx())
    const token = await machineToken(ctx, client)
    const response = await revoke(token, { ...client, secret: 'wrong' })
    assert.equal(response.statusCode, 401)
    assert.equal(response.json().error, 'invalid_client')
    assert.equal((await ctx().context.accessTokens.verify(token)).kind, 'client')
  })
})

/** A revoked machine token stops on another instance that shares the database (and Redis). */
for (const redis of [false, true]) {
  await describe(`POST /auth/revoke across two instances [${redis ? 'Redis' : 'database only'}]`, async () => {
    const skip = await sharedServicesSkip()
    let database: TestDatabase | undefined
    let a: TestApp | undefined
    let b: TestApp | undefined
    // One key prefix: the two instances share the channel, as two deployments' instances do.
    const env: Record<string, string> = redis ? { REDIS_URL, REDIS_KEY_PREFIX: `test:${randomUUID()}:` } : {}
    before(async () => {
      if (skip) return
      database = await createTestDatabase('postgres')
      a = await startTestApp(database, { env })
      b = await startAnotherInstance(a, { env })
    })
    after(async () => {
      if (b) await stopTestApp(b)
      if (a) await stopTestApp(a)
      await database?.drop()
    })
    const ctxA = () => a as TestApp
    const ctxB = () => b as TestApp

    it('stops the token on the other instance too', { skip }, async () => {
      const client = await registerClient(ctxA(), { scopes: ['reports:read'] })
      const token = await machineToken(ctxA, client)
      assert.equal((await ctxB().context.accessTokens.verify(token)).kind, 'client')
      assert.equal((await revokeWith(ctxA, token, client)).statusCode, 200)
      // With Redis at once; without, within a reconcile interval (2 s).
      const deadline = Date.now() + (redis ? 1000 : 4000)
      let revoked = false
      while (!revoked && Date.now() < deadline) {
        revoked = await ctxB()
          .context.accessTokens.verify(token)
          .then(
            () => false,
            () => true,
          )
        if (!revoked) await sleep(50)
      }
      assert.ok(revoked, 'the other instance refuses the token')
    })
  })
}
