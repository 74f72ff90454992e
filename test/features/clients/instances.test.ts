import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { RECONCILE_INTERVAL_MS } from '../../../src/identity/revocations/revocations.ts'
import { ADMIN, clientFor } from '../../support/client.ts'
import { basicAuthorization } from '../../support/clients.ts'
import {
  REDIS_URL,
  createTestDatabase,
  sharedServicesSkip,
  type TestDatabase,
} from '../../support/databases.ts'
import {
  startAnotherInstance,
  startTestApp,
  stopTestApp,
  untilSubscribed,
  type TestApp,
} from '../../support/harness.ts'

/** Whether `t` still accepts `token`, asked until it refuses it or `withinMs` have passed. */
async function stillAcceptedAfter(t: TestApp, token: string, withinMs: number): Promise<boolean> {
  const deadline = Date.now() + withinMs
  for (;;) {
    const accepted = await t.context.accessTokens.verify(token).then(
      () => true,
      () => false,
    )
    if (!accepted || Date.now() > deadline) return accepted
    await sleep(50)
  }
}

/** Admin changes on instance A stop the client's tokens on instance B, which shares the database. */
for (const redis of [false, true]) {
  await describe(`Machine clients across two instances [${redis ? 'Redis' : 'database only'}]`, async () => {
    const skip = await sharedServicesSkip()
    let database: TestDatabase | undefined
    let a: TestApp | undefined
    let b: TestApp | undefined
    const env: Record<string, string> = {
      ...ADMIN,
      ...(redis && { REDIS_URL, REDIS_KEY_PREFIX: `test:${randomUUID()}:` }),
    }
    // With Redis at once; without, within a reconcile interval.
    const withinMs = redis ? 1000 : RECONCILE_INTERVAL_MS + 1000

    before(async () => {
      if (skip) return
      database = await createTestDatabase('postgres')
      a = await startTestApp(database, { env })
      b = await startAnotherInstance(a, { env })
      if (redis) await untilSubscribed(a, b)
    })
    after(async () => {
      if (b) await stopTestApp(b)
      if (a) await stopTestApp(a)
      await database?.drop()
    })

    /** A client registered on A and a token it got from A, already verified (and cached) on B. */
    async function clientWithToken() {
      const api = clientFor(a!)
      const admin = await api.adminToken()
      const created = await api.as(admin).post('/admin/clients', {
        name: 'worker',
        scopes: ['reports:read'],
        token_endpoint_auth_method: 'client_secret_basic',
      })
      assert.equal(created.statusCode, 201, created.body)
      const { client_id: clientId, client_secret: secret } = created.json<{
        client_id: string
        client_secret: string
      }>()
      const granted = await api.token(
        { grant_type: 'client_credentials' },
        { headers: { authorization: basicAuthorization(clientId, secret) } },
      )
      assert.equal(granted.statusCode, 200, granted.body)
      const token = granted.json<{ access_token: string }>().access_token
      assert.equal((await b!.context.accessTokens.verify(token)).kind, 'client', 'accepted on B')
      return { api, admin, clientId, token }
    }

    it(
      `a client disabled on one instance has its tokens refused on another within ${withinMs} ms`,
      { skip },
      async () => {
        const { api, admin, clientId, token } = await clientWithToken()
        const response = await api.as(admin).patch(`/admin/clients/${clientId}`, { disabled: true })
        assert.equal(response.statusCode, 200, response.body)
        assert.equal(await stillAcceptedAfter(b!, token, withinMs), false)
      },
    )

    it(
      `a client deleted on one instance has its tokens refused on another within ${withinMs} ms`,
      { skip },
      async () => {
        const { api, admin, clientId, token } = await clientWithToken()
        const response = await api.as(admin).delete(`/admin/clients/${clientId}`)
        assert.equal(response.statusCode, 204, response.body)
        assert.equal(await stillAcceptedAfter(b!, token, withinMs), false)
      },
    )
  })
}
