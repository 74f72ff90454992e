import assert from 'node:assert/strict'
import { SignJWT, exportJWK, generateKeyPair, type JWK } from 'jose'
import { it } from 'node:test'
import { hashOpaqueToken } from '../../../src/platform/crypto/opaque-tokens.ts'
import { ADMIN, clientFor, type Response } from '../../support/client.ts'
import { JWT_BEARER, basicAuthorization, registerClient } from '../../support/clients.ts'
import { describeOnDatabases, type TestApp } from '../../support/harness.ts'

const CLIENT_ID_FORMAT = /^client_[A-Za-z0-9_-]{22}$/
/** 256 bits, base64url without padding. */
const SECRET_FORMAT = /^[A-Za-z0-9_-]{43}$/
const UNKNOWN_CLIENT = 'client_AAAAAAAAAAAAAAAAAAAAAA'
const CLIENT_FIELDS = ['client_id', 'created_at', 'disabled', 'name', 'scopes', 'token_endpoint_auth_method']

interface Client {
  client_id: string
  client_secret?: string
  name: string
  scopes: string[]
  token_endpoint_auth_method: string
  jwks?: { keys: JWK[] }
  disabled: boolean
  created_at: string
}

function assertError(response: Response, status: number, code: string) {
  assert.equal(response.statusCode, status, response.body)
  assert.equal(response.json().error.code, code, response.body)
}

function assertValidationError(response: Response, field: string) {
  assertError(response, 422, 'VALIDATION_ERROR')
  const fields = response.json().error.details.map((detail: { field: string }) => detail.field)
  assert.ok(
    fields.some((name: string) => name === field || name.startsWith(`${field}.`)),
    `${field} in ${fields.join(', ')}`,
  )
}

const auditOf = async (t: TestApp, clientId: string) =>
  (await t.context.db.selectFrom('audit_events').selectAll().orderBy('at').execute())
    .map((event) => ({ type: event.type, user_id: event.user_id, data: JSON.parse(event.data) }))
    .filter((event) => event.data.client_id === clientId)

/** The types of the client's audit events, sorted (events of one instant have no order). */
const auditTypesOf = async (t: TestApp, clientId: string) =>
  (await auditOf(t, clientId)).map((event) => event.type).sort()

/** An ES256 key pair and the JWKS that registers its public half. */
async function signingKey(kid = 'key-1') {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true })
  const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: 'ES256' }
  return { privateKey, kid, jwks: { keys: [publicJwk] }, privateJwk: await exportJWK(privateKey) }
}

function adminApi(ctx: () => TestApp) {
  const api = clientFor(ctx)
  let admin: string | undefined
  const as = async () => api.as((admin ??= await api.adminToken()))
  const token = (fields: Record<string, string>, authorization?: string) =>
    api.token(fields, authorization === undefined ? {} : { headers: { authorization } })
  return {
    api,
    as,
    create: async (body: object) => (await as()).post('/admin/clients', body),
    /** Registers a client through the route; asserts the 201. */
    created: async (body: Partial<Client> = {}): Promise<Client> => {
      const response = await (
        await as()
      ).post('/admin/clients', {
        name: 'billing worker',
        scopes: ['reports:read', 'introspect'],
        token_endpoint_auth_method: 'client_secret_basic',
        ...body,
      })
      assert.equal(response.statusCode, 201, response.body)
      return response.json<Client>()
    },
    patch: async (id: string, body: object) => (await as()).patch(`/admin/clients/${id}`, body),
    /** A client-credentials grant with HTTP Basic. */
    grant: (clientId: string, secret: string, scope?: string) =>
      token(
        { grant_type: 'client_credentials', ...(scope !== undefined && { scope }) },
        basicAuthorization(clientId, secret),
      ),
    token,
  }
}

