import { randomBytes } from 'node:crypto'
import type { LoadSpec } from './load.ts'

/** Every figure uses this many closed-loop connections (the reference figures' setting). */
export const CONNECTIONS = 50

async function post<T>(url: string, body: unknown, expect: number): Promise<T> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  if (response.status !== expect) throw new Error(`${url}: ${response.status} ${await response.text()}`)
  return (await response.json()) as T
}

interface Tokens {
  access_token: string
  refresh_token: string
}

export interface Scenario {
  health: LoadSpec
  me: LoadSpec
  login: LoadSpec
  refresh: LoadSpec
}

/**
 * Signs up a user and logs it in once for `GET /me`'s access token and three times per connection
 * for refresh tokens: a refresh token is single-use, so each refreshing connection needs its own
 * chain (each 200 hands back the successor, which a later request presents — real rotations, never
 * the reuse-grace path). Three per connection leaves slack for the tokens autocannon prepares
 * before it sends.
 */
export async function prepare(url: string, seconds: number): Promise<Scenario> {
  const credentials = {
    username: `bench-${randomBytes(6).toString('hex')}@example.com`,
    password: `bench ${randomBytes(12).toString('base64url')}`,
  }
  await post(`${url}/auth/signup`, { email: credentials.username, password: credentials.password }, 201)
  const tokens: Tokens[] = []
  const wanted = 1 + 3 * CONNECTIONS
  while (tokens.length < wanted) {
    const batch = Math.min(4, wanted - tokens.length)
    tokens.push(
      ...(await Promise.all(
        Array.from({ length: batch }, () => post<Tokens>(`${url}/auth/login`, credentials, 200)),
      )),
    )
  }
  const [meTokens, ...refreshTokens] = tokens
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
    me: spec('GET /me', '/me', { headers: { authorization: `Bearer ${meTokens?.access_token ?? ''}` } }),
    login: spec('POST /auth/login', '/auth/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(credentials),
    }),
    refresh: spec('POST /auth/refresh', '/auth/refresh', {
      method: 'POST',
      refreshTokens: refreshTokens.map((t) => t.refresh_token),
    }),
  }
}
