import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { describe, it } from 'node:test'
import type { LightMyRequestResponse } from 'fastify'
import { createTestDatabase, REDIS_URL, sharedServicesSkip } from '../../support/databases.ts'
import {
  STRONG_PASSWORD,
  describeOnDatabases,
  startTestApp,
  stopTestApp,
  uniqueEmail,
  type TestApp,
} from '../../support/harness.ts'
import { clientFor } from '../../support/client.ts'
import { TOKEN_REQUESTS_PER_LOGIN_LIMIT } from '../../../src/identity/limits/limits.ts'

function assertLimited(response: LightMyRequestResponse, retryAfter?: number) {
  assert.equal(response.statusCode, 429, response.body)
  assert.equal(response.json().error.code, 'RATE_LIMITED')
  const header = Number(response.headers['retry-after'])
  assert.ok(
    Number.isInteger(header) && header >= 1,
    `Retry-After: ${String(response.headers['retry-after'])}`,
  )
  if (retryAfter !== undefined) assert.equal(header, retryAfter)
}

async function newAccount(t: TestApp) {
  const remoteAddress = `10.9.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}`
  return (await clientFor(t).signedUpUser({}, { remoteAddress })).email
}

await describeOnDatabases(
  'Login rate limits (LOGIN_RATE_LIMIT=3)',
  (ctx) => {
    const api = clientFor(ctx)
    it('limits attempts per client address, whatever the account, with Retry-After', async () => {
      const address = '198.51.100.1'
      for (let i = 0; i < 3; i++)
        assert.equal(
          (await api.login(uniqueEmail(), 'wrong password', { remoteAddress: address })).statusCode,
          401,
        )
      assertLimited(await api.login(uniqueEmail(), 'wrong password', { remoteAddress: address }), 20)
      const elsewhere = await api.login(uniqueEmail(), 'wrong password', { remoteAddress: '198.51.100.2' })
      assert.equal(elsewhere.statusCode, 401, 'another address has its own budget')
      ctx().clock.advance(20)
      assert.equal(
        (await api.login(uniqueEmail(), 'wrong password', { remoteAddress: address })).statusCode,
        401,
        'one attempt back after 60/3 s',
      )
      assertLimited(await api.login(uniqueEmail(), 'wrong password', { remoteAddress: address }))
    })

    it('limits attempts per account from one network (/24), whatever the address in it, even with the right password', async () => {
      const email = await newAccount(ctx())
      for (let i = 0; i < 3; i++) {
        assert.equal(
          (await api.login(email, STRONG_PASSWORD, { remoteAddress: `203.0.113.${i + 1}` })).statusCode,
          200,
        )
      }
      assertLimited(await api.login(email.toUpperCase(), STRONG_PASSWORD, { remoteAddress: '203.0.113.9' }))
      assert.equal(
        (await api.login(email, STRONG_PASSWORD, { remoteAddress: '192.0.2.1' })).statusCode,
        200,
        'the same account from another network has a budget of its own',
      )
      ctx().clock.advance(60)
    })

    it('counts a burst of invalid bodies (422, 400) against the address before parsing them, up to 429', async () => {
      const address = '198.51.100.90'
      const invalid = await ctx().app.inject({
        method: 'POST',
        url: '/auth/login',
        remoteAddress: address,
        payload: { username: '' },
      })
      assert.equal(invalid.statusCode, 422)
      const unparsable = await ctx().app.inject({
        method: 'POST',
        url: '/auth/login',
        remoteAddress: address,
        headers: { 'content-type': 'application/json' },
        payload: '{"username":',
      })
      assert.equal(unparsable.statusCode, 400)
      assert.equal(
        (await api.login(uniqueEmail(), 'wrong password', { remoteAddress: address })).statusCode,
        401,
      )
      assertLimited(
        await ctx().app.inject({ method: 'POST', url: '/auth/login', remoteAddress: address, payload: {} }),
      )
    })

    it('counts password grants of /auth/token against the address, after /auth/login attempts', async () => {
      const address = '198.51.100.91'
      for (let i = 0; i < 3; i++) {
        const response = await api.login(uniqueEmail(), 'wrong password', { remoteAddress: address })
        assert.equal(response.statusCode, 401)
      }
      const limited = await api.token(
        { grant_type: 'password', username: uniqueEmail(), password: 'x' },
        { remoteAddress: address },
      )
      assert.equal(limited.statusCode, 429)
      assert.equal(limited.json().error, 'temporarily_unavailable')
    })

    it('counts every /auth/token request against the address before its body is read, up to 30 × LOGIN_RATE_LIMIT', async () => {
      const token = () =>
        ctx().app.inject({
          method: 'POST',
          url: '/auth/token',
          remoteAddress: '198.51.100.93',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          payload: 'grant_type=',
        })
      for (let i = 0; i < 3 * TOKEN_REQUESTS_PER_LOGIN_LIMIT; i++)
        assert.equal((await token()).statusCode, 400, `request ${i + 1}`)
      const limited = await token()
      assert.equal(limited.statusCode, 429)
      assert.equal(limited.json().error, 'temporarily_unavailable')
    })

    it('counts empty form bodies, and cross-site forms refused with 403, against the address on /auth/login, up to 429', async () => {
      const emptyForm = (headers: Record<string, string> = {}) =>
        api.request({ method: 'POST', url: '/auth/login', remoteAddress: '198.51.100.94', headers, form: {} })
      assert.equal((await emptyForm()).statusCode, 422)
      const crossSite = await emptyForm({ 'sec-fetch-site': 'cross-site' })
      assert.equal(crossSite.statusCode, 403)
      assert.equal(crossSite.json().error.code, 'FORBIDDEN')
      assert.equal((await emptyForm({ origin: 'null' })).statusCode, 403)
      assertLimited(await emptyForm())
    })

    it('counts every address of one IPv6 /64 as one client, and another /64 apart', async () => {
      for (let i = 1; i <= 3; i++) {
        const response = await api.login(uniqueEmail(), 'wrong password', {
          remoteAddress: `2001:db8:7:8::${i.toString(16)}`,
        })
        assert.equal(response.statusCode, 401)
      }
      assertLimited(
        await api.login(uniqueEmail(), 'wrong password', { remoteAddress: '2001:db8:7:8:ffff:1:2:3' }),
      )
      assert.equal(
        (await api.login(uniqueEmail(), 'wrong password', { remoteAddress: '2001:db8:7:9::1' })).statusCode,
        401,
      )
    })

    it('counts an IPv4-mapped IPv6 address as the IPv4 address it maps', async () => {
      for (let i = 0; i < 2; i++)
        assert.equal(
          (await api.login(uniqueEmail(), 'wrong password', { remoteAddress: '198.51.100.92' })).statusCode,
          401,
        )
      assert.equal(
        (await api.login(uniqueEmail(), 'wrong password', { remoteAddress: '::ffff:198.51.100.92' }))
          .statusCode,
        401,
      )
      assertLimited(await api.login(uniqueEmail(), 'wrong password', { remoteAddress: '::ffff:c633:645c' }))
    })

    it('limits the password grant of /auth/token, answering in RFC 6749 form', async () => {
      const address = '198.51.100.7'
      const grant = () =>
        api.token(
          {
            grant_type: 'password',
            username: uniqueEmail(),
            password: 'x',
          },
          { remoteAddress: address },
        )
      for (let i = 0; i < 3; i++) assert.equal((await grant()).statusCode, 400)
      const limited = await grant()
      assert.equal(limited.statusCode, 429)
      assert.equal(limited.json().error, 'temporarily_unavailable')
      assert.ok(Number(limited.headers['retry-after']) >= 1)
    })

    it('reads the client address from X-Forwarded-For only when TRUST_PROXY says so', async () => {
      const spoofed = (i: number) =>
        api.login(uniqueEmail(), 'wrong password', {
          remoteAddress: '198.51.100.20',
          headers: { 'x-forwarded-for': `192.0.2.${i}` },
        })
      for (let i = 0; i < 3; i++) assert.equal((await spoofed(i)).statusCode, 401)
      assertLimited(await spoofed(99))
    })
  },
  { env: { LOGIN_RATE_LIMIT: '3' } },
)

