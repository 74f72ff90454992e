import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { webcrypto } from 'node:crypto'
import { existsSync } from 'node:fs'
import net from 'node:net'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import * as oauth from 'openid-client'
import { ADMIN } from '../support/client.ts'
import { REQUIRE_SERVICES } from '../support/databases.ts'
import { cleanupProcesses, request, startGatehouse, type RunningGatehouse } from '../support/process.ts'

/*
 * Gatehouse's machine-client endpoints driven by OAuth libraries written elsewhere, against the real
 * process over TCP: openid-client (Node, panva) and requests-oauthlib with PyJWT (Python). Each case
 * records what the library actually sent, so a library that silently changed method or claims fails
 * here rather than in a customer's deployment.
 */

const execFileAsync = promisify(execFile)
const PYTHON = '/usr/bin/python3'
const PYTHON_SCRIPT = fileURLToPath(new URL('./interop/client_credentials.py', import.meta.url))
/** Gatehouse's default `JWT_AUDIENCE`: the `aud` of every access token it issues. */
const AUDIENCE = 'gatehouse'
const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'

/** A port nothing listens on right now, so `JWT_ISSUER` can name it before the process starts. */
async function freePort(): Promise<number> {
  const server = net.createServer()
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as net.AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

interface RegisteredClient {
  client_id: string
  client_secret?: string
  scopes: string[]
  token_endpoint_auth_method: string
}

/** Registers a client through the admin API, as an operator would. */
async function registerClient(
  server: RunningGatehouse,
  adminToken: string,
  body: { scopes: string[]; token_endpoint_auth_method: string; jwks?: { keys: oauth.JWK[] } },
): Promise<RegisteredClient> {
  const response = await request(server.url, 'POST', '/admin/clients', {
    headers: { authorization: `Bearer ${adminToken}` },
    body: { name: `interop ${body.token_endpoint_auth_method}`, ...body },
  })
  assert.equal(response.status, 201, response.body)
  return response.json() as unknown as RegisteredClient
}

/** One request as openid-client sent it. */
interface Sent {
  url: string
  method: string
  headers: Record<string, string>
  form: URLSearchParams
}

/** A `fetch` that records what the library sends, then sends it unchanged. */
function recordingFetch(sent: Sent[]): oauth.CustomFetch {
  return (url, options) => {
    const { body } = options
    const form = new URLSearchParams(
      body instanceof URLSearchParams || typeof body === 'string' ? body : undefined,
    )
    sent.push({ url, method: options.method, headers: options.headers, form })
    return fetch(url, options)
  }
}

/** RFC 8414 discovery by openid-client (`oauth2`: `/.well-known/oauth-authorization-server`). */
function discover(
  issuer: string,
  clientId: string,
  auth: oauth.ClientAuth,
  sent: Sent[],
): Promise<oauth.Configuration> {
  return oauth.discovery(new URL(issuer), clientId, undefined, auth, {
    algorithm: 'oauth2',
    // The test server speaks plain http:// on 127.0.0.1; openid-client refuses that unless told.
    // eslint-disable-next-line @typescript-eslint/no-deprecated -- deprecated only to stand out, as here
    execute: [oauth.allowInsecureRequests],
    [oauth.customFetch]: recordingFetch(sent),
  })
}

const lastTo = (sent: Sent[], url: string): Sent => {
  const found = sent.findLast((entry) => entry.url === url)
  assert.ok(found, `a request to ${url} was sent`)
  return found
}

const decodeJwtPart = (jwt: string, index: 0 | 1): Record<string, unknown> =>
  JSON.parse(Buffer.from(jwt.split('.')[index] ?? '', 'base64url').toString('utf8')) as Record<
    string,
    unknown
  >

/** Whether Debian's Python has the libraries the Python case drives. */
async function pythonLibrariesMissing(): Promise<string | false> {
  if (!existsSync(PYTHON)) return `${PYTHON} is not installed`
  try {
    await execFileAsync(PYTHON, ['-c', 'import requests_oauthlib, oauthlib, jwt, cryptography'])
    return false
  } catch {
    return `${PYTHON} lacks requests_oauthlib, oauthlib, jwt (PyJWT) or cryptography`
  }
}

let server: RunningGatehouse
let issuer: string
let adminToken: string
/** A resource server's client: it may introspect, and nothing else. */
let introspector: RegisteredClient

before(async () => {
  const port = await freePort()
  // The issuer is the base URL (RFC 8414 §3), so discovery and an assertion's `aud` line up.
  issuer = `http://127.0.0.1:${port}`
  server = await startGatehouse({ env: { PORT: String(port), JWT_ISSUER: issuer, ...ADMIN } })
  assert.equal(server.url, issuer)
  const login = await request(server.url, 'POST', '/auth/login', {
    body: { username: ADMIN.ADMIN_EMAIL, password: ADMIN.ADMIN_PASSWORD },
  })
  assert.equal(login.status, 200, login.body)
  adminToken = String(login.json().access_token)
  introspector = await registerClient(server, adminToken, {
    scopes: ['introspect'],
    token_endpoint_auth_method: 'client_secret_basic',
  })
})
after(cleanupProcesses)

/** The introspector's view of `token` (RFC 7662), through openid-client. */
async function introspect(token: string): Promise<oauth.IntrospectionResponse> {
  const config = await discover(
    issuer,
    introspector.client_id,
    oauth.ClientSecretBasic(introspector.client_secret),
    [],
  )
  return oauth.tokenIntrospection(config, token)
}

describe('openid-client, client_secret_basic: discovery, client credentials, introspection, revocation', () => {
  let client: RegisteredClient
  before(async () => {
    client = await registerClient(server, adminToken, {
      scopes: ['reports:read', 'reports:write'],
      token_endpoint_auth_method: 'client_secret_basic',
    })
  })
  const configure = (sent: Sent[] = []) =>
    discover(issuer, client.client_id, oauth.ClientSecretBasic(client.client_secret), sent)

  it('discovers the RFC 8414 metadata at /.well-known/oauth-authorization-server, every endpoint under the issuer', async () => {
    const sent: Sent[] = []
    const metadata = (await configure(sent)).serverMetadata()
    assert.deepEqual(
      sent.map((entry) => entry.url),
      [`${issuer}/.well-known/oauth-authorization-server`],
    )
    assert.equal(metadata.issuer, issuer)
    assert.equal(metadata.token_endpoint, `${issuer}/auth/token`)
    assert.equal(metadata.introspection_endpoint, `${issuer}/auth/introspect`)
    assert.equal(metadata.revocation_endpoint, `${issuer}/auth/revoke`)
    assert.equal(metadata.jwks_uri, `${issuer}/.well-known/jwks.json`)
    assert.ok(metadata.grant_types_supported?.includes('client_credentials'))
    for (const method of ['client_secret_basic', 'client_secret_post', 'private_key_jwt'])
      assert.ok(metadata.token_endpoint_auth_methods_supported?.includes(method), method)
  })

  it('grants a bearer token for the requested scope, the client authenticated by HTTP Basic', async () => {
    const sent: Sent[] = []
    const tokens = await oauth.clientCredentialsGrant(await configure(sent), { scope: 'reports:read' })
    assert.equal(tokens.token_type, 'bearer')
    assert.equal(tokens.scope, 'reports:read')
    assert.equal(tokens.refresh_token, undefined)
    assert.ok(typeof tokens.expires_in === 'number' && tokens.expires_in > 0)
    const grant = lastTo(sent, `${issuer}/auth/token`)
    assert.match(grant.headers.authorization ?? '', /^Basic /)
    assert.equal(grant.form.get('grant_type'), 'client_credentials')
    assert.equal(grant.form.has('client_secret'), false)
    const claims = decodeJwtPart(tokens.access_token, 1)
    assert.equal(claims.sub, client.client_id)
    assert.equal(claims.client_id, client.client_id)
    assert.equal(claims.scope, 'reports:read')
  })

  it('shows a live token to a client with scope introspect as active, with its client_id, sub and scope', async () => {
    const tokens = await oauth.clientCredentialsGrant(await configure(), { scope: 'reports:read' })
    const introspection = await introspect(tokens.access_token)
    assert.equal(introspection.active, true)
    assert.equal(introspection.client_id, client.client_id)
    assert.equal(introspection.sub, client.client_id)
    assert.equal(introspection.scope, 'reports:read')
    assert.equal(introspection.iss, issuer)
    assert.equal(introspection.aud, AUDIENCE)
    // RFC 7662 §2.2: `token_type` is the RFC 6749 §5.1 type the token was issued with.
    assert.equal(introspection.token_type, 'bearer')
  })

  it('revokes its own token through tokenRevocation (RFC 7009), after which introspection shows it inactive', async () => {
    const sent: Sent[] = []
    const config = await configure(sent)
    const tokens = await oauth.clientCredentialsGrant(config, { scope: 'reports:write' })
    assert.equal((await introspect(tokens.access_token)).active, true)

    await oauth.tokenRevocation(config, tokens.access_token)
    const revocation = lastTo(sent, `${issuer}/auth/revoke`)
    assert.match(revocation.headers.authorization ?? '', /^Basic /)
    assert.equal(revocation.form.get('token'), tokens.access_token)

    assert.deepEqual(await introspect(tokens.access_token), { active: false })
  })

  it("refuses to revoke another client's token: unauthorized_client, and the token stays active", async () => {
    const tokens = await oauth.clientCredentialsGrant(await configure(), { scope: 'reports:read' })
    const other = await discover(
      issuer,
      introspector.client_id,
      oauth.ClientSecretBasic(introspector.client_secret),
      [],
    )
    await assert.rejects(oauth.tokenRevocation(other, tokens.access_token), (error: unknown) => {
      assert.ok(error instanceof oauth.ResponseBodyError, String(error))
      assert.equal(error.error, 'unauthorized_client')
      return true
    })
    assert.equal((await introspect(tokens.access_token)).active, true)
  })
})

describe('openid-client, private_key_jwt (RFC 7523)', () => {
  let client: RegisteredClient
  let privateKey: oauth.PrivateKey
  before(async () => {
    const pair = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
      'sign',
      'verify',
    ])
    const kid = 'interop-es256'
    privateKey = { key: pair.privateKey, kid }
    const publicJwk = await webcrypto.subtle.exportKey('jwk', pair.publicKey)
    // WebCrypto adds `key_ops` and `ext`; a registered key carries its `kid` and `alg`.
    const { kty, crv, x, y } = publicJwk
    client = await registerClient(server, adminToken, {
      scopes: ['jobs:run'],
      token_endpoint_auth_method: 'private_key_jwt',
      jwks: { keys: [{ kty, crv, x, y, kid, alg: 'ES256' }] },
    })
    assert.equal(client.client_secret, undefined)
  })

  it("grants a token with openid-client's default assertion, whose aud is the issuer string (not the token endpoint)", async () => {
    // oauth4webapi builds the assertion with `aud: as.issuer` (the discovered `issuer`, a single
    // string) — what Gatehouse requires (draft-ietf-oauth-rfc7523bis) — so nothing needs configuring.
    // The hook only observes the claims it signs.
    const signed: Record<string, unknown>[] = []
    const observe: oauth.ModifyAssertionOptions = {
      [oauth.modifyAssertion]: (_header, payload) => void signed.push({ ...payload }),
    }
    const sent: Sent[] = []
    const config = await discover(issuer, client.client_id, oauth.PrivateKeyJwt(privateKey, observe), sent)
    const tokens = await oauth.clientCredentialsGrant(config, { scope: 'jobs:run' })

    assert.equal(signed.length, 1)
    assert.equal(signed[0]?.aud, issuer)
    const grant = lastTo(sent, `${issuer}/auth/token`)
    assert.equal(grant.headers.authorization, undefined)
    assert.equal(grant.form.get('client_assertion_type'), JWT_BEARER)
    const assertion = grant.form.get('client_assertion') ?? ''
    assert.deepEqual(decodeJwtPart(assertion, 0), { alg: 'ES256', kid: 'interop-es256' })
    const claims = decodeJwtPart(assertion, 1)
    assert.equal(claims.aud, issuer)
    assert.equal(claims.iss, client.client_id)
    assert.equal(claims.sub, client.client_id)
    assert.equal(typeof claims.jti, 'string')

    assert.equal(tokens.scope, 'jobs:run')
    assert.equal(decodeJwtPart(tokens.access_token, 1).sub, client.client_id)
  })

  it('refuses an assertion whose aud is the token endpoint URL: invalid_client', async () => {
    const toTokenEndpoint: oauth.ModifyAssertionOptions = {
      [oauth.modifyAssertion]: (_header, payload) => {
        payload.aud = `${issuer}/auth/token`
      },
    }
    const config = await discover(
      issuer,
      client.client_id,
      oauth.PrivateKeyJwt(privateKey, toTokenEndpoint),
      [],
    )
    await assert.rejects(oauth.clientCredentialsGrant(config, { scope: 'jobs:run' }), (error: unknown) => {
      assert.ok(error instanceof oauth.ResponseBodyError, String(error))
      assert.equal(error.status, 401)
      assert.equal(error.error, 'invalid_client')
      // Basic was not tried, so there is no challenge to answer.
      assert.equal(error.response.headers.get('www-authenticate'), null)
      return true
    })
  })
})

