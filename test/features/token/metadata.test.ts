import assert from 'node:assert/strict'
import { it } from 'node:test'
import { clientFor } from '../../support/client.ts'
import { describeOnDatabases } from '../../support/harness.ts'

await describeOnDatabases(
  'GET /.well-known/oauth-authorization-server (RFC 8414)',
  (ctx) => {
    const api = clientFor(ctx)

    it('names the issuer and builds every endpoint from it', async () => {
      const response = await api.request({ method: 'GET', url: '/.well-known/oauth-authorization-server' })
      assert.equal(response.statusCode, 200)
      const metadata = response.json()
      assert.equal(metadata.issuer, 'https://auth.example.com')
      assert.equal(metadata.token_endpoint, 'https://auth.example.com/auth/token')
      assert.equal(metadata.jwks_uri, 'https://auth.example.com/.well-known/jwks.json')
      assert.equal(metadata.introspection_endpoint, 'https://auth.example.com/auth/introspect')
      assert.equal(metadata.revocation_endpoint, 'https://auth.example.com/auth/revoke')
      assert.equal(metadata.revocation_feed_endpoint, 'https://auth.example.com/auth/revocations')
      assert.deepEqual(metadata.response_types_supported, [])
      assert.equal(metadata.gatehouse_access_token_max_lifetime, 900)
    })

    it('lists the grants, the client authentication methods and the scopes', async () => {
      const metadata = (
        await api.request({ method: 'GET', url: '/.well-known/oauth-authorization-server' })
      ).json()
      assert.deepEqual(metadata.grant_types_supported, ['password', 'refresh_token', 'client_credentials'])
      for (const method of ['client_secret_basic', 'client_secret_post', 'private_key_jwt']) {
        assert.ok(metadata.token_endpoint_auth_methods_supported.includes(method), method)
        assert.ok(metadata.introspection_endpoint_auth_methods_supported.includes(method), method)
        assert.ok(metadata.revocation_endpoint_auth_methods_supported.includes(method), method)
      }
      assert.ok(metadata.revocation_endpoint_auth_methods_supported.includes('none'))
      assert.ok(!metadata.introspection_endpoint_auth_methods_supported.includes('none'))
      assert.ok(metadata.token_endpoint_auth_signing_alg_values_supported.includes('ES256'))
      assert.ok(!metadata.token_endpoint_auth_signing_alg_values_supported.includes('HS256'))
      for (const scope of ['profile', 'todos:read', 'admin', 'introspect', 'revocations:read'])
        assert.ok(metadata.scopes_supported.includes(scope), scope)
    })
  },
  { env: { JWT_ISSUER: 'https://auth.example.com', ACCESS_TOKEN_TTL: '15m' } },
)

await describeOnDatabases(
  'GET /.well-known/oauth-authorization-server with a JWT_ISSUER that is not a URL',
  (ctx) => {
    it('keeps the issuer and builds the endpoints from http://HOST:PORT', async () => {
      const metadata = (
        await clientFor(ctx).request({ method: 'GET', url: '/.well-known/oauth-authorization-server' })
      ).json()
      assert.equal(metadata.issuer, 'gatehouse')
      assert.equal(metadata.token_endpoint, 'http://127.0.0.1:8123/auth/token')
    })
  },
  { env: { PORT: '8123' } },
)
