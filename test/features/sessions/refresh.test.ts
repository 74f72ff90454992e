import assert from 'node:assert/strict'
import { it } from 'node:test'
import { decodeJwt } from 'jose'
import { runMaintenance } from '../../../src/features/ops/maintenance.ts'
import { hashOpaqueToken } from '../../../src/platform/crypto/opaque-tokens.ts'
import { describeOnDatabases, type TestApp } from '../../support/harness.ts'
import { clientFor } from '../../support/client.ts'

interface Tokens {
  access_token: string
  refresh_token: string
  refresh_expires_in: number
  scope: string
}

/** When the refresh token was rotated (used); null while it is unused. */
async function rotatedAt(t: TestApp, refreshToken: string): Promise<unknown> {
  const row = await t.context.db
    .selectFrom('refresh_tokens')
    .select('rotated_at')
    .where('token_hash', '=', hashOpaqueToken(refreshToken))
    .executeTakeFirstOrThrow()
  return row.rotated_at
}

async function auditTypes(t: TestApp, userId: string): Promise<string[]> {
  const rows = await t.context.db
    .selectFrom('audit_events')
    .select('type')
    .where('user_id', '=', userId)
    .orderBy('at')
    .execute()
  return rows.map((row) => row.type)
}

await describeOnDatabases('POST /auth/refresh', (ctx) => {
  const api = clientFor(ctx)
  it('rotates: a new refresh token and access token for the same session, with no-store and the cookie', async () => {
    const { tokens } = await api.loggedInUser()
    ctx().clock.advance(60)
    const response = await api.refresh(tokens.refresh_token)
    assert.equal(response.statusCode, 200)
    const next = response.json<Tokens>()
    assert.notEqual(next.refresh_token, tokens.refresh_token)
    assert.notEqual(next.access_token, tokens.access_token)
    assert.equal(decodeJwt(next.access_token).sid, decodeJwt(tokens.access_token).sid)
    assert.equal(response.headers['cache-control'], 'no-store')
    const cookie = String(response.headers['set-cookie'])
    assert.match(cookie, new RegExp(`^gatehouse_refresh=${next.refresh_token};`))
    for (const flag of ['HttpOnly', 'Secure', 'SameSite=Strict', 'Path=/auth'])
      assert.ok(cookie.includes(flag), flag)
    assert.equal((await api.me(next.access_token)).statusCode, 200)
    assert.equal((await api.refresh(next.refresh_token)).statusCode, 200)
  })

  it("keeps the login's auth_time, amr and acr: a refresh proves nothing new about the user", async () => {
    const { tokens } = await api.loggedInUser()
    const login = decodeJwt(tokens.access_token)
    ctx().clock.advance(600)
    const refreshed = decodeJwt((await api.refresh(tokens.refresh_token)).json<Tokens>().access_token)
    assert.equal(refreshed.iat, login.iat! + 600)
    assert.equal(refreshed.auth_time, login.auth_time)
    assert.equal(refreshed.auth_time, login.iat)
    assert.deepEqual(refreshed.amr, ['pwd'])
    assert.equal(refreshed.acr, 'aal1')
    assert.equal(refreshed.client_id, 'gatehouse')
  })

  it('takes the refresh token from the cookie when the JSON body has none', async () => {
    const { tokens } = await api.loggedInUser()
    const response = await ctx().app.inject({
      method: 'POST',
      url: '/auth/refresh',
      cookies: { gatehouse_refresh: tokens.refresh_token },
      payload: {},
    })
    assert.equal(response.statusCode, 200)
    assert.ok(response.json<Tokens>().access_token)
  })

  it('refreshes with the cookie and no body at all, as fetch(url, {method: "POST", credentials: "include"}) and curl -X POST send it', async () => {
    const { tokens } = await api.loggedInUser()
    const fetchLike = await api.refresh(tokens.refresh_token, { via: 'cookie' })
    assert.equal(fetchLike.statusCode, 200, fetchLike.body)
    const next = fetchLike.json<Tokens>()
    assert.notEqual(next.refresh_token, tokens.refresh_token)
    assert.match(
      String(fetchLike.headers['set-cookie']),
      new RegExp(`^gatehouse_refresh=${next.refresh_token};`),
    )
    const curlLike = await api.refresh(next.refresh_token, {
      via: 'cookie',
      headers: { 'content-length': '0', 'user-agent': 'curl/8.5.0', accept: '*/*' },
    })
    assert.equal(curlLike.statusCode, 200, curlLike.body)
    assert.ok(curlLike.json<Tokens>().access_token)
  })

  it('refreshes with the cookie when the body is empty but labelled application/json (no 400 FST_ERR_CTP_EMPTY_JSON_BODY)', async () => {
    const { tokens } = await api.loggedInUser()
    let current = tokens.refresh_token
    for (const headers of [
      { 'content-type': 'application/json' },
      { 'content-type': 'application/json; charset=utf-8', 'content-length': '0' },
      { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
    ]) {
      const response = await ctx().app.inject({
        method: 'POST',
        url: '/auth/refresh',
        cookies: { gatehouse_refresh: current },
        headers,
        payload: '',
      })
      assert.equal(response.statusCode, 200, `${JSON.stringify(headers)}: ${response.body}`)
      current = response.json<Tokens>().refresh_token
    }
  })

  it('answers no body and no cookie with 401 INVALID_REFRESH_TOKEN, never a 422 or 500', async () => {
    for (const headers of [{}, { 'content-type': 'application/json' }]) {
      const response = await ctx().app.inject({ method: 'POST', url: '/auth/refresh', headers })
      assert.equal(response.statusCode, 401, JSON.stringify(headers))
      assert.equal(response.json().error.code, 'INVALID_REFRESH_TOKEN')
    }
  })

  it('refuses a cookie-only refresh with a form or text body, even an empty one, which a cross-site form or simple request could send', async () => {
    const { tokens } = await api.loggedInUser()
    for (const [contentType, payload] of [
      ['application/x-www-form-urlencoded', 'a=b'],
      ['application/x-www-form-urlencoded', ''],
      ['text/plain', '{}'],
      ['text/plain', ''],
      ['multipart/form-data; boundary=x', ''],
    ] as const) {
      const response = await ctx().app.inject({
        method: 'POST',
        url: '/auth/refresh',
        cookies: { gatehouse_refresh: tokens.refresh_token },
        headers: { 'content-type': contentType },
        payload,
      })
      assert.equal(response.statusCode, 415, `${contentType} ${JSON.stringify(payload)}: ${response.body}`)
      assert.equal(response.json().error.code, 'UNSUPPORTED_MEDIA_TYPE')
    }
    assert.equal(await rotatedAt(ctx(), tokens.refresh_token), null, 'the token was not consumed')
  })

  it('trusts http://HOST:PORT as its own origin when JWT_ISSUER is not a URL, and refuses another port of the same host', async () => {
    const { tokens } = await api.loggedInUser()
    const own = await api.refresh(tokens.refresh_token, {
      via: 'cookie',
      headers: {
        origin: 'http://127.0.0.1:8000',
        'sec-fetch-site': 'same-origin',
      },
    })
    assert.equal(own.statusCode, 200, own.body)
    const next = own.json<Tokens>().refresh_token
    const otherPort = await api.refresh(next, { via: 'cookie', headers: { origin: 'http://127.0.0.1:8001' } })
    assert.equal(otherPort.statusCode, 403)
    assert.equal(otherPort.json().error.code, 'FORBIDDEN')
    assert.equal(await rotatedAt(ctx(), next), null)
  })

  it('answers an unknown, missing or malformed refresh token with 401 INVALID_REFRESH_TOKEN', async () => {
    for (const payload of [{ refresh_token: 'not-a-token' }, {}]) {
      const response = await ctx().app.inject({ method: 'POST', url: '/auth/refresh', payload })
      assert.equal(response.statusCode, 401)
      assert.equal(response.json().error.code, 'INVALID_REFRESH_TOKEN')
      assert.equal(response.headers['www-authenticate'], 'Bearer')
    }
  })

  it('keeps the scope granted at login, narrowed to the current roles', async () => {
    const { email, password } = await api.loggedInUser()
    const login = await api.login({ username: email, password, scope: 'todos:read' })
    const next = (await api.refresh(login.json<Tokens>().refresh_token)).json<Tokens>()
    assert.equal(next.scope, 'todos:read')
    assert.equal(decodeJwt(next.access_token).scope, 'todos:read')
  })

  it('stores only the hash of the new refresh token, and retires the old one', async () => {
    const { tokens } = await api.loggedInUser()
    const next = (await api.refresh(tokens.refresh_token)).json<Tokens>()
    const { db } = ctx().context
    const rows = await db
      .selectFrom('refresh_tokens')
      .selectAll()
      .where('token_hash', 'in', [hashOpaqueToken(tokens.refresh_token), hashOpaqueToken(next.refresh_token)])
      .execute()
    const old = rows.find((row) => row.token_hash === hashOpaqueToken(tokens.refresh_token))
    const successor = rows.find((row) => row.token_hash === hashOpaqueToken(next.refresh_token))
    assert.ok(old?.rotated_at && successor && successor.rotated_at === null)
    assert.equal(old.replaced_by, successor.id)
  })

  it('answers a refresh token past REFRESH_TOKEN_TTL with 401', async () => {
    const { tokens } = await api.loggedInUser()
    ctx().clock.advance(7 * 86400 + 1)
    const response = await api.refresh(tokens.refresh_token)
    assert.equal(response.statusCode, 401)
    assert.equal(response.json().error.code, 'INVALID_REFRESH_TOKEN')
  })

  it('ends a session at its absolute lifetime however often it is refreshed', async () => {
    const { tokens } = await api.loggedInUser()
    let current = tokens.refresh_token
    let lastExpiresIn = Infinity
    for (let day = 6; day <= 30; day += 6) {
      ctx().clock.advance(6 * 86400)
      const response = await api.refresh(current)
      if (day < 30) {
        assert.equal(response.statusCode, 200, `day ${day}`)
        current = response.json<Tokens>().refresh_token
        lastExpiresIn = response.json<Tokens>().refresh_expires_in
      } else {
        assert.equal(response.statusCode, 401, 'past 30 days')
      }
    }
    assert.equal(lastExpiresIn, 6 * 86400, 'the last token was cut to the end of the session')
  })

  it('within the grace window, gives a replay the same successor, so the session never forks', async () => {
    const { tokens } = await api.loggedInUser()
    const first = (await api.refresh(tokens.refresh_token)).json<Tokens>()
    ctx().clock.advance(5)
    const again = await api.refresh(tokens.refresh_token)
    assert.equal(again.statusCode, 200)
    const second = again.json<Tokens>()
    assert.equal(second.refresh_token, first.refresh_token, 'the successor the rotation issued')
    assert.equal(second.refresh_expires_in, first.refresh_expires_in - 5)
    assert.match(
      String(again.headers['set-cookie']),
      new RegExp(`^gatehouse_refresh=${first.refresh_token};`),
    )
    for (const next of [first, second]) {
      assert.equal((await api.me(next.access_token)).statusCode, 200)
    }
    const tokensOfSession = await ctx()
      .context.db.selectFrom('refresh_tokens')
      .select('id')
      .where('session_id', '=', String(decodeJwt(tokens.access_token).sid))
      .execute()
    assert.equal(tokensOfSession.length, 2, 'the login token and its one successor')
    assert.equal((await api.refresh(first.refresh_token)).statusCode, 200)
  })

  it('gives a replay of a token whose successor was rotated since that same successor, under the successor’s own grace rule', async () => {
    const { tokens } = await api.loggedInUser()
    const second = (await api.refresh(tokens.refresh_token)).json<Tokens>()
    ctx().clock.advance(3)
    const third = (await api.refresh(second.refresh_token)).json<Tokens>()
    ctx().clock.advance(3)
    const replay = await api.refresh(tokens.refresh_token)
    assert.equal(replay.statusCode, 200)
    assert.equal(replay.json<Tokens>().refresh_token, second.refresh_token)
    const replayOfSecond = await api.refresh(second.refresh_token)
    assert.equal(replayOfSecond.json<Tokens>().refresh_token, third.refresh_token, 'within its own window')
    ctx().clock.advance(8)
    assert.equal((await api.refresh(second.refresh_token)).statusCode, 401, 'past its own window: theft')
    assert.equal((await api.refresh(third.refresh_token)).statusCode, 401, 'the session ended')
  })

  it('never keeps the sealed successor past the grace window: maintenance erases it, and it was never the token itself', async () => {
    const { tokens } = await api.loggedInUser()
    const next = (await api.refresh(tokens.refresh_token)).json<Tokens>()
    const parent = () =>
      ctx()
        .context.db.selectFrom('refresh_tokens')
        .select('successor_sealed')
        .where('token_hash', '=', hashOpaqueToken(tokens.refresh_token))
        .executeTakeFirstOrThrow()
    const sealed = (await parent()).successor_sealed
    assert.ok(sealed !== null && sealed.startsWith('v1.'), 'kept sealed during the window')
    assert.ok(!sealed.includes(next.refresh_token))
    ctx().clock.advance(10)
    await runMaintenance(ctx().context)
    assert.notEqual((await parent()).successor_sealed, null, 'the window is still open')
    ctx().clock.advance(1)
    const erased = await runMaintenance(ctx().context)
    assert.ok(erased.replayableSuccessors! >= 1)
    assert.equal((await parent()).successor_sealed, null)
    assert.equal((await api.refresh(next.refresh_token)).statusCode, 200, 'the successor itself lives on')
  })

  it('after the grace window, treats reuse as theft: the whole session ends, access token included', async () => {
    const { tokens, user } = await api.loggedInUser()
    const next = (await api.refresh(tokens.refresh_token)).json<Tokens>()
    ctx().clock.advance(11)
    const reuse = await api.refresh(tokens.refresh_token)
    assert.equal(reuse.statusCode, 401)
    assert.equal(reuse.json().error.code, 'INVALID_REFRESH_TOKEN')
    assert.equal((await api.refresh(next.refresh_token)).statusCode, 401, 'the successor is dead too')
    const access = await api.me(next.access_token)
    assert.equal(access.statusCode, 401)
    assert.equal(access.json().error.code, 'INVALID_TOKEN')
    assert.equal((await api.me(tokens.access_token)).statusCode, 401)
    assert.ok((await auditTypes(ctx(), user.id)).includes('refresh_reuse_detected'))
    const sealed = await ctx()
      .context.db.selectFrom('refresh_tokens')
      .select('successor_sealed')
      .where('session_id', '=', String(decodeJwt(tokens.access_token).sid))
      .execute()
    assert.deepEqual(
      sealed.map((row) => row.successor_sealed),
      [null, null],
      'the replay erased the sealed successor',
    )
  })

  it('ends the session, the successor handed to replays included, when a replay comes after the window', async () => {
    const { tokens } = await api.loggedInUser()
    const first = (await api.refresh(tokens.refresh_token)).json<Tokens>()
    ctx().clock.advance(4)
    const fork = (await api.refresh(tokens.refresh_token)).json<Tokens>()
    ctx().clock.advance(7)
    assert.equal((await api.refresh(tokens.refresh_token)).statusCode, 401)
    for (const next of [first, fork]) {
      assert.equal((await api.refresh(next.refresh_token)).statusCode, 401)
      const access = await api.me(next.access_token)
      assert.equal(access.statusCode, 401)
      assert.equal(access.json().error.code, 'INVALID_TOKEN')
    }
  })

  it('leaves the user’s other sessions alone when one is revoked for reuse', async () => {
    const first = await api.loggedInUser()
    const other = await api.login(first.email, first.password)
    await api.refresh(first.tokens.refresh_token)
    ctx().clock.advance(11)
    await api.refresh(first.tokens.refresh_token)
    assert.equal((await api.me(other.json<Tokens>().access_token)).statusCode, 200)
    assert.equal((await api.refresh(other.json<Tokens>().refresh_token)).statusCode, 200)
  })

  it('gives fifty parallel presenters of one token one and the same successor: one rotation, one session', async () => {
    const { tokens, authorization } = await api.loggedInUser()
    const responses = await Promise.all(Array.from({ length: 50 }, () => api.refresh(tokens.refresh_token)))
    assert.deepEqual(new Set(responses.map((r) => r.statusCode)), new Set([200]))
    const successors = new Set(responses.map((r) => r.json<Tokens>().refresh_token))
    assert.equal(successors.size, 1, 'every presenter got the same token')
    const { db } = ctx().context
    const sid = String(decodeJwt(tokens.access_token).sid)
    const rows = await db.selectFrom('refresh_tokens').selectAll().where('session_id', '=', sid).execute()
    assert.equal(rows.length, 2, 'the login token and one successor')
    const live = rows.filter((row) => row.rotated_at === null)
    assert.deepEqual(
      live.map((row) => row.token_hash),
      [...successors].map(hashOpaqueToken),
    )
    const sessions = await ctx().app.inject({
      method: 'GET',
      url: '/auth/sessions',
      headers: { authorization },
    })
    assert.deepEqual(
      sessions.json<{ id: string }[]>().map((session) => session.id),
      [sid],
    )
  })
})

const BROWSER_ORIGINS = {
  JWT_ISSUER: 'https://auth.example.com',
  PUBLIC_URL: 'https://app.example.com/welcome',
  CORS_ORIGINS: 'https://spa.example.com,http://localhost:5173',
}

await describeOnDatabases(
  'POST /auth/refresh from a browser (CSRF)',
  (ctx) => {
    const api = clientFor(ctx)
    it('refuses a cookie refresh the browser marks Sec-Fetch-Site: cross-site with 403 FORBIDDEN, whatever the body, and leaves the token unused; a body token is not refused', async () => {
      const { tokens } = await api.loggedInUser()
      for (const request of [
        { headers: { 'sec-fetch-site': 'cross-site' } },
        { headers: { 'sec-fetch-site': 'cross-site', 'content-type': 'application/json' }, payload: '' },
        { headers: { 'sec-fetch-site': 'cross-site' }, payload: {} },
        { headers: { 'sec-fetch-site': 'cross-site', origin: 'https://app.example.com' }, payload: {} },
      ]) {
        const response = await ctx().app.inject({
          method: 'POST',
          url: '/auth/refresh',
          cookies: { gatehouse_refresh: tokens.refresh_token },
          ...request,
        })
        assert.equal(response.statusCode, 403, `${JSON.stringify(request)}: ${response.body}`)
        assert.equal(response.json().error.code, 'FORBIDDEN')
        assert.equal(response.headers['set-cookie'], undefined)
      }
      assert.equal(await rotatedAt(ctx(), tokens.refresh_token), null, 'the token was not consumed')
      // A token in the body is no CSRF: a page of another site cannot read one to send.
      const bodyToken = await api.refresh(tokens.refresh_token, {
        headers: { 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' },
      })
      assert.equal(bodyToken.statusCode, 200, bodyToken.body)
    })

    it('refuses a cookie refresh from a foreign Origin, a look-alike of a trusted one, or Origin: null', async () => {
      const { tokens } = await api.loggedInUser()
      for (const origin of [
        'https://evil.example',
        'null',
        'https://app.example.com.evil.example',
        'http://app.example.com',
        'https://app.example.com:8443',
        'https://APP.example.com',
        'https://spa.example.com, https://evil.example',
        '',
      ]) {
        // A sibling subdomain is same-site for the browser (and SameSite=Strict sends the cookie).
        for (const site of [undefined, 'same-site']) {
          const response = await api.refresh(tokens.refresh_token, {
            via: 'cookie',
            headers: {
              origin,
              ...(site && { 'sec-fetch-site': site }),
            },
          })
          assert.equal(response.statusCode, 403, `Origin: ${origin} (${site}): ${response.body}`)
          assert.equal(response.json().error.code, 'FORBIDDEN')
        }
      }
      assert.equal(await rotatedAt(ctx(), tokens.refresh_token), null, 'the token was not consumed')
    })

    it('takes a cookie refresh from its own origin (JWT_ISSUER), PUBLIC_URL and CORS_ORIGINS, marked same-origin, same-site or none, or unmarked', async () => {
      const { tokens } = await api.loggedInUser()
      let current = tokens.refresh_token
      for (const headers of [
        { origin: 'https://auth.example.com', 'sec-fetch-site': 'same-origin' },
        { origin: 'https://app.example.com', 'sec-fetch-site': 'same-site' },
        { origin: 'https://spa.example.com', 'sec-fetch-site': 'same-site' },
        { origin: 'http://localhost:5173' },
        { 'sec-fetch-site': 'none' },
        { 'sec-fetch-site': 'same-origin' },
        {},
      ]) {
        const response = await api.refresh(current, { via: 'cookie', headers: headers })
        assert.equal(response.statusCode, 200, `${JSON.stringify(headers)}: ${response.body}`)
        current = response.json<Tokens>().refresh_token
      }
    })
  },
  { env: BROWSER_ORIGINS },
)

await describeOnDatabases(
  'POST /auth/refresh with REFRESH_REUSE_GRACE=0',
  (ctx) => {
    const api = clientFor(ctx)
    it('treats any second presentation as theft', async () => {
      const { tokens } = await api.loggedInUser()
      const next = (await api.refresh(tokens.refresh_token)).json<Tokens>()
      const kept = await ctx()
        .context.db.selectFrom('refresh_tokens')
        .select('successor_sealed')
        .where('token_hash', '=', hashOpaqueToken(tokens.refresh_token))
        .executeTakeFirstOrThrow()
      assert.equal(kept.successor_sealed, null, 'no successor is kept for replays')
      assert.equal((await api.refresh(tokens.refresh_token)).statusCode, 401)
      assert.equal((await api.me(next.access_token)).statusCode, 401)
    })

    it('never leaves two live successors after fifty parallel refreshes of one token', async () => {
      const { tokens } = await api.loggedInUser()
      const responses = await Promise.all(Array.from({ length: 50 }, () => api.refresh(tokens.refresh_token)))
      const granted = responses.filter((r) => r.statusCode === 200).map((r) => r.json<Tokens>())
      assert.ok(granted.length <= 1, `${granted.length} presenters got tokens`)
      const live = []
      for (const next of granted) {
        if ((await api.refresh(next.refresh_token)).statusCode === 200) live.push(next)
      }
      assert.ok(live.length <= 1)
      assert.ok(
        responses.every((r) => r.statusCode === 200 || r.json().error.code === 'INVALID_REFRESH_TOKEN'),
      )
    })
  },
  { env: { REFRESH_REUSE_GRACE: '0' } },
)

await describeOnDatabases('POST /auth/token with grant_type=refresh_token', (ctx) => {
  const api = clientFor(ctx)
  const grant = (refreshToken: string | undefined) =>
    api.token({ grant_type: 'refresh_token', ...(refreshToken ? { refresh_token: refreshToken } : {}) })

  it('gives a replay within the grace window the same successor, and ends the session on one after it', async () => {
    const { tokens } = await api.loggedInUser()
    const responses = await Promise.all(Array.from({ length: 20 }, () => grant(tokens.refresh_token)))
    assert.deepEqual(new Set(responses.map((r) => r.statusCode)), new Set([200]))
    const successors = new Set(responses.map((r) => r.json<Tokens>().refresh_token))
    assert.equal(successors.size, 1)
    ctx().clock.advance(11)
    const late = await grant(tokens.refresh_token)
    assert.equal(late.statusCode, 400)
    assert.equal(late.json().error, 'invalid_grant')
    assert.equal((await grant([...successors][0])).statusCode, 400, 'the successor died with the session')
  })

  it('rotates like /auth/refresh, without a cookie', async () => {
    const { tokens } = await api.loggedInUser()
    const response = await grant(tokens.refresh_token)
    assert.equal(response.statusCode, 200)
    assert.notEqual(response.json().refresh_token, tokens.refresh_token)
    assert.equal(response.headers['set-cookie'], undefined)
  })

  it('answers a bad refresh token with 400 invalid_grant and a missing one with invalid_request', async () => {
    const bad = await grant('nope')
    assert.equal(bad.statusCode, 400)
    assert.equal(bad.json().error, 'invalid_grant')
    const missing = await grant(undefined)
    assert.equal(missing.statusCode, 400)
    assert.equal(missing.json().error, 'invalid_request')
  })
})