await describeOnDatabases(
  'Login rate limits behind a trusted proxy (TRUST_PROXY=127.0.0.1)',
  (ctx) => {
    const api = clientFor(ctx)
    it('keys the budget on the forwarded client address', async () => {
      const from = (client: string) =>
        api.login(uniqueEmail(), 'wrong password', {
          remoteAddress: '127.0.0.1',
          headers: { 'x-forwarded-for': client },
        })
      for (let i = 0; i < 2; i++) assert.equal((await from('192.0.2.1')).statusCode, 401)
      assertLimited(await from('192.0.2.1'))
      assert.equal((await from('192.0.2.2')).statusCode, 401)
    })
  },
  { env: { LOGIN_RATE_LIMIT: '2', TRUST_PROXY: '127.0.0.1' } },
)

await describeOnDatabases(
  'Signup rate limit (SIGNUP_RATE_LIMIT=2)',
  (ctx) => {
    const api = clientFor(ctx)
    it('limits signups per client address', async () => {
      const signup = (email: string) =>
        api.signup({ email, password: STRONG_PASSWORD }, { remoteAddress: '198.51.100.30' })
      assert.equal((await signup(uniqueEmail())).statusCode, 201)
      assert.equal((await signup(uniqueEmail())).statusCode, 201)
      assertLimited(await signup(uniqueEmail()), 30)
    })

    it('counts a burst of invalid bodies before parsing them, up to 429', async () => {
      const invalid = () =>
        api.signup(
          { email: 'a@' + 'a.'.repeat(5_000) + ' x', password: 'short' },
          { remoteAddress: '198.51.100.32' },
        )
      assert.equal((await invalid()).statusCode, 422)
      assert.equal((await invalid()).statusCode, 422)
      assertLimited(await invalid())
    })

    it('counts attempts with a taken email too, so the 409 cannot be used to probe at speed', async () => {
      const taken = await newAccount(ctx())
      const signup = () =>
        api.signup({ email: taken, password: STRONG_PASSWORD }, { remoteAddress: '198.51.100.31' })
      assert.equal((await signup()).statusCode, 409)
      assert.equal((await signup()).statusCode, 409)
      assertLimited(await signup())
    })
  },
  { env: { SIGNUP_RATE_LIMIT: '2' } },
)

