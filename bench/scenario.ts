import { randomBytes } from 'node:crypto'
import type { LoadSpec } from './load.ts'

/** Every figure uses this many closed-loop connections (the reference figures' setting). */
export const CONNECTIONS = 50

/**
 * The bench's admin (`ADMIN_EMAIL`/`ADMIN_PASSWORD` of its server), who registers the machine
 * client. New for every bench process, so a kept PostgreSQL database never holds it already with
 * another password.
 */
export const BENCH_ADMIN = {
  email: `bench-admin-${randomBytes(6).toString('hex')}@example.com`,
  password: `bench admin ${randomBytes(12).toString('base64url')}`,
}

async function call<T>(
  url: string,
  init: { method?: 'GET' | 'POST'; headers?: Record<string, string>; body?: string },
  expect: number,
): Promise<T> {
  const response = await fetch(url, { method: init.method ?? 'POST', headers: init.headers, body: init.body })
  if (response.status !== expect) throw new Error(`${url}: ${response.status} ${await response.text()}`)
  return (await response.json()) as T
}

const post = <T>(url: string, body: unknown, expect: number, headers: Record<string, string> = {}) =>
  call<T>(
    url,
    { headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) },
    expect,
  )

const FORM = 'application/x-www-form-urlencoded'

/** RFC 6749 §2.3.1: id and secret each form-urlencoded, joined by a colon, then base64. */
const basic = (id: string, secret: string) =>
  `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`

interface Tokens {
  access_token: string
  refresh_token: string
}

export interface Scenario {
  health: LoadSpec
  me: LoadSpec
  /** `GET /me` with a personal access token instead of the login's JWT. */
  mePat: LoadSpec
  login: LoadSpec
  refresh: LoadSpec
  /** `POST /auth/token` `grant_type=client_credentials`, the client authenticated with HTTP Basic. */
  clientToken: LoadSpec
  /** `POST /auth/introspect` of a live user access token by a client with scope `introspect` (Basic). */
  introspect: LoadSpec
}

/**
 * Signs up a user and logs it in once for `GET /me`'s access token, once for the token that is
 * introspected, and three times per connection for refresh tokens: a refresh token is single-use,
 * so each refreshing connection needs its own chain (each 200 hands back the successor, which a
 * later request presents — real rotations, never the reuse-grace path). Three per connection
 * leaves slack for the tokens autocannon prepares before it sends.
 *
 * The user makes a personal access token (`POST /me/tokens` with the `/me` access token), and the
 * admin (`BENCH_ADMIN`, ensured by the server at start) registers one `client_secret_basic` client
 * with scope `introspect`, which both fetches client-credentials tokens and introspects. Each new
 * credential is tried once here, so a figure never measures a request that fails.
 */
export async function prepare(url: string, seconds: number): Promise<Scenario> {
  const credentials = {
    username: `bench-${randomBytes(6).toString('hex')}@example.com`,
    password: `bench ${randomBytes(12).toString('base64url')}`,
  }
  await post(`${url}/auth/signup`, { email: credentials.username, password: credentials.password }, 201)
  const tokens: Tokens[] = []
  const wanted = 2 + 3 * CONNECTIONS
  while (tokens.length < wanted) {
    const batch = Math.min(4, wanted - tokens.length)
    tokens.push(
      ...(await Promise.all(
        Array.from({ length: batch }, () => post<Tokens>(`${url}/auth/login`, credentials, 200)),
      )),
    )
  }
  const [meTokens, introspected, ...refreshTokens] = tokens
  if (!meTokens || !introspected) throw new Error('no access tokens')
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

  const pat = await post<{ token: string }>(
    `${url}/me/tokens`,
    { name: 'bench' },
    201,
    bearer(meTokens.access_token),
  )
  await call(`${url}/me`, { method: 'GET', headers: bearer(pat.token) }, 200)

  const admin = await post<Tokens>(
    `${url}/auth/login`,
    { username: BENCH_ADMIN.email, password: BENCH_ADMIN.password },
    200,
  )
  const client = await post<{ client_id: string; client_secret: string }>(
    `${url}/admin/clients`,
    { name: 'bench', scopes: ['introspect'], token_endpoint_auth_method: 'client_secret_basic' },
    201,
    bearer(admin.access_token),
  )
  const clientHeaders = { 'content-type': FORM, authorization: basic(client.client_id, client.client_secret) }
  const clientTokenBody = new URLSearchParams({ grant_type: 'client_credentials' }).toString()
  await call(`${url}/auth/token`, { headers: clientHeaders, body: clientTokenBody }, 200)
  const introspectBody = new URLSearchParams({ token: introspected.access_token }).toString()
  const answer = await call<{ active: boolean }>(
    `${url}/auth/introspect`,
    { headers: clientHeaders, body: introspectBody },
    200,
  )
  if (!answer.active) throw new Error('the introspected access token is not active')

  const spec = (name: string, path: string, extra: Partial<LoadSpec> = {}): LoadSpec => ({
    name,
    url,
    path,
    method: 'GET',
    connections: CONNECTIONS,
    seconds,
    ...extra,
  })
  return {
    health: spec('GET /health', '/health'),
    me: spec('GET /me', '/me', { headers: bearer(meTokens.access_token) }),
    mePat: spec('GET /me (personal access token)', '/me', { headers: bearer(pat.token) }),
    login: spec('POST /auth/login', '/auth/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(credentials),
    }),
    refresh: spec('POST /auth/refresh', '/auth/refresh', {
      method: 'POST',
      refreshTokens: refreshTokens.map((t) => t.refresh_token),
    }),
    clientToken: spec('POST /auth/token (client_credentials)', '/auth/token', {
      method: 'POST',
      headers: clientHeaders,
      body: clientTokenBody,
    }),
    introspect: spec('POST /auth/introspect', '/auth/introspect', {
      method: 'POST',
      headers: clientHeaders,
      body: introspectBody,
    }),
  }
}
