import assert from 'node:assert/strict'
import { cpuUsage } from 'node:process'
import { it } from 'node:test'
import { describeOnDatabases } from '../support/harness.ts'

/** CPU milliseconds `work` takes (user + system), so a busy machine cannot fail the bound. */
async function cpuMs(work: () => Promise<unknown>): Promise<number> {
  const start = cpuUsage()
  await work()
  const used = cpuUsage(start)
  return (used.user + used.system) / 1000
}

/** ~60 KiB strings that made backtracking patterns take seconds: every dot a possible split. */
const ADVERSARIAL_EMAILS = [
  `a@${'a.'.repeat(30_000)} x`,
  `${'a'.repeat(64)}@${'a.'.repeat(30_000)}@`,
  ` ${'a'.repeat(60_000)}`,
]

await describeOnDatabases('Patterns on hostile strings', (ctx) => {
  const post = (url: string, body: unknown) =>
    ctx().app.inject({ method: 'POST', url, payload: body as object })

  for (const [route, field] of [
    ['/auth/signup', 'email'],
    ['/auth/password/forgot', 'email'],
  ] as const) {
    it(`an email of "a@" + "a." × 30 000 to ${route} is refused in under 50 ms of CPU`, async () => {
      await post(route, {}) // validators compile at a route's first use: not what is measured
      for (const email of ADVERSARIAL_EMAILS) {
        let status = 0
        const ms = await cpuMs(async () => {
          status = (await post(route, { [field]: email, password: 'a fine long passphrase' })).statusCode
        })
        assert.equal(status, 422)
        assert.ok(ms < 50, `${route}: ${ms.toFixed(1)} ms of CPU`)
      }
    })
  }

  it('a 60 KiB full name or username is refused by its length before its pattern runs', async () => {
    const { app } = ctx()
    const long = 'a'.repeat(60_000)
    await app.inject({ method: 'POST', url: '/auth/signup', payload: {} })
    for (const payload of [
      { email: 'long.name@example.com', password: 'a fine long passphrase', full_name: long },
      { email: 'long.user@example.com', password: 'a fine long passphrase', username: long },
    ]) {
      let status = 0
      const ms = await cpuMs(async () => {
        status = (await app.inject({ method: 'POST', url: '/auth/signup', payload })).statusCode
      })
      assert.equal(status, 422)
      assert.ok(ms < 50, `${ms.toFixed(1)} ms of CPU`)
    }
  })

  it('still accepts ordinary addresses, and refuses empty labels', async () => {
    const ok = await post('/auth/signup', {
      email: ' first.last+tag@mail.example.co.uk ',
      password: 'a fine long passphrase',
    })
    assert.equal(ok.statusCode, 201)
    for (const email of ['a@b', 'a@b..c', 'a@.b.c', 'a@b.c.']) {
      assert.equal(
        (await post('/auth/signup', { email, password: 'a fine long passphrase' })).statusCode,
        422,
        email,
      )
    }
  })
})
