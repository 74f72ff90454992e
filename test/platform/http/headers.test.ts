import assert from 'node:assert/strict'
import { it } from 'node:test'
import { describeOnDatabases } from '../../support/harness.ts'

const preflight = (origin: string) => ({
  method: 'OPTIONS' as const,
  url: '/auth/refresh',
  headers: {
    origin,
    'access-control-request-method': 'POST',
    'access-control-request-headers': 'content-type',
  },
})

await describeOnDatabases('Security headers', (ctx) => {
  it('sends the usual hardening headers and no X-Powered-By', async () => {
    for (const url of ['/health', '/me', '/nowhere']) {
      const response = await ctx().app.inject({ method: 'GET', url })
      assert.equal(response.headers['x-content-type-options'], 'nosniff', url)
      assert.equal(response.headers['x-frame-options'], 'SAMEORIGIN', url)
      assert.equal(response.headers['referrer-policy'], 'no-referrer', url)
      assert.match(String(response.headers['content-security-policy']), /default-src 'self'/, url)
      assert.equal(response.headers['x-powered-by'], undefined, url)
    }
  })

  it('answers no cross-origin request when CORS_ORIGINS is unset', async () => {
    const response = await ctx().app.inject(preflight('https://evil.example'))
    assert.equal(response.headers['access-control-allow-origin'], undefined)
    const simple = await ctx().app.inject({
      method: 'GET',
      url: '/health',
      headers: { origin: 'https://evil.example' },
    })
    assert.equal(simple.headers['access-control-allow-origin'], undefined)
  })
})

await describeOnDatabases(
  'CORS with CORS_ORIGINS',
  (ctx) => {
    it('lets a listed origin call with credentials', async () => {
      const response = await ctx().app.inject(preflight('https://app.example.com'))
      assert.equal(response.statusCode, 204)
      assert.equal(response.headers['access-control-allow-origin'], 'https://app.example.com')
      assert.equal(response.headers['access-control-allow-credentials'], 'true')
      assert.match(String(response.headers.vary), /Origin/i)
    })

    it('gives any other origin nothing', async () => {
      const response = await ctx().app.inject(preflight('https://evil.example'))
      assert.equal(response.headers['access-control-allow-origin'], undefined)
      assert.equal(response.headers['access-control-allow-credentials'], undefined)
    })
  },
  { env: { CORS_ORIGINS: 'https://app.example.com, https://admin.example.com' } },
)