describe('openid-client, client_secret_post', () => {
  let client: RegisteredClient
  before(async () => {
    client = await registerClient(server, adminToken, {
      scopes: ['mail:send'],
      token_endpoint_auth_method: 'client_secret_post',
    })
  })

  it('grants a token with the id and secret in the form body and no Authorization header', async () => {
    const sent: Sent[] = []
    const config = await discover(
      issuer,
      client.client_id,
      oauth.ClientSecretPost(client.client_secret),
      sent,
    )
    const tokens = await oauth.clientCredentialsGrant(config, { scope: 'mail:send' })
    const grant = lastTo(sent, `${issuer}/auth/token`)
    assert.equal(grant.headers.authorization, undefined)
    assert.equal(grant.form.get('client_id'), client.client_id)
    assert.equal(grant.form.get('client_secret'), client.client_secret)
    assert.equal(tokens.scope, 'mail:send')
    const introspection = await introspect(tokens.access_token)
    assert.equal(introspection.active, true)
    assert.equal(introspection.sub, client.client_id)
  })

  it('is refused with HTTP Basic, the method it did not register: 401 invalid_client with a Basic challenge', async () => {
    const config = await discover(issuer, client.client_id, oauth.ClientSecretBasic(client.client_secret), [])
    // openid-client reports a 401 that carries WWW-Authenticate as the challenge, not the body.
    const error: unknown = await oauth.clientCredentialsGrant(config, { scope: 'mail:send' }).then(
      () => assert.fail('the grant succeeded'),
      (reason: unknown) => reason,
    )
    assert.ok(error instanceof oauth.WWWAuthenticateChallengeError, String(error))
    assert.equal(error.status, 401)
    assert.deepEqual(
      error.cause.map(({ scheme, parameters }) => ({ scheme, realm: parameters.realm })),
      [{ scheme: 'basic', realm: 'gatehouse' }],
    )
    assert.equal(((await error.response.json()) as { error?: string }).error, 'invalid_client')
  })
})