/** The client's access token; asserts the grant succeeds. */
async function machineToken(
  admin: ReturnType<typeof adminApi>,
  client: Client,
  secret = client.client_secret,
) {
  const response = await admin.grant(client.client_id, secret ?? '')
  assert.equal(response.statusCode, 200, response.body)
  return response.json<{ access_token: string; scope: string }>().access_token
}

/** Whether an introspecting client sees `token` as live. */
async function isLive(t: TestApp, token: string): Promise<boolean> {
  const inspector = await registerClient(t, { scopes: ['introspect'] })
  const response = await clientFor(t).request({
    method: 'POST',
    url: '/auth/introspect',
    form: { token },
    headers: { authorization: basicAuthorization(inspector.clientId, inspector.secret) },
  })
  assert.equal(response.statusCode, 200, response.body)
  return response.json<{ active: boolean }>().active
}

await describeOnDatabases(
  'POST /admin/clients',
  (ctx) => {
    const admin = adminApi(ctx)

    it('answers 201 with a generated id and a 256-bit secret, shown once and stored as its hash', async () => {
      const response = await admin.create({
        name: 'billing worker',
        scopes: ['reports:read', 'introspect'],
        token_endpoint_auth_method: 'client_secret_basic',
      })
      assert.equal(response.statusCode, 201, response.body)
      assert.equal(response.headers['cache-control'], 'no-store')
      const created = response.json<Client>()
      assert.deepEqual(Object.keys(created).sort(), [...CLIENT_FIELDS, 'client_secret'].sort())
      assert.match(created.client_id, CLIENT_ID_FORMAT)
      assert.match(created.client_secret ?? '', SECRET_FORMAT)
      assert.equal(created.name, 'billing worker')
      assert.deepEqual(created.scopes, ['reports:read', 'introspect'])
      assert.equal(created.disabled, false)
      assert.equal(Date.parse(created.created_at), ctx().clock.now())

      const row = await ctx()
        .context.db.selectFrom('clients')
        .selectAll()
        .where('id', '=', created.client_id)
        .executeTakeFirstOrThrow()
      assert.equal(row.secret_hash, hashOpaqueToken(created.client_secret ?? ''))
      assert.ok(!JSON.stringify(row).includes(created.client_secret ?? ''))
      assert.deepEqual(await auditOf(ctx(), created.client_id), [
        {
          type: 'client_created',
          user_id: null,
          data: {
            client_id: created.client_id,
            name: 'billing worker',
            scopes: ['reports:read', 'introspect'],
            token_endpoint_auth_method: 'client_secret_basic',
            by: (await ctx().context.db.selectFrom('users').select('id').executeTakeFirstOrThrow()).id,
          },
        },
      ])
    })

    it('makes a client that gets tokens with its secret, by the method registered only', async () => {
      const basic = await admin.created()
      assert.equal((await admin.grant(basic.client_id, basic.client_secret ?? '')).statusCode, 200)
      const post = await admin.created({ token_endpoint_auth_method: 'client_secret_post' })
      const form = {
        grant_type: 'client_credentials',
        client_id: post.client_id,
        client_secret: post.client_secret ?? '',
      }
      assert.equal((await admin.token(form)).statusCode, 200)
      const wrongMethod = await admin.grant(post.client_id, post.client_secret ?? '')
      assert.equal(wrongMethod.statusCode, 401)
      assert.equal(wrongMethod.json().error, 'invalid_client')
    })

    it('makes every id and secret new', async () => {
      const clients = await Promise.all([1, 2, 3].map(() => admin.created()))
      assert.equal(new Set(clients.map((client) => client.client_id)).size, 3)
      assert.equal(new Set(clients.map((client) => client.client_secret)).size, 3)
    })

    it('registers a private_key_jwt client with its public keys and no secret', async () => {
      const key = await signingKey()
      const created = await admin.created({ token_endpoint_auth_method: 'private_key_jwt', jwks: key.jwks })
      assert.equal(created.client_secret, undefined)
      assert.deepEqual(created.jwks, key.jwks)
      const now = Math.floor(ctx().clock.now() / 1000)
      const assertion = await new SignJWT({
        iss: created.client_id,
        sub: created.client_id,
        aud: ctx().context.config.jwt.issuer,
        exp: now + 60,
        jti: 'assertion-1',
      })
        .setProtectedHeader({ alg: 'ES256', kid: key.kid })
        .sign(key.privateKey)
      const response = await admin.token({
        grant_type: 'client_credentials',
        client_assertion_type: JWT_BEARER,
        client_assertion: assertion,
      })
      assert.equal(response.statusCode, 200, response.body)
    })

    it('refuses (422 naming jwks) a JWKS for a secret method, none for private_key_jwt, and private or symmetric keys', async () => {
      const key = await signingKey()
      const cases: [string, object][] = [
        ['a secret method', { token_endpoint_auth_method: 'client_secret_basic', jwks: key.jwks }],
        ['no keys given', { token_endpoint_auth_method: 'private_key_jwt' }],
        ['an empty set', { token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [] } }],
        [
          'a private key',
          {
            token_endpoint_auth_method: 'private_key_jwt',
            jwks: { keys: [{ ...key.privateJwk, kid: 'k', alg: 'ES256' }] },
          },
        ],
        [
          'an oct key',
          {
            token_endpoint_auth_method: 'private_key_jwt',
            jwks: { keys: [{ kty: 'oct', k: 'c2VjcmV0', kid: 'k', alg: 'HS256' }] },
          },
        ],
        [
          'a key without kid',
          {
            token_endpoint_auth_method: 'private_key_jwt',
            jwks: { keys: [{ ...key.jwks.keys[0], kid: undefined }] },
          },
        ],
        [
          'a key without alg',
          {
            token_endpoint_auth_method: 'private_key_jwt',
            jwks: { keys: [{ ...key.jwks.keys[0], alg: undefined }] },
          },
        ],
        ['not a set', { token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: 'none' } }],
      ]
      for (const [what, body] of cases) {
        const response = await admin.create({ name: 'x', scopes: [], ...body })
        assert.equal(response.statusCode, 422, `${what}: ${response.body}`)
        assertValidationError(response, 'jwks')
      }
      const { count } = await ctx()
        .context.db.selectFrom('clients')
        .select((eb) => eb.fn.countAll<string | number>().as('count'))
        .where('name', '=', 'x')
        .executeTakeFirstOrThrow()
      assert.equal(Number(count), 0, 'nothing was registered')
    })

    it('refuses scope names outside the grammar, repeated ones, and more than 64', async () => {
      const base = { name: 'x', token_endpoint_auth_method: 'client_secret_basic' }
      for (const scopes of [
        ['Reports'],
        ['1reports'],
        ['reports read'],
        [''],
        [`a${'b'.repeat(64)}`],
        ['reports:read', 'reports:read'],
        Array.from({ length: 65 }, (_, i) => `s${i}`),
        'reports:read',
      ]) {
        assertValidationError(await admin.create({ ...base, scopes }), 'scopes')
      }
      const longest = await admin.create({ ...base, scopes: [`a${'b'.repeat(63)}`] })
      assert.equal(longest.statusCode, 201, longest.body)
    })

    it('refuses a missing or overlong name and an unknown method; ignores a chosen client_id', async () => {
      const base = { name: 'x', scopes: [], token_endpoint_auth_method: 'client_secret_basic' }
      assertValidationError(await admin.create({ ...base, name: '' }), 'name')
      assertValidationError(await admin.create({ ...base, name: 'n'.repeat(201) }), 'name')
      assertValidationError(await admin.create({ ...base, name: 'a\u0000b' }), 'name')
      assertValidationError(
        await admin.create({ ...base, token_endpoint_auth_method: 'none' }),
        'token_endpoint_auth_method',
      )
      const chosen = await admin.create({ ...base, client_id: UNKNOWN_CLIENT })
      assert.equal(chosen.statusCode, 201, 'unknown fields are dropped, as everywhere')
      assert.notEqual(chosen.json<Client>().client_id, UNKNOWN_CLIENT, 'the id is generated, never chosen')
      assertValidationError(await admin.create({ ...base, name: undefined }), 'name')
    })

    it('is 403 for a user who is not an admin and 401 without a token', async () => {
      const { tokens } = await admin.api.loggedInUser()
      const body = { name: 'x', scopes: [], token_endpoint_auth_method: 'client_secret_basic' }
      assertError(await admin.api.as(tokens.access_token).post('/admin/clients', body), 403, 'FORBIDDEN')
      const anonymous = await admin.api.request({ method: 'POST', url: '/admin/clients', body })
      assertError(anonymous, 401, 'AUTH_REQUIRED')
    })

    it("is 403 for a machine client's token, even one with a scope named admin", async () => {
      const client = await admin.created({ scopes: ['admin'] })
      const token = await machineToken(admin, client)
      const body = { name: 'x', scopes: [], token_endpoint_auth_method: 'client_secret_basic' }
      assertError(await admin.api.as(token).post('/admin/clients', body), 403, 'FORBIDDEN')
    })
  },
  { env: ADMIN },
)