await describeOnDatabases('Failed-login throttle', (ctx) => {
  const api = clientFor(ctx)
  const auditOf = (t: TestApp, type: string) =>
    t.context.db.selectFrom('audit_events').selectAll().where('type', '=', type).execute()

  it('slows an account down after 5 failures in a row, doubling up to 15 minutes, and audits each block', async () => {
    const email = await newAccount(ctx())
    for (let i = 0; i < 5; i++) assert.equal((await api.login(email, 'wrong password')).statusCode, 401)
    assertLimited(await api.login(email, STRONG_PASSWORD), 1)
    ctx().clock.advance(1)
    assert.equal((await api.login(email, 'wrong password')).statusCode, 401)
    assertLimited(await api.login(email, STRONG_PASSWORD), 2)
    for (const seconds of [2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900]) {
      ctx().clock.advance(seconds)
      assert.equal((await api.login(email, 'wrong password')).statusCode, 401)
      assertLimited(await api.login(email, STRONG_PASSWORD))
    }
    const [lastBlock] = (await auditOf(ctx(), 'login_throttled'))
      .filter((e) => JSON.parse(e.data).username === email)
      .slice(-1)
    assert.deepEqual(JSON.parse(lastBlock!.data), { username: email, failures: 17, seconds: 900 })
    ctx().clock.advance(900)
    assert.equal(
      (await api.login(email, STRONG_PASSWORD)).statusCode,
      200,
      'the owner gets in once the block ends',
    )
  })

  it('forgets the failures after a successful login', async () => {
    const email = await newAccount(ctx())
    for (let i = 0; i < 4; i++) await api.login(email, 'wrong password')
    assert.equal((await api.login(email, STRONG_PASSWORD)).statusCode, 200)
    for (let i = 0; i < 4; i++) assert.equal((await api.login(email, 'wrong password')).statusCode, 401)
    assert.equal((await api.login(email, STRONG_PASSWORD)).statusCode, 200)
  })

  it('throttles an unknown account exactly like a real one, so blocks reveal nothing', async () => {
    const real = await newAccount(ctx())
    const unknown = uniqueEmail()
    const bodies = []
    for (const email of [real, unknown]) {
      for (let i = 0; i < 5; i++) await api.login(email, 'wrong password')
      const blocked = await api.login(email, 'wrong password')
      assertLimited(blocked, 1)
      bodies.push({ ...blocked.json().error, request_id: undefined })
    }
    assert.deepEqual(bodies[0], bodies[1])
  })

  it('keeps a guesser on another network from locking the owner out of their usual network', async () => {
    const email = await newAccount(ctx())
    assert.equal((await api.login(email, STRONG_PASSWORD, { remoteAddress: '192.0.2.40' })).statusCode, 200)
    for (let i = 0; i < 20; i++) await api.login(email, 'wrong password', { remoteAddress: '203.0.113.40' })
    assertLimited(await api.login(email, STRONG_PASSWORD, { remoteAddress: '203.0.113.41' }))
    assert.equal(
      (await api.login(email, STRONG_PASSWORD, { remoteAddress: '192.0.2.41' })).statusCode,
      200,
      'the owner, from their network, gets in at once',
    )
  })

  it('counts the email and the username of one account on one counter', async () => {
    const email = uniqueEmail()
    const username = `user_${Math.floor(Math.random() * 1e9)}`
    const signup = await api.signup(
      { email, username, password: STRONG_PASSWORD },
      { remoteAddress: '10.9.0.1' },
    )
    assert.equal(signup.statusCode, 201, signup.body)
    for (const name of [email, username, email.toUpperCase(), username, email])
      assert.equal(
        (await api.login(name, 'wrong password', { remoteAddress: '198.51.100.44' })).statusCode,
        401,
      )
    assertLimited(
      await api.login(username.toUpperCase(), STRONG_PASSWORD, { remoteAddress: '198.51.100.44' }),
      1,
    )
  })

  it('does not check the password while blocked', async () => {
    const email = await newAccount(ctx())
    for (let i = 0; i < 5; i++) await api.login(email, 'wrong password')
    const failuresBefore = (await auditOf(ctx(), 'login_failed')).length
    assertLimited(await api.login(email, 'yet another guess'))
    assert.equal((await auditOf(ctx(), 'login_failed')).length, failuresBefore)
  })
})

