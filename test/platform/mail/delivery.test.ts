import assert from 'node:assert/strict'
import { it } from 'node:test'
import { CLAIM_LEASE_MS, deliverDueMail, retryDelayMs } from '../../../src/platform/mail/outbox.ts'
import { startMailWorker } from '../../../src/platform/mail/worker.ts'
import { runMaintenance } from '../../../src/features/ops/maintenance.ts'
import { describeOnDatabases, startTestApp, stopTestApp, type TestApp } from '../../support/harness.ts'
import { clientFor } from '../../support/client.ts'
import { startTcpProxy } from '../../support/tcp-proxy.ts'
import { TestSmtpServer, tokenFromMail } from '../../support/smtp.ts'
import { RESET_PATH, assertNotLogged, deliver, NEW_PASSWORD } from '../../support/mail.ts'

// One server (and one plug we can pull in front of it) for the file, closed after the last suite.
const smtp = await TestSmtpServer.start()
const plug = await startTcpProxy(smtp.port, '127.0.0.1')
const throughPlug = `smtp://gatehouse:smtp-secret-4b1d@127.0.0.1:${plug.port}`
const tlsSmtp = await TestSmtpServer.start({ starttls: true })

async function outboxRows(t: TestApp) {
  return t.context.db.selectFrom('mail_outbox').selectAll().orderBy('created_at').execute()
}

await describeOnDatabases(
  'Mail delivery through an SMTP server that goes away',
  (ctx) => {
    const api = clientFor(ctx)
    const tokensSeen: string[] = []

    it('answers at once while SMTP is down, retries with back-off, and delivers once it is back', async () => {
      const { email } = await api.loggedInUser()
      await plug.close()
      try {
        const started = Date.now()
        assert.equal((await api.forgotPassword(email)).statusCode, 202)
        assert.ok(Date.now() - started < 2000, 'the request does not wait for SMTP')

        assert.deepEqual(await deliverDueMail(ctx().context), { sent: 0, retrying: 1, failed: 0 })
        const [row] = await outboxRows(ctx())
        assert.equal(row!.status, 'pending')
        assert.equal(row!.attempts, 1)
        assert.match(row!.last_error!, /ECONNREFUSED|ESOCKET|ECONNECTION/)
        assert.equal(row!.next_attempt_at, new Date(ctx().clock.now() + 30_000).toISOString())
        const warning = ctx().logs.lines.find((line) => line.msg === 'mail delivery failed; will retry')
        assert.ok(warning, 'the failure is logged')
        assert.equal(warning.mail_id, row!.id)
        assert.equal(warning.purpose, 'password_reset')
        assert.match(JSON.stringify(warning.failure), /ECONNREFUSED/)

        ctx().clock.advance(30)
        assert.deepEqual(await deliverDueMail(ctx().context), { sent: 0, retrying: 1, failed: 0 })
        const second = (await outboxRows(ctx()))[0]!
        assert.equal(second.attempts, 2)
        assert.equal(second.next_attempt_at, new Date(ctx().clock.now() + 60_000).toISOString())
      } finally {
        await plug.reopen()
      }
      assert.deepEqual(
        await deliverDueMail(ctx().context),
        { sent: 0, retrying: 0, failed: 0 },
        'not due yet',
      )
      ctx().clock.advance(60)
      assert.deepEqual(await deliverDueMail(ctx().context), { sent: 1, retrying: 0, failed: 0 })
      const mail = smtp.to(email).at(-1)!
      const token = tokenFromMail(mail, RESET_PATH)
      tokensSeen.push(token)
      assert.equal((await api.resetPassword(token, NEW_PASSWORD)).statusCode, 204)
      assert.equal((await api.login(email, NEW_PASSWORD)).statusCode, 200)
    })

    it('keeps a queued mail across a restart and delivers it from the new process', async () => {
      const { email } = await api.loggedInUser()
      await plug.close()
      try {
        assert.equal((await api.forgotPassword(email)).statusCode, 202)
        assert.equal((await deliverDueMail(ctx().context)).retrying, 1)
      } finally {
        await plug.reopen()
      }
      const database = { kind: ctx().kind, url: ctx().databaseUrl, drop: () => Promise.resolve() }
      const restarted = await startTestApp(database, { env: { SMTP_URL: throughPlug } })
      try {
        restarted.clock.advance((ctx().clock.now() - restarted.clock.now()) / 1000 + 30)
        assert.equal((await deliverDueMail(restarted.context)).sent, 1)
        const token = tokenFromMail(smtp.to(email).at(-1)!, RESET_PATH)
        tokensSeen.push(token)
        assert.equal((await clientFor(restarted).resetPassword(token, NEW_PASSWORD)).statusCode, 204)
      } finally {
        await stopTestApp(restarted)
      }
    })

    it('gives up a mail whose link expires before the server is back, and erases its body', async () => {
      const { email } = await api.loggedInUser()
      await plug.close()
      try {
        await api.forgotPassword(email)
        let failed = 0
        for (let minutes = 0; minutes <= 40 && failed === 0; minutes += 5) {
          failed = (await deliverDueMail(ctx().context)).failed
          ctx().clock.advance(300)
        }
        assert.equal(failed, 1)
      } finally {
        await plug.reopen()
      }
      const row = (await outboxRows(ctx())).at(-1)!
      assert.equal(row.status, 'failed')
      assert.equal(row.text_body, null)
      assert.equal(row.html_body, null)
      assert.ok(row.attempts >= 2 && row.attempts <= 7, `${row.attempts} attempts within 30 minutes`)
      ctx().clock.advance(3600)
      assert.equal((await deliverDueMail(ctx().context)).sent, 0)
      assert.equal(smtp.to(email).length, 0)
    })

    it('never writes a token or a body to the log, failures included', () => {
      assert.equal(tokensSeen.length, 2)
      assertNotLogged(ctx(), tokensSeen)
      assert.ok(ctx().logs.lines.some((line) => line.msg === 'mail delivery failed; will retry'))
    })
  },
  { env: { SMTP_URL: throughPlug } },
)