await describeOnDatabases(
  'GET /admin/clients',
  (ctx) => {
    const admin = adminApi(ctx)

    it('lists clients oldest first, a page at a time, never a secret', async () => {
      const made: Client[] = []
      for (const name of ['one', 'two', 'three']) {
        made.push(await admin.created({ name }))
        ctx().clock.advance(1)
      }
      const seen: Client[] = []
      let cursor: string | null = null
      do {
        const query: string = cursor === null ? '' : `&cursor=${cursor}`
        const response = await (await admin.as()).get(`/admin/clients?limit=2${query}`)
        assert.equal(response.statusCode, 200, response.body)
        const page = response.json<{ items: Client[]; next_cursor: string | null }>()
        assert.ok(page.items.length <= 2)
        seen.push(...page.items)
        cursor = page.next_cursor
      } while (cursor !== null)
      const ids = seen.map((client) => client.client_id)
      assert.deepEqual(
        ids.filter((id) => made.some((client) => client.client_id === id)),
        made.map((client) => client.client_id),
      )
      for (const client of seen) {
        assert.deepEqual(Object.keys(client).sort(), CLIENT_FIELDS)
        for (const { client_secret: secret } of made)
          assert.ok(!JSON.stringify(client).includes(secret ?? ''))
      }
    })

    it('refuses a cursor it did not give and a limit out of range', async () => {
      const as = await admin.as()
      assertValidationError(await as.get('/admin/clients?cursor=bm90LWEtY3Vyc29y'), 'cursor')
      const userCursor = Buffer.from(
        JSON.stringify(['2026-01-01T00:00:00.000Z', '00000000-0000-4000-8000-000000000000']),
      ).toString('base64url')
      assertValidationError(await as.get(`/admin/clients?cursor=${userCursor}`), 'cursor')
      assertValidationError(await as.get('/admin/clients?limit=0'), 'limit')
      assertValidationError(await as.get('/admin/clients?limit=101'), 'limit')
    })
  },
  { env: ADMIN },
)