const unknownPlaces = (store: string, env: Record<string, string>) =>
  describeOnDatabases(
    `Failed logins from unknown places, counted ${store} (LOGIN_RATE_LIMIT=2: 20 a minute for the whole service)`,
    (ctx) => {
      const api = clientFor(ctx)
      it('stops a guesser spread over many networks, while owners at their usual places still get in', async () => {
        const owner = await newAccount(ctx())
        const other = await newAccount(ctx())
        assert.equal(
          (await api.login(owner, STRONG_PASSWORD, { remoteAddress: '192.0.2.50' })).statusCode,
          200,
        )
        // One guess per network and account: no per-address or per-account budget ever fills.
        for (let i = 0; i < 20; i++) {
          const target = i % 2 === 0 ? owner : uniqueEmail()
          assert.equal(
            (await api.login(target, 'wrong password', { remoteAddress: `10.${i}.0.1` })).statusCode,
            401,
          )
        }
        assertLimited(await api.login(owner, 'wrong password', { remoteAddress: '10.200.0.1' }))
        assertLimited(await api.login(other, STRONG_PASSWORD, { remoteAddress: '10.201.0.1' }))
        assert.equal(
          (await api.login(owner, 'wrong password', { remoteAddress: '192.0.2.51' })).statusCode,
          401,
          'a place the account logged in from is exempt',
        )
        ctx().clock.advance(30)
        assert.equal(
          (await api.login(owner, STRONG_PASSWORD, { remoteAddress: '192.0.2.51' })).statusCode,
          200,
        )
        assert.equal(
          (await api.login(other, STRONG_PASSWORD, { remoteAddress: '10.201.0.1' })).statusCode,
          200,
          'the budget refills',
        )
      })

      it('forgets a place 30 days after the last login from it', async () => {
        ctx().clock.advance(60)
        const owner = await newAccount(ctx())
        assert.equal(
          (await api.login(owner, STRONG_PASSWORD, { remoteAddress: '192.0.2.60' })).statusCode,
          200,
        )
        ctx().clock.advance(30 * 86400)
        for (let i = 0; i < 20; i++)
          await api.login(uniqueEmail(), 'wrong password', { remoteAddress: `10.${i}.1.1` })
        assertLimited(await api.login(owner, STRONG_PASSWORD, { remoteAddress: '192.0.2.60' }))
      })
    },
    { env: { LOGIN_RATE_LIMIT: '2', ...env } },
  )