await describeOnDatabases(
  'Mail delivery: refusals, races and the worker',
  (ctx) => {
    const api = clientFor(ctx)
    it('gives up at once when the server refuses the recipient for good (5xx)', async () => {
      const { email } = await api.loggedInUser()
      await api.forgotPassword(email)
      smtp.rejectRecipientsWith = 'No such mailbox'
      try {
        assert.deepEqual(await deliver(ctx()), { sent: 0, retrying: 0, failed: 1 })
      } finally {
        smtp.rejectRecipientsWith = undefined
      }
      const row = (await outboxRows(ctx())).at(-1)!
      assert.equal(row.status, 'failed')
      assert.match(row.last_error!, /^EENVELOPE 550 .*<\[recipient\]>: No such mailbox$/)
      assert.equal(row.text_body, null)
      const warning = ctx().logs.lines.find((line) => line.msg === 'mail delivery failed; giving up')
      assert.ok(warning)
      assert.ok(!JSON.stringify(warning).includes(email), 'the log names no recipient')
      ctx().clock.advance(3600)
      assert.equal((await deliver(ctx())).sent, 0)
    })

    it('sends a mail once when two workers run at the same moment', async () => {
      const { email } = await api.loggedInUser()
      await api.forgotPassword(email)
      const reports = await Promise.all([deliver(ctx()), deliver(ctx()), deliver(ctx())])
      assert.equal(
        reports.reduce((sum, report) => sum + report.sent, 0),
        1,
      )
      assert.equal(smtp.to(email).length, 1)
    })

    it('retries a mail whose worker died mid-send once its claim has lapsed', async () => {
      const { email } = await api.loggedInUser()
      await api.forgotPassword(email)
      const { db, clock } = ctx().context
      // What a worker that claimed the mail and then crashed leaves behind.
      await db
        .updateTable('mail_outbox')
        .set({ next_attempt_at: new Date(clock.now() + CLAIM_LEASE_MS).toISOString(), attempts: 1 })
        .where('status', '=', 'pending')
        .execute()
      assert.equal((await deliver(ctx())).sent, 0)
      ctx().clock.advance(CLAIM_LEASE_MS / 1000)
      assert.equal((await deliver(ctx())).sent, 1)
      const [mail] = smtp.to(email)
      const row = (await outboxRows(ctx())).at(-1)!
      assert.equal(
        mail!.parsed.messageId,
        `<${row.id}@example.com>`,
        'a stable Message-ID lets receivers drop a repeat',
      )
    })

    it('delivers in the background as soon as a request queues a mail, with no poll needed', async () => {
      const { email, tokens } = await api.loggedInUser()
      const stop = startMailWorker(ctx().context, 3_600_000)
      try {
        await api.as(tokens.access_token).post('/auth/email/verify/request')
        const mail = await smtp.next((m) => m.envelopeTo.includes(email.toLowerCase()))
        assert.equal(mail.parsed.subject, 'Confirm your email address for Gatehouse')
      } finally {
        await stop()
      }
    })

    it('backs off exponentially: 30 s, 1 min, 2 min … at most an hour', () => {
      assert.deepEqual(
        [1, 2, 3, 4, 5, 6, 7, 8, 20].map((attempt) => retryDelayMs(attempt) / 1000),
        [30, 60, 120, 240, 480, 960, 1920, 3600, 3600],
      )
    })

    it('forgets sent and given-up mail after a week, and expired tokens (maintenance)', async () => {
      ctx().clock.advance(8 * 86400)
      const deleted = await runMaintenance(ctx().context)
      assert.ok(deleted.mails! >= 3)
      assert.ok(deleted.oneTimeTokens! >= 3)
      assert.deepEqual(await outboxRows(ctx()), [])
      assert.equal((await ctx().context.db.selectFrom('one_time_tokens').selectAll().execute()).length, 0)
    })
  },
  { env: { SMTP_URL: smtp.url(), MAIL_FROM: 'no-reply@example.com' } },
)

