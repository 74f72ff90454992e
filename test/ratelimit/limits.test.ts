import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { describe, it } from 'node:test'
import type { LightMyRequestResponse } from 'fastify'
import { createTestDatabase, REDIS_URL, sharedServicesSkip } from '../support/databases.ts'
import {
  STRONG_PASSWORD,
  describeOnDatabases,
  signupAndLogin,
  startTestApp,
  stopTestApp,
  uniqueEmail,
  type TestApp,
} from '../support/harness.ts'

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

const login = (t: TestApp, username: string, password: string, remoteAddress = '127.0.0.1', headers = {}) =>
  t.app.inject({
    method: 'POST',
    url: '/auth/login',
    remoteAddress,
    headers,
    payload: { username, password },
  })

async function newAccount(t: TestApp) {
  const email = uniqueEmail()
  const response = await t.app.inject({
    method: 'POST',
    url: '/auth/signup',
    remoteAddress: `10.9.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}`,
    payload: { email, password: STRONG_PASSWORD },
  })
  assert.equal(response.statusCode, 201, response.body)
  return email
}

await describeOnDatabases(
  'Login rate limits (LOGIN_RATE_LIMIT=3)',
  (ctx) => {
    it('limits attempts per client address, whatever the account, with Retry-After', async () => {
      const address = '198.51.100.1'
      for (let i = 0; i < 3; i++)
        assert.equal((await login(ctx(), uniqueEmail(), 'wrong password', address)).statusCode, 401)
      assertLimited(await login(ctx(), uniqueEmail(), 'wrong password', address), 20)
      const elsewhere = await login(ctx(), uniqueEmail(), 'wrong password', '198.51.100.2')
      assert.equal(elsewhere.statusCode, 401, 'another address has its own budget')
      ctx().clock.advance(20)
      assert.equal(
        (await login(ctx(), uniqueEmail(), 'wrong password', address)).statusCode,
        401,
        'one attempt back after 60/3 s',
      )
      assertLimited(await login(ctx(), uniqueEmail(), 'wrong password', address))
    })

    it('limits attempts per account, whatever the address, even with the right password', async () => {
      const email = await newAccount(ctx())
      for (let i = 0; i < 3; i++) {
        assert.equal((await login(ctx(), email, STRONG_PASSWORD, `203.0.113.${i + 1}`)).statusCode, 200)
      }
      assertLimited(await login(ctx(), email.toUpperCase(), STRONG_PASSWORD, '203.0.113.9'))
      ctx().clock.advance(60)
    })

    it('limits the password grant of /auth/token, answering in RFC 6749 form', async () => {
      const address = '198.51.100.7'
      const grant = () =>
        ctx().app.inject({
          method: 'POST',
          url: '/auth/token',
          remoteAddress: address,
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          payload: new URLSearchParams({
            grant_type: 'password',
            username: uniqueEmail(),
            password: 'x',
          }).toString(),
        })
      for (let i = 0; i < 3; i++) assert.equal((await grant()).statusCode, 400)
      const limited = await grant()
      assert.equal(limited.statusCode, 429)
      assert.equal(limited.json().error, 'temporarily_unavailable')
      assert.ok(Number(limited.headers['retry-after']) >= 1)
    })

    it('reads the client address from X-Forwarded-For only when TRUST_PROXY says so', async () => {
      const spoofed = (i: number) =>
        login(ctx(), uniqueEmail(), 'wrong password', '198.51.100.20', { 'x-forwarded-for': `192.0.2.${i}` })
      for (let i = 0; i < 3; i++) assert.equal((await spoofed(i)).statusCode, 401)
      assertLimited(await spoofed(99))
    })
  },
  { env: { LOGIN_RATE_LIMIT: '3' } },
)