await describeOnDatabases(
  'GET /admin/clients/{id}',
  (ctx) => {
    const admin = adminApi(ctx)

    it('shows one client without its secret', async () => {
      const created = await admin.created()
      const shown = { ...created, client_secret: undefined }
      const response = await (await admin.as()).get(`/admin/clients/${shown.client_id}`)
      assert.equal(response.statusCode, 200, response.body)
      assert.deepEqual(response.json(), JSON.parse(JSON.stringify(shown)))
    })

    it('is 404 for an unknown client and 422 for what is not a client id', async () => {
      const as = await admin.as()
      assertError(await as.get(`/admin/clients/${UNKNOWN_CLIENT}`), 404, 'NOT_FOUND')
      assertValidationError(await as.get('/admin/clients/gatehouse'), 'id')
      assertValidationError(await as.get('/admin/clients/client_short'), 'id')
    })
  },
  { env: ADMIN },
)

await describeOnDatabases(
  'PATCH /admin/clients/{id}',
  (ctx) => {
    const admin = adminApi(ctx)

    it('renames a client and keeps its tokens', async () => {
      const client = await admin.created()
      const token = await machineToken(admin, client)
      const response = await admin.patch(client.client_id, { name: 'invoices worker' })
      assert.equal(response.statusCode, 200, response.body)
      assert.equal(response.json<Client>().name, 'invoices worker')
      assert.equal(await isLive(ctx(), token), true)
      const changed = (await auditOf(ctx(), client.client_id)).find(
        (event) => event.type === 'client_changed',
      )
      assert.deepEqual(changed?.data.name, { from: 'billing worker', to: 'invoices worker' })
    })

    it('disabling revokes every token of the client at once and refuses it at the token endpoint', async () => {
      const client = await admin.created()
      const tokens = [await machineToken(admin, client), await machineToken(admin, client)]
      const response = await admin.patch(client.client_id, { disabled: true })
      assert.equal(response.statusCode, 200, response.body)
      assert.equal(response.json<Client>().disabled, true)
      for (const token of tokens) assert.equal(await isLive(ctx(), token), false)
      const refused = await admin.grant(client.client_id, client.client_secret ?? '')
      assert.equal(refused.statusCode, 401)
      assert.equal(refused.json().error, 'invalid_client')
      assert.ok((await auditOf(ctx(), client.client_id)).some((event) => event.type === 'client_disabled'))
    })

    it('enabling again lets the client get new tokens, and does not bring the old ones back', async () => {
      const client = await admin.created()
      const old = await machineToken(admin, client)
      await admin.patch(client.client_id, { disabled: true })
      ctx().clock.advance(1)
      const enabled = await admin.patch(client.client_id, { disabled: false })
      assert.equal(enabled.json<Client>().disabled, false)
      const fresh = await machineToken(admin, client)
      assert.equal(await isLive(ctx(), fresh), true)
      assert.equal(await isLive(ctx(), old), false)
      assert.deepEqual(await auditTypesOf(ctx(), client.client_id), [
        'client_created',
        'client_disabled',
        'client_enabled',
      ])
    })

    it('taking a scope away revokes the tokens that carry it; adding one does not', async () => {
      const client = await admin.created({ scopes: ['reports:read', 'reports:write'] })
      const before = await machineToken(admin, client)
      const widened = await admin.patch(client.client_id, {
        scopes: ['reports:read', 'reports:write', 'introspect'],
      })
      assert.equal(widened.statusCode, 200, widened.body)
      assert.equal(await isLive(ctx(), before), true, 'adding a scope keeps the tokens')
      ctx().clock.advance(1)
      const narrowed = await admin.patch(client.client_id, { scopes: ['reports:read'] })
      assert.deepEqual(narrowed.json<Client>().scopes, ['reports:read'])
      assert.equal(await isLive(ctx(), before), false, 'taking one away revokes them')
      const refused = await admin.grant(client.client_id, client.client_secret ?? '', 'reports:write')
      assert.equal(refused.json().error, 'invalid_scope')
      const after = await admin.grant(client.client_id, client.client_secret ?? '')
      assert.equal(after.json().scope, 'reports:read')
      const changed = (await auditOf(ctx(), client.client_id)).filter(
        (event) => event.type === 'client_changed',
      )
      assert.deepEqual(
        changed.map((event) => event.data.tokens_revoked),
        [false, true],
      )
    })

    it("replaces a private_key_jwt client's keys: the old key stops working, the new one works", async () => {
      const oldKey = await signingKey('old')
      const newKey = await signingKey('new')
      const client = await admin.created({ token_endpoint_auth_method: 'private_key_jwt', jwks: oldKey.jwks })
      const assertionWith = (key: Awaited<ReturnType<typeof signingKey>>, jti: string) => {
        const now = Math.floor(ctx().clock.now() / 1000)
        return new SignJWT({
          iss: client.client_id,
          sub: client.client_id,
          aud: ctx().context.config.jwt.issuer,
          exp: now + 60,
          jti,
        })
          .setProtectedHeader({ alg: 'ES256', kid: key.kid })
          .sign(key.privateKey)
      }
      const grantWith = async (key: Awaited<ReturnType<typeof signingKey>>, jti: string) =>
        admin.token({
          grant_type: 'client_credentials',
          client_assertion_type: JWT_BEARER,
          client_assertion: await assertionWith(key, jti),
        })
      assert.equal((await grantWith(oldKey, 'a')).statusCode, 200)
      const replaced = await admin.patch(client.client_id, { jwks: newKey.jwks })
      assert.equal(replaced.statusCode, 200, replaced.body)
      assert.deepEqual(replaced.json<Client>().jwks, newKey.jwks)
      assert.equal((await grantWith(oldKey, 'b')).statusCode, 401)
      assert.equal((await grantWith(newKey, 'c')).statusCode, 200)
    })

    it('refuses jwks for a secret client and an invalid JWKS, changing nothing', async () => {
      const key = await signingKey()
      const secretClient = await admin.created()
      assertValidationError(await admin.patch(secretClient.client_id, { jwks: key.jwks }), 'jwks')
      const keyClient = await admin.created({ token_endpoint_auth_method: 'private_key_jwt', jwks: key.jwks })
      const privateSet = { keys: [{ ...key.privateJwk, kid: 'k', alg: 'ES256' }] }
      assertValidationError(
        await admin.patch(keyClient.client_id, { jwks: privateSet, name: 'renamed' }),
        'jwks',
      )
      const shown = await (await admin.as()).get(`/admin/clients/${keyClient.client_id}`)
      assert.equal(shown.json<Client>().name, 'billing worker')
      assert.deepEqual(shown.json<Client>().jwks, key.jwks)
    })

    it('refuses wrong types and scope names; ignores a secret or a method, which it cannot change', async () => {
      const client = await admin.created()
      assertValidationError(await admin.patch(client.client_id, { disabled: 'yes' }), 'disabled')
      assertValidationError(await admin.patch(client.client_id, { scopes: ['Bad'] }), 'scopes')
      const ignored = await admin.patch(client.client_id, {
        client_secret: 'mine',
        token_endpoint_auth_method: 'client_secret_post',
      })
      assert.equal(ignored.statusCode, 200, ignored.body)
      assert.equal(ignored.json<Client>().token_endpoint_auth_method, 'client_secret_basic')
      assert.equal((await admin.grant(client.client_id, client.client_secret ?? '')).statusCode, 200)
      assert.equal((await admin.grant(client.client_id, 'mine')).statusCode, 401)
    })

    it('is 404 for an unknown client', async () => {
      assertError(await admin.patch(UNKNOWN_CLIENT, { name: 'x' }), 404, 'NOT_FOUND')
    })
  },
  { env: ADMIN },
)

