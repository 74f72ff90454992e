import assert from 'node:assert/strict'
import { it } from 'node:test'
import { describe } from 'node:test'
import { createTestDatabase, databaseKinds } from '../support/databases.ts'
import { describeOnDatabases, startTestApp, stopTestApp } from '../support/harness.ts'
import { startTcpProxy } from '../support/tcp-proxy.ts'

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

describe('GET /ready when the database is gone', () => {
  it('answers 503 UNAVAILABLE naming the database', async () => {
    const database = await createTestDatabase('sqlite')
    const testApp = await startTestApp(database)
    try {
      await testApp.services.db.destroy()
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
