import assert from 'node:assert/strict'
import { it } from 'node:test'
import { PRODUCTION_ARGON2 } from '../../../src/platform/crypto/passwords.ts'
import { STRONG_PASSWORD, describeOnDatabases, uniqueEmail } from '../../support/harness.ts'

const SAMPLES = 15

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]!
}

await describeOnDatabases(
  'Account enumeration through POST /auth/login',
  (ctx) => {
    it('answers an unknown user and a wrong password alike, in comparable time (medians, production argon2id)', async () => {
      const accounts = []
      for (let i = 0; i < SAMPLES; i++) {
        const email = uniqueEmail()
        const signup = await ctx().app.inject({
          method: 'POST',
          url: '/auth/signup',
          payload: { email, password: STRONG_PASSWORD },
        })
        assert.equal(signup.statusCode, 201)
        accounts.push(email)
      }
      const timed = async (username: string) => {
        const started = process.hrtime.bigint()
        const response = await ctx().app.inject({
          method: 'POST',
          url: '/auth/login',
          payload: { username, password: 'not the password' },
        })
        return { ms: Number(process.hrtime.bigint() - started) / 1e6, response }
      }
      const known: number[] = []
      const unknown: number[] = []
      const bodies = new Set<string>()
      // Interleaved, so load on the machine hits both alike.
      for (const email of accounts) {
        for (const [sample, into] of [
          [await timed(email), known],
          [await timed(uniqueEmail()), unknown],
        ] as const) {
          assert.equal(sample.response.statusCode, 401)
          bodies.add(JSON.stringify({ ...sample.response.json().error, request_id: undefined }))
          into.push(sample.ms)
        }
      }
      assert.equal(bodies.size, 1, 'one body for both')
      const ratio = median(unknown) / median(known)
      assert.ok(
        ratio > 0.5 && ratio < 2,
        `unknown/known median time ratio ${ratio.toFixed(2)} (${median(unknown).toFixed(1)} / ${median(known).toFixed(1)} ms)`,
      )
    })
  },
  { argon2: PRODUCTION_ARGON2 },
)