await describeOnDatabases(
  'POST /admin/clients/{id}/secret',
  (ctx) => {
    const admin = adminApi(ctx)
    const rotate = async (id: string) => (await admin.as()).post(`/admin/clients/${id}/secret`)

    it('answers a new secret, not cacheable; the old one stops working, tokens already issued keep', async () => {
      const client = await admin.created()
      const token = await machineToken(admin, client)
      const response = await rotate(client.client_id)
      assert.equal(response.statusCode, 200, response.body)
      assert.equal(response.headers['cache-control'], 'no-store')
      const { client_secret: secret } = response.json<{ client_secret: string }>()
      assert.deepEqual(Object.keys(response.json()), ['client_secret'])
      assert.match(secret, SECRET_FORMAT)
      assert.notEqual(secret, client.client_secret)
      const old = await admin.grant(client.client_id, client.client_secret ?? '')
      assert.equal(old.statusCode, 401)
      assert.equal(old.json().error, 'invalid_client')
      assert.equal((await admin.grant(client.client_id, secret)).statusCode, 200)
      assert.equal(await isLive(ctx(), token), true)
      assert.deepEqual(await auditTypesOf(ctx(), client.client_id), [
        'client_created',
        'client_secret_rotated',
      ])
    })

    it('leaves exactly one working secret when two rotations race', async () => {
      const client = await admin.created()
      const responses = await Promise.all([rotate(client.client_id), rotate(client.client_id)])
      const secrets = responses.map((response) => {
        assert.equal(response.statusCode, 200, response.body)
        return response.json<{ client_secret: string }>().client_secret
      })
      const working = []
      for (const secret of [client.client_secret ?? '', ...secrets])
        if ((await admin.grant(client.client_id, secret)).statusCode === 200) working.push(secret)
      assert.equal(working.length, 1, `${working.length} secrets work`)
      assert.notEqual(working[0], client.client_secret)
    })

    it('is 422 for a private_key_jwt client, which has no secret, and 404 for an unknown one', async () => {
      const key = await signingKey()
      const client = await admin.created({ token_endpoint_auth_method: 'private_key_jwt', jwks: key.jwks })
      assertValidationError(await rotate(client.client_id), 'token_endpoint_auth_method')
      assertError(await rotate(UNKNOWN_CLIENT), 404, 'NOT_FOUND')
    })
  },
  { env: ADMIN },
)

