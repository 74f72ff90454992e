import assert from 'node:assert/strict'
import { after, before, it } from 'node:test'
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose'
import type { FastifyInstance } from 'fastify'
import { describeOnDatabases, startTestApp, stopTestApp } from '../../support/harness.ts'
import { clientFor } from '../../support/client.ts'

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k']

for (const [alg, kty] of [
  ['RS256', 'RSA'],
  ['ES256', 'EC'],
  ['EdDSA', 'OKP'],
] as const) {
  await describeOnDatabases(
    `GET /.well-known/jwks.json (${alg})`,
    (ctx) => {
      let url = ''
      before(async () => {
        url = await ctx().app.listen({ port: 0, host: '127.0.0.1' })
      })
      after(() => ctx().app.server.close())

      it('publishes the signing key as a public JWK with kid, alg and use', async () => {
        const response = await ctx().app.inject({ method: 'GET', url: '/.well-known/jwks.json' })
        assert.equal(response.statusCode, 200)
        assert.match(String(response.headers['cache-control']), /max-age=\d+/)
        const { keys } = response.json()
        assert.equal(keys.length, 1)
        assert.equal(keys[0].kty, kty)
        assert.equal(keys[0].alg, alg)
        assert.equal(keys[0].use, 'sig')
        assert.equal(typeof keys[0].kid, 'string')
        for (const member of PRIVATE_MEMBERS)
          assert.equal(keys[0][member], undefined, `no private member ${member}`)
      })

      it('issues tokens that any JWT library verifies with nothing but the JWKS URL', async () => {
        const { tokens, user } = await clientFor(ctx()).loggedInUser()
        assert.equal(decodeProtectedHeader(tokens.access_token).alg, alg)
        const jwks = createRemoteJWKSet(new URL(`${url}/.well-known/jwks.json`))
        const { payload, protectedHeader } = await jwtVerify(tokens.access_token, jwks, {
          issuer: 'gatehouse',
          audience: 'gatehouse',
          typ: 'at+jwt',
          algorithms: [alg],
          currentDate: new Date(ctx().clock.now()),
        })
        assert.equal(payload.sub, user.id)
        assert.equal(protectedHeader.typ, 'at+jwt')
      })

      it("is the same key for a second instance on the same database, which verifies the first one's tokens", async () => {
        const { authorization } = await clientFor(ctx()).loggedInUser()
        const second = await startTestApp(
          { kind: ctx().kind, url: ctx().databaseUrl, drop: () => Promise.resolve() },
          { env: { JWT_ALG: alg } },
        )
        try {
          const jwks = (app: FastifyInstance) => app.inject({ method: 'GET', url: '/.well-known/jwks.json' })
          assert.deepEqual((await jwks(second.app)).json(), (await jwks(ctx().app)).json())
          second.clock.advance((ctx().clock.now() - second.clock.now()) / 1000)
          const me = await second.app.inject({ method: 'GET', url: '/me', headers: { authorization } })
          assert.equal(me.statusCode, 200)
        } finally {
          await stopTestApp(second)
        }
      })
    },
    { env: { JWT_ALG: alg } },
  )
}