await unknownPlaces('in process', {})
if (!(await sharedServicesSkip())) await unknownPlaces('in Redis', { REDIS_URL })

await describeOnDatabases('Refresh rate limit', (ctx) => {
  const api = clientFor(ctx)
  it('allows 120 refreshes a minute per session', async () => {
    let { tokens } = await api.loggedInUser()
    let limited: LightMyRequestResponse | undefined
    for (let i = 0; i < 121 && !limited; i++) {
      const response = await api.refresh(tokens.refresh_token)
      if (response.statusCode === 429) limited = response
      else tokens = response.json()
    }
    assert.ok(limited, 'the 121st refresh within a minute is refused')
    assertLimited(limited)
    ctx().clock.advance(1)
    const again = await api.refresh(tokens.refresh_token)
    assert.equal(again.statusCode, 200, 'the refused refresh did not consume the token')
  })
})

describe('Rate limits shared through Redis', { skip: await sharedServicesSkip() }, () => {
  it('makes two instances spend one budget', async () => {
    const database = await createTestDatabase('postgres')
    const env = { REDIS_URL, REDIS_KEY_PREFIX: `test:${randomUUID()}:`, LOGIN_RATE_LIMIT: '4' }
    const first = await startTestApp(database, { env })
    const second = await startTestApp({ ...database, drop: () => Promise.resolve() }, { env })
    try {
      const address = '198.51.100.50'
      const statuses = []
      for (let i = 0; i < 6; i++) {
        const app = i % 2 === 0 ? first : second
        statuses.push(
          (await clientFor(app).login(uniqueEmail(), 'wrong password', { remoteAddress: address }))
            .statusCode,
        )
      }
      assert.deepEqual(statuses, [401, 401, 401, 401, 429, 429])
    } finally {
      await stopTestApp(first)
      await stopTestApp(second)
      await database.drop()
    }
  })
})

await describeOnDatabases(
  'Mail rate limit (MAIL_RATE_LIMIT=2)',
  (ctx) => {
    const api = clientFor(ctx)
    it('counts a burst of invalid reset requests before parsing them, up to 429', async () => {
      const invalid = () =>
        ctx().app.inject({
          method: 'POST',
          url: '/auth/password/forgot',
          remoteAddress: '198.51.100.62',
          payload: { email: 'not an address' },
        })
      assert.equal((await invalid()).statusCode, 422)
      assert.equal((await invalid()).statusCode, 422)
      assertLimited(await invalid())
    })

    it('limits password-reset and verification mails per client address, known email or not', async () => {
      const forgot = (email: string) => api.forgotPassword(email, { remoteAddress: '198.51.100.60' })
      assert.equal((await forgot(await newAccount(ctx()))).statusCode, 202)
      assert.equal((await forgot(uniqueEmail())).statusCode, 202)
      assertLimited(await forgot(uniqueEmail()), 30)
      const { tokens } = await api.loggedInUser()
      const verify = () => api.requestVerification(tokens.access_token, { remoteAddress: '198.51.100.60' })
      assertLimited(await verify())
      assert.equal(
        (await api.requestVerification(tokens.access_token, { remoteAddress: '198.51.100.61' })).statusCode,
        202,
      )
    })
  },
  { env: { MAIL_RATE_LIMIT: '2' } },
)

await describeOnDatabases(
  'Mail budget of the whole service (MAIL_RATE_LIMIT=1: 60 a minute)',
  (ctx) => {
    const api = clientFor(ctx)
    it('refuses a mail flood spread over many addresses once 60 were asked for in a minute', async () => {
      const forgot = (remoteAddress: string) => api.forgotPassword(uniqueEmail(), { remoteAddress })
      for (let i = 0; i < 60; i++) assert.equal((await forgot(`10.60.${i}.1`)).statusCode, 202)
      assertLimited(await forgot('10.61.0.1'), 1)
      ctx().clock.advance(1)
      assert.equal((await forgot('10.61.0.2')).statusCode, 202)
    })
  },
  { env: { MAIL_RATE_LIMIT: '1' } },
)