await describeOnDatabases(
  'DELETE /admin/clients/{id}',
  (ctx) => {
    const admin = adminApi(ctx)

    it('answers 204; its tokens stop working at once and it can no longer authenticate', async () => {
      const client = await admin.created()
      const token = await machineToken(admin, client)
      const response = await (await admin.as()).delete(`/admin/clients/${client.client_id}`)
      assert.equal(response.statusCode, 204, response.body)
      assert.equal(await isLive(ctx(), token), false)
      const refused = await admin.grant(client.client_id, client.client_secret ?? '')
      assert.equal(refused.statusCode, 401)
      assert.equal(refused.json().error, 'invalid_client')
      assertError(await (await admin.as()).get(`/admin/clients/${client.client_id}`), 404, 'NOT_FOUND')
      assert.deepEqual(await auditTypesOf(ctx(), client.client_id), ['client_created', 'client_deleted'])
    })

    it('records the revocation in the database, so an instance that missed the message refuses the token too', async () => {
      const client = await admin.created()
      const response = await (await admin.as()).delete(`/admin/clients/${client.client_id}`)
      assert.equal(response.statusCode, 204)
      const record = await ctx()
        .context.db.selectFrom('revocations')
        .selectAll()
        .where('kind', '=', 'client')
        .where('value', '=', client.client_id)
        .executeTakeFirst()
      assert.ok(record, 'a client record')
      assert.equal(Date.parse(record.revoked_at), ctx().clock.now())
    })

    it('is 404 for an unknown or already deleted client', async () => {
      const client = await admin.created()
      const as = await admin.as()
      assert.equal((await as.delete(`/admin/clients/${client.client_id}`)).statusCode, 204)
      assertError(await as.delete(`/admin/clients/${client.client_id}`), 404, 'NOT_FOUND')
      assertError(await as.delete(`/admin/clients/${UNKNOWN_CLIENT}`), 404, 'NOT_FOUND')
    })
  },
  { env: ADMIN },
)
