import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { PRODUCTION_ARGON2, PasswordHasher } from '../../../src/platform/crypto/passwords.ts'
import { AppError } from '../../../src/platform/http/errors.ts'
import { describeOnDatabases } from '../../support/harness.ts'
import { clientFor } from '../../support/client.ts'

/** Slow enough that a few hashes are still waiting while the test looks. */
const SLOW_ARGON2 = { ...PRODUCTION_ARGON2, timeCost: 4 }

function assertShed(result: PromiseSettledResult<unknown>) {
  assert.equal(result.status, 'rejected')
  const error = result.reason as AppError
  assert.ok(error instanceof AppError, String(error))
  assert.equal(error.code, 'UNAVAILABLE')
  assert.equal(error.status, 503)
  assert.equal(error.headers['retry-after'], '1')
}

describe('The password-hashing queue', () => {
  it('refuses a hash at once when the line is full, instead of making every one wait', async () => {
    const hasher = await PasswordHasher.create(SLOW_ARGON2, 1, { maxWaiting: 2, maxWaitMs: 60_000 })
    const results = await Promise.allSettled(
      Array.from({ length: 6 }, (_, i) => hasher.hash(`password ${i}`)),
    )
    assert.deepEqual(
      results.map((result) => result.status),
      ['fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'rejected', 'rejected'],
    )
    for (const result of results.slice(3)) assertShed(result)
    assert.ok((await hasher.verify(await hasher.hash('after the flood'), 'after the flood')).ok)
  })

  it('gives up a hash that waited longer than the maximum wait', async () => {
    const hasher = await PasswordHasher.create(SLOW_ARGON2, 1, { maxWaiting: 10, maxWaitMs: 1 })
    const [first, second] = await Promise.allSettled([hasher.hash('first'), hasher.hash('second')])
    assert.equal(first.status, 'fulfilled')
    assertShed(second)
  })
})

await describeOnDatabases(
  'A login flood against a tiny hashing queue (1 thread, 1 waiting)',
  (ctx) => {
    const api = clientFor(ctx)
    it('answers what the queue cannot take with 503 UNAVAILABLE and Retry-After, in both error forms', async () => {
      const { email, password } = await api.loggedInUser()
      const login = () => api.login(email, password)
      const token = () => api.token({ grant_type: 'password', username: email, password })
      const flood = [...Array.from({ length: 8 }, login), ...Array.from({ length: 4 }, token)]
      const responses = await Promise.all(flood)
      const statuses = responses.map((response) => response.statusCode)
      assert.ok(statuses.includes(200), statuses.join(' '))
      assert.ok(statuses.filter((status) => status === 503).length >= 6, statuses.join(' '))
      responses.forEach((response, i) => {
        if (response.statusCode === 200) return
        assert.equal(response.statusCode, 503)
        assert.equal(response.headers['retry-after'], '1')
        if (i < 8) assert.equal(response.json().error.code, 'UNAVAILABLE')
        else assert.equal(response.json().error, 'temporarily_unavailable')
      })
      assert.equal((await login()).statusCode, 200, 'the flood over, logins go through again')
    })
  },
  { argon2: SLOW_ARGON2, hashing: { concurrency: 1, queue: { maxWaiting: 1, maxWaitMs: 60_000 } } },
)