await describeOnDatabases(
  'Mail delivery over STARTTLS',
  (ctx) => {
    const api = clientFor(ctx)
    it('upgrades the connection when the server offers STARTTLS', async () => {
      const { email } = await api.loggedInUser()
      await api.forgotPassword(email)
      assert.equal((await deliver(ctx())).sent, 1)
      const mail = tlsSmtp.to(email)[0]!
      assert.equal(mail.secure, true)
      assert.equal(mail.user, 'gatehouse')
    })
  },
  // The test server's certificate is self-signed: the URL tells nodemailer to accept it.
  { env: { SMTP_URL: tlsSmtp.url('tls.rejectUnauthorized=false') } },
)

await describeOnDatabases(
  'Mail delivery with SMTP_URL=smtp://…?requireTLS=true',
  (ctx) => {
    const api = clientFor(ctx)
    it('sends nothing to a server that offers no STARTTLS (a stripped offer), and retries later', async () => {
      const { email } = await api.loggedInUser()
      await api.forgotPassword(email)
      assert.deepEqual(await deliver(ctx()), { sent: 0, retrying: 1, failed: 0 })
      assert.equal(smtp.to(email).length, 0, 'not in the clear')
      assert.ok(!ctx().logs.text().includes('smtp-secret-4b1d'), 'nor is the password logged')
    })
  },
  { env: { SMTP_URL: smtp.url('requireTLS=true') } },
)

await describeOnDatabases(
  'Mail delivery with SMTP_URL=smtp://…?requireTLS=true to a server that offers STARTTLS',
  (ctx) => {
    const api = clientFor(ctx)
    it('upgrades and sends', async () => {
      const { email } = await api.loggedInUser()
      await api.forgotPassword(email)
      assert.equal((await deliver(ctx())).sent, 1)
      assert.equal(tlsSmtp.to(email)[0]!.secure, true)
    })
  },
  { env: { SMTP_URL: tlsSmtp.url('requireTLS=true&tls.rejectUnauthorized=false') } },
)

await plug.close()
await smtp.close()
await tlsSmtp.close()