await describeOnDatabases(
  'Login rate limits behind a trusted proxy (TRUST_PROXY=127.0.0.1)',
  (ctx) => {
    it('keys the budget on the forwarded client address', async () => {
      const from = (client: string) =>
        login(ctx(), uniqueEmail(), 'wrong password', '127.0.0.1', { 'x-forwarded-for': client })
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
    it('limits signups per client address', async () => {
      const signup = (email: string) =>
        ctx().app.inject({
          method: 'POST',
          url: '/auth/signup',
          remoteAddress: '198.51.100.30',
          payload: { email, password: STRONG_PASSWORD },
        })
      assert.equal((await signup(uniqueEmail())).statusCode, 201)
      assert.equal((await signup(uniqueEmail())).statusCode, 201)
      assertLimited(await signup(uniqueEmail()), 30)
    })

    it('counts attempts with a taken email too, so the 409 cannot be used to probe at speed', async () => {
      const taken = await newAccount(ctx())
      const signup = () =>
        ctx().app.inject({
          method: 'POST',
          url: '/auth/signup',
          remoteAddress: '198.51.100.31',
          payload: { email: taken, password: STRONG_PASSWORD },
        })
      assert.equal((await signup()).statusCode, 409)
      assert.equal((await signup()).statusCode, 409)
      assertLimited(await signup())
    })
  },
  { env: { SIGNUP_RATE_LIMIT: '2' } },
)

await describeOnDatabases('Failed-login throttle', (ctx) => {
  const auditOf = (t: TestApp, type: string) =>
    t.services.db.selectFrom('audit_events').selectAll().where('type', '=', type).execute()

  it('slows an account down after 5 failures in a row, doubling up to 15 minutes, and audits each block', async () => {
    const email = await newAccount(ctx())
    for (let i = 0; i < 5; i++) assert.equal((await login(ctx(), email, 'wrong password')).statusCode, 401)
    assertLimited(await login(ctx(), email, STRONG_PASSWORD), 1)
    ctx().clock.advance(1)
    assert.equal((await login(ctx(), email, 'wrong password')).statusCode, 401)
    assertLimited(await login(ctx(), email, STRONG_PASSWORD), 2)
    for (const seconds of [2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900]) {
      ctx().clock.advance(seconds)
      assert.equal((await login(ctx(), email, 'wrong password')).statusCode, 401)
      assertLimited(await login(ctx(), email, STRONG_PASSWORD))
    }
    const [lastBlock] = (await auditOf(ctx(), 'login_throttled'))
      .filter((e) => JSON.parse(e.data).username === email)
      .slice(-1)
    assert.deepEqual(JSON.parse(lastBlock!.data), { username: email, failures: 17, seconds: 900 })
    ctx().clock.advance(900)
    assert.equal(
      (await login(ctx(), email, STRONG_PASSWORD)).statusCode,
      200,
      'the owner gets in once the block ends',
    )
  })

  it('forgets the failures after a successful login', async () => {
    const email = await newAccount(ctx())
    for (let i = 0; i < 4; i++) await login(ctx(), email, 'wrong password')
    assert.equal((await login(ctx(), email, STRONG_PASSWORD)).statusCode, 200)
    for (let i = 0; i < 4; i++) assert.equal((await login(ctx(), email, 'wrong password')).statusCode, 401)
    assert.equal((await login(ctx(), email, STRONG_PASSWORD)).statusCode, 200)
  })

  it('throttles an unknown account exactly like a real one, so blocks reveal nothing', async () => {
    const real = await newAccount(ctx())
    const unknown = uniqueEmail()
    const bodies = []
    for (const email of [real, unknown]) {
      for (let i = 0; i < 5; i++) await login(ctx(), email, 'wrong password')
      const blocked = await login(ctx(), email, 'wrong password')
      assertLimited(blocked, 1)
      bodies.push({ ...blocked.json().error, request_id: undefined })
    }
    assert.deepEqual(bodies[0], bodies[1])
  })

  it('does not check the password while blocked', async () => {
    const email = await newAccount(ctx())
    for (let i = 0; i < 5; i++) await login(ctx(), email, 'wrong password')
    const failuresBefore = (await auditOf(ctx(), 'login_failed')).length
    assertLimited(await login(ctx(), email, 'yet another guess'))
    assert.equal((await auditOf(ctx(), 'login_failed')).length, failuresBefore)
  })
})

await describeOnDatabases('Refresh rate limit', (ctx) => {
  it('allows 120 refreshes a minute per session', async () => {
    let { tokens } = await signupAndLogin(ctx().app)
    let limited: LightMyRequestResponse | undefined
    for (let i = 0; i < 121 && !limited; i++) {
      const response = await ctx().app.inject({
        method: 'POST',
        url: '/auth/refresh',
        payload: { refresh_token: tokens.refresh_token },
      })
      if (response.statusCode === 429) limited = response
      else tokens = response.json()
    }
    assert.ok(limited, 'the 121st refresh within a minute is refused')
    assertLimited(limited)
    ctx().clock.advance(1)
    const again = await ctx().app.inject({
      method: 'POST',
      url: '/auth/refresh',
      payload: { refresh_token: tokens.refresh_token },
    })
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
        statuses.push((await login(app, uniqueEmail(), 'wrong password', address)).statusCode)
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
    it('limits password-reset and verification mails per client address, known email or not', async () => {
      const forgot = (email: string) =>
        ctx().app.inject({
          method: 'POST',
          url: '/auth/password/forgot',
          remoteAddress: '198.51.100.60',
          payload: { email },
        })
      assert.equal((await forgot(await newAccount(ctx()))).statusCode, 202)
      assert.equal((await forgot(uniqueEmail())).statusCode, 202)
      assertLimited(await forgot(uniqueEmail()), 30)
      const { authorization } = await signupAndLogin(ctx().app)
      const verify = () =>
        ctx().app.inject({
          method: 'POST',
          url: '/auth/email/verify/request',
          remoteAddress: '198.51.100.60',
          headers: { authorization },
        })
      assertLimited(await verify())
      assert.equal(
        (
          await ctx().app.inject({
            method: 'POST',
            url: '/auth/email/verify/request',
            remoteAddress: '198.51.100.61',
            headers: { authorization },
          })
        ).statusCode,
        202,
      )
    })
  },
  { env: { MAIL_RATE_LIMIT: '2' } },
)
