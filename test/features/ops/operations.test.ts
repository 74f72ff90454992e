import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { it } from 'node:test'
import { describe } from 'node:test'
import { createTestDatabase, databaseKinds } from '../../support/databases.ts'
import { describeOnDatabases, startTestApp, stopTestApp } from '../../support/harness.ts'
import { clientFor } from '../../support/client.ts'
import { startTcpProxy } from '../../support/tcp-proxy.ts'

const postgresSkip = (await databaseKinds()).find((d) => d.kind === 'postgres')?.skip ?? false

await describeOnDatabases('GET /health', (ctx) => {
  it('answers 200 {"status":"ok"}', async () => {
    const response = await ctx().app.inject({ method: 'GET', url: '/health' })
    assert.equal(response.statusCode, 200)
    assert.deepEqual(response.json(), { status: 'ok' })
  })
})

await describeOnDatabases('GET /ready', (ctx) => {
  it('answers 200 with the database check', async () => {
    const response = await ctx().app.inject({ method: 'GET', url: '/ready' })
    assert.equal(response.statusCode, 200)
    assert.deepEqual(response.json(), { status: 'ready', checks: { database: 'ok' } })
  })
})

await describeOnDatabases('GET /metrics', (ctx) => {
  it('exposes request counts and durations by route and status in Prometheus format', async () => {
    await ctx().app.inject({ method: 'GET', url: '/health' })
    await ctx().app.inject({ method: 'GET', url: '/missing' })
    const response = await ctx().app.inject({ method: 'GET', url: '/metrics' })
    assert.equal(response.statusCode, 200)
    assert.match(String(response.headers['content-type']), /^text\/plain/)
    assert.match(response.body, /http_requests_total\{method="GET",route="\/health",status="200"\} [1-9]/)
    assert.match(response.body, /http_requests_total\{method="GET",route="unmatched",status="404"\} [1-9]/)
    assert.match(
      response.body,
      /http_request_duration_seconds_bucket\{le="0.005",method="GET",route="\/health",status="200"\}/,
    )
    assert.match(response.body, /# TYPE gatehouse_logins_total counter/)
  })
})

const METRICS_TOKEN = randomBytes(32).toString('base64')

await describeOnDatabases(
  'GET /metrics with METRICS_TOKEN',
  (ctx) => {
    const metrics = (authorization?: string) =>
      ctx().app.inject({
        method: 'GET',
        url: '/metrics',
        headers: authorization === undefined ? {} : { authorization },
      })
    const assertRefused = (response: Awaited<ReturnType<typeof metrics>>, code: string) => {
      assert.equal(response.statusCode, 401)
      assert.equal(response.json().error.code, code)
      assert.match(response.json().error.request_id, /./)
      assert.match(String(response.headers['www-authenticate']), /^Bearer/)
      assert.doesNotMatch(response.body, /http_requests_total|process_cpu/)
    }

    it('refuses a scrape without the token: 401 AUTH_REQUIRED in the error envelope, no metrics', async () => {
      assertRefused(await metrics(), 'AUTH_REQUIRED')
      assertRefused(
        await metrics(`Basic ${Buffer.from(`x:${METRICS_TOKEN}`).toString('base64')}`),
        'AUTH_REQUIRED',
      )
    })

    it('refuses a wrong token, a prefix of it, a longer one and a user access token: 401 INVALID_TOKEN', async () => {
      for (const wrong of [
        randomBytes(32).toString('base64'),
        METRICS_TOKEN.slice(0, -1),
        `${METRICS_TOKEN}A`,
        METRICS_TOKEN.toLowerCase(),
      ]) {
        assertRefused(await metrics(`Bearer ${wrong}`), 'INVALID_TOKEN')
      }
      const { tokens } = await clientFor(ctx()).loggedInUser()
      assertRefused(await metrics(`Bearer ${tokens.access_token}`), 'INVALID_TOKEN')
      assertRefused(await metrics('Bearer'), 'INVALID_TOKEN')
    })

    it('serves the metrics to Authorization: Bearer <METRICS_TOKEN>', async () => {
      for (const scheme of ['Bearer', 'bearer']) {
        const response = await metrics(`${scheme} ${METRICS_TOKEN}`)
        assert.equal(response.statusCode, 200)
        assert.match(response.body, /# TYPE gatehouse_logins_total counter/)
      }
    })

    it('documents the token in the OpenAPI document', async () => {
      const document = (await ctx().app.inject({ method: 'GET', url: '/openapi.json' })).json()
      assert.deepEqual(document.paths['/metrics'].get.security, [{ MetricsToken: [] }])
      assert.equal(document.components.securitySchemes.MetricsToken.scheme, 'bearer')
      assert.ok(document.paths['/metrics'].get.responses['401'])
    })

    it('never writes the token to the log', () => {
      assert.ok(!ctx().logs.text().includes(METRICS_TOKEN))
    })
  },
  { env: { METRICS_TOKEN } },
)

describe('GET /ready when the database is gone', () => {
  it('answers 503 UNAVAILABLE naming the database', async () => {
    const database = await createTestDatabase('sqlite')
    const testApp = await startTestApp(database)
    try {
      await testApp.context.db.destroy()
      const response = await testApp.app.inject({ method: 'GET', url: '/ready' })
      assert.equal(response.statusCode, 503)
      assert.equal(response.json().error.code, 'UNAVAILABLE')
      assert.deepEqual(response.json().error.details, [{ field: 'database', message: 'not reachable' }])
      assert.equal((await testApp.app.inject({ method: 'GET', url: '/health' })).statusCode, 200)
    } finally {
      await testApp.app.close()
      await database.drop()
    }
  })

  it(
    'answers 503 on PostgreSQL when the server cannot be reached, for /ready and for any route',
    { skip: postgresSkip },
    async () => {
      const database = await createTestDatabase('postgres')
      const target = new URL(database.url)
      const proxy = await startTcpProxy(Number(target.port || 5432), target.hostname)
      const throughProxy = new URL(database.url)
      throughProxy.port = String(proxy.port)
      const testApp = await startTestApp({ ...database, url: throughProxy.toString() })
      try {
        assert.equal((await testApp.app.inject({ method: 'GET', url: '/ready' })).statusCode, 200)
        await proxy.close()
        const ready = await testApp.app.inject({ method: 'GET', url: '/ready' })
        assert.equal(ready.statusCode, 503)
        assert.equal(ready.json().error.code, 'UNAVAILABLE')
        const login = await testApp.app.inject({
          method: 'POST',
          url: '/auth/login',
          payload: { username: 'a@b.co', password: 'x' },
        })
        assert.equal(login.statusCode, 503)
        assert.equal(login.json().error.code, 'UNAVAILABLE')
        assert.equal(login.headers['retry-after'], '5')
      } finally {
        await stopTestApp(testApp)
        await database.drop()
      }
    },
  )
})
