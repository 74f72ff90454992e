import assert from 'node:assert/strict'
import { it } from 'node:test'
import { MAIL_DELIVERY_CONCURRENCY } from '../../../src/platform/mail/outbox.ts'
import type { MailMessage, MailTransport } from '../../../src/platform/mail/transport.ts'
import { STRONG_PASSWORD, describeOnDatabases, uniqueEmail, type TestApp } from '../../support/harness.ts'
import { deliver } from '../../support/mail.ts'
import { clientFor } from '../../support/client.ts'

/** A transport that records what it was handed, can refuse everything, and yields while sending. */
class RecordingTransport implements MailTransport {
  readonly kind = 'smtp'
  started: string[] = []
  inFlight = 0
  mostInFlight = 0
  failing = false

  async send(message: MailMessage): Promise<void> {
    this.started.push(message.to)
    this.inFlight += 1
    this.mostInFlight = Math.max(this.mostInFlight, this.inFlight)
    try {
      // Wait for the other sends to start beside this one — by the clock, since on a loaded machine
      // the other workers' database claims take longer than any fixed number of event-loop turns —
      // then a few turns more, in which a send beyond the bound would show.
      const until = Date.now() + 250
      while (Date.now() < until && this.inFlight < MAIL_DELIVERY_CONCURRENCY)
        await new Promise((resolve) => setTimeout(resolve, 2))
      for (let i = 0; i < 100 && this.inFlight <= MAIL_DELIVERY_CONCURRENCY; i++)
        await new Promise(setImmediate)
      if (this.failing) throw Object.assign(new Error('connection refused'), { code: 'ECONNECTION' })
    } finally {
      this.inFlight -= 1
    }
  }

  reset(): void {
    this.started = []
    this.mostInFlight = 0
    this.failing = false
  }

  close(): void {}
}

const transport = new RecordingTransport()

async function accounts(t: TestApp, count: number): Promise<string[]> {
  const emails = Array.from({ length: count }, () => uniqueEmail())
  for (const email of emails) {
    const response = await t.app.inject({
      method: 'POST',
      url: '/auth/signup',
      payload: { email, password: STRONG_PASSWORD },
    })
    assert.equal(response.statusCode, 201, response.body)
  }
  return emails
}

await describeOnDatabases(
  'Mail delivery order and concurrency',
  (ctx) => {
    const api = clientFor(ctx)
    it('delivers a fresh reset mail ahead of a backlog of retries', async () => {
      transport.reset()
      const backlog = await accounts(ctx(), 25)
      const [victim] = await accounts(ctx(), 1)
      for (const email of backlog) assert.equal((await api.forgotPassword(email)).statusCode, 202)
      transport.failing = true
      assert.equal((await deliver(ctx())).retrying, 20)
      assert.equal((await deliver(ctx())).retrying, 5)
      transport.failing = false
      ctx().clock.advance(60) // every retry is due again, before the fresh mail is even asked for
      assert.equal((await api.forgotPassword(victim!)).statusCode, 202)
      transport.started = []
      const report = await deliver(ctx())
      assert.equal(report.sent, 20, 'one batch per run')
      assert.ok(
        transport.started.includes(victim!.toLowerCase()),
        'the fresh mail is in the first batch, not behind 25 retries that fell due earlier',
      )
      assert.equal((await deliver(ctx())).sent, 6, 'the retries follow')
    })

    it(`hands at most ${MAIL_DELIVERY_CONCURRENCY} mails to the transport at once`, async () => {
      transport.reset()
      for (const email of await accounts(ctx(), 12)) await api.forgotPassword(email)
      assert.equal((await deliver(ctx())).sent, 12)
      assert.equal(transport.mostInFlight, MAIL_DELIVERY_CONCURRENCY)
    })
  },
  { mail: { transport } },
)