const pythonMissing = await pythonLibrariesMissing()

// Skipped with the reason when the libraries are missing, unless REQUIRE_SERVICES=1: then it fails.
describe('requests-oauthlib and PyJWT (Python)', { skip: REQUIRE_SERVICES ? false : pythonMissing }, () => {
  it('fetches a client-credentials token that PyJWT verifies through the JWKS: iss, aud, sub = client_id, scope', async () => {
    if (pythonMissing) assert.fail(`REQUIRE_SERVICES=1, but ${pythonMissing}`)
    const client = await registerClient(server, adminToken, {
      scopes: ['billing:read', 'billing:write'],
      token_endpoint_auth_method: 'client_secret_basic',
    })
    const { stdout } = await execFileAsync(PYTHON, [PYTHON_SCRIPT], {
      timeout: 30_000,
      env: {
        PATH: '/usr/bin:/bin',
        // oauthlib refuses http:// URLs unless told this is a test.
        OAUTHLIB_INSECURE_TRANSPORT: '1',
        GATEHOUSE_TOKEN_URL: `${issuer}/auth/token`,
        GATEHOUSE_JWKS_URL: `${issuer}/.well-known/jwks.json`,
        GATEHOUSE_ISSUER: issuer,
        GATEHOUSE_AUDIENCE: AUDIENCE,
        CLIENT_ID: client.client_id,
        CLIENT_SECRET: client.client_secret ?? '',
        SCOPE: 'billing:read',
      },
    })
    const result = JSON.parse(stdout) as {
      token_response: Record<string, unknown>
      header: Record<string, unknown>
      claims: Record<string, unknown>
    }
    assert.equal(result.token_response.token_type, 'bearer')
    assert.deepEqual(result.token_response.scope, ['billing:read'])
    assert.equal(result.header.alg, 'RS256')
    assert.equal(result.header.typ, 'at+jwt')
    assert.equal(result.claims.iss, issuer)
    assert.equal(result.claims.aud, AUDIENCE)
    assert.equal(result.claims.sub, client.client_id)
    assert.equal(result.claims.client_id, client.client_id)
    assert.equal(result.claims.scope, 'billing:read')
    assert.equal(result.claims.sid, undefined)
  })
})
