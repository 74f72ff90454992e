import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { it } from 'node:test'
import { STRONG_PASSWORD, describeOnDatabases, uniqueEmail } from '../../support/harness.ts'
import { clientFor, type Response } from '../../support/client.ts'
import { TestSmtpServer, tokenFromMail } from '../../support/smtp.ts'
import {
  NEW_PASSWORD,
  RESET_PATH,
  assertInvalidFields,
  assertNotLogged,
  auditTypes,
  deliver,
  deliverAndReadToken,
  statementsOf,
} from '../../support/mail.ts'
import type { TestApp } from '../../support/harness.ts'

// One server for the file; it closes after the last suite (a top-level `after` would run between them).
const smtp = await TestSmtpServer.start()

/** Asks for a reset of `email`'s password, delivers the mail over SMTP and returns its token. */
async function resetTokenFor(t: TestApp, email: string): Promise<string> {
  assert.equal((await clientFor(t).forgotPassword(email)).statusCode, 202)
  return deliverAndReadToken(t, smtp, email, RESET_PATH)
}

await describeOnDatabases(
  'POST /auth/password/forgot and /auth/password/reset, through SMTP',
  (ctx) => {
    const api = clientFor(ctx)
    const tokensSeen: string[] = []

    it('mails a single-use link to PUBLIC_URL; resetting sets the password and ends every session', async () => {
      const { email, user, tokens } = await api.loggedInUser()
      const other = (await api.login(email, STRONG_PASSWORD)).json()

      const response = await api.forgotPassword(`  ${email.toUpperCase()} `)
      assert.equal(response.statusCode, 202)
      assert.equal(response.body, '')
      assert.equal(smtp.to(email).length, 0, 'nothing is sent inside the request')
      assert.deepEqual(await deliver(ctx()), { sent: 1, retrying: 0, failed: 0 })

      const mail = await smtp.next((m) => m.envelopeTo.includes(email.toLowerCase()))
      assert.equal(mail.user, 'gatehouse', 'the client authenticated with the SMTP_URL credentials')
      assert.equal(mail.parsed.subject, 'Reset your Gatehouse password')
      assert.deepEqual(mail.parsed.from?.value, [
        { name: 'Gatehouse Accounts', address: 'accounts@example.com' },
      ])
      assert.equal(mail.parsed.headers.get('auto-submitted'), 'auto-generated')
      const token = tokenFromMail(mail, RESET_PATH)
      tokensSeen.push(token)
      assert.equal(Buffer.from(token, 'base64url').length, 32, '256 bits')
      const link = `https://app.example.com/base/reset-password?token=${token}`
      assert.ok(mail.parsed.text?.includes(link), 'the text body links to PUBLIC_URL, keeping its path')
      assert.ok(String(mail.parsed.html).includes(`href="${link}"`), 'the HTML body has the same link')
      assert.match(mail.parsed.text ?? '', /30 minutes/)

      const stored = await ctx()
        .context.db.selectFrom('one_time_tokens')
        .selectAll()
        .where('user_id', '=', user.id)
        .executeTakeFirstOrThrow()
      assert.equal(stored.token_hash, createHash('sha256').update(token).digest('base64url'))
      assert.ok(!JSON.stringify(stored).includes(token), 'only the hash is stored')
      assert.equal(stored.expires_at, new Date(ctx().clock.now() + 30 * 60_000).toISOString())

      assert.equal((await api.resetPassword(token, NEW_PASSWORD)).statusCode, 204)
      for (const session of [tokens, other]) {
        assert.equal((await api.me(session.access_token)).statusCode, 401)
        assert.equal((await api.refresh(session.refresh_token)).statusCode, 401)
      }
      assert.equal((await api.login(email, STRONG_PASSWORD)).statusCode, 401)
      const fresh = await api.login(email, NEW_PASSWORD)
      assert.equal(fresh.statusCode, 200)
      assert.equal((await api.me(fresh.json().access_token)).json().email_verified, true)

      const types = await auditTypes(ctx(), user.id)
      for (const type of ['password_reset_requested', 'sessions_ended', 'password_reset']) {
        assert.ok(types.includes(type), `${type} in ${types.join(', ')}`)
      }
      const ended = await ctx()
        .context.db.selectFrom('sessions')
        .select('revoked_reason')
        .where('user_id', '=', user.id)
        .where('revoked_at', 'is not', null)
        .execute()
      assert.deepEqual(
        ended.map((row) => row.revoked_reason),
        ['password_reset', 'password_reset'],
      )
      const outbox = await ctx().context.db.selectFrom('mail_outbox').selectAll().execute()
      assert.ok(
        outbox.every((row) => row.status === 'sent' && row.text_body === null && row.html_body === null),
        'a sent mail keeps no body (it carried the token)',
      )
    })

    it('answers an unknown address exactly like a known one, doing the same database work, and mails nothing', async () => {
      const { email } = await api.loggedInUser()
      const unknown = uniqueEmail('nobody')
      const answers = []
      const statements = []
      for (const address of [email, unknown]) {
        let response: Response | undefined
        statements.push(
          await statementsOf(ctx(), async () => {
            response = await api.forgotPassword(address)
          }),
        )
        const { statusCode, body, headers } = response!
        const comparable = Object.entries(headers).filter(
          ([name]) => name !== 'x-request-id' && name !== 'date',
        )
        answers.push({ statusCode, body, headers: Object.fromEntries(comparable) })
      }
      assert.deepEqual(answers[0], answers[1])
      assert.equal(answers[0]!.statusCode, 202)
      assert.ok(statements[0]!.length >= 3)
      assert.deepEqual(statements[0], statements[1], 'the same statements run for both')

      assert.equal((await deliver(ctx())).sent, 1)
      await smtp.next((m) => m.envelopeTo.includes(email.toLowerCase()))
      assert.equal(smtp.to(unknown).length, 0)
      const row = await ctx()
        .context.db.selectFrom('audit_events')
        .select(['user_id', 'data'])
        .where('type', '=', 'password_reset_requested')
        .where('user_id', 'is', null)
        .orderBy('at', 'desc')
        .executeTakeFirstOrThrow()
      assert.deepEqual(JSON.parse(row.data), { email: unknown })
    })

    it('mails nothing for a disabled account, and answers the same', async () => {
      const { email, user } = await api.loggedInUser()
      await ctx().context.db.updateTable('users').set({ disabled: 1 }).where('id', '=', user.id).execute()
      assert.equal((await api.forgotPassword(email)).statusCode, 202)
      assert.equal((await deliver(ctx())).sent, 0)
      assert.equal(smtp.to(email).length, 0)
    })

    it('consumes a token once: of five parallel resets exactly one succeeds, and a later one fails', async () => {
      const { email } = await api.loggedInUser()
      const token = await resetTokenFor(ctx(), email)
      tokensSeen.push(token)
      const passwords = [1, 2, 3, 4, 5].map((n) => `parallel passphrase number ${n}`)
      const responses = await Promise.all(passwords.map((password) => api.resetPassword(token, password)))
      const winners = responses.flatMap((response, i) => (response.statusCode === 204 ? [passwords[i]!] : []))
      assert.equal(winners.length, 1, responses.map((r) => r.statusCode).join(','))
      for (const response of responses.filter((r) => r.statusCode !== 204))
        assertInvalidFields(response, ['token'])
      assert.equal((await api.login(email, winners[0]!)).statusCode, 200)
      assertInvalidFields(await api.resetPassword(token, 'yet another passphrase'), ['token'])
      assert.equal((await api.login(email, winners[0]!)).statusCode, 200)
    })

    it('refuses a token after 30 minutes (the clock moved), and accepts it just before', async () => {
      const late = await api.loggedInUser()
      const lateToken = await resetTokenFor(ctx(), late.email)
      const onTime = await api.loggedInUser()
      const onTimeToken = await resetTokenFor(ctx(), onTime.email)
      tokensSeen.push(lateToken, onTimeToken)
      ctx().clock.advance(30 * 60 - 1)
      assert.equal((await api.resetPassword(onTimeToken, NEW_PASSWORD)).statusCode, 204)
      ctx().clock.advance(1)
      assertInvalidFields(await api.resetPassword(lateToken, NEW_PASSWORD), ['token'])
      assert.equal((await api.login(late.email, STRONG_PASSWORD)).statusCode, 200)
    })

    it('refuses a wrong token with 422 naming token, and changes nothing', async () => {
      const { email } = await api.loggedInUser()
      await resetTokenFor(ctx(), email)
      for (const token of [randomBytes(32).toString('base64url'), 'x', 'a'.repeat(256)]) {
        assertInvalidFields(await api.resetPassword(token, NEW_PASSWORD), ['token'])
      }
      assertInvalidFields(await api.resetPassword('a'.repeat(257), NEW_PASSWORD), ['token'])
      assert.equal((await api.login(email, STRONG_PASSWORD)).statusCode, 200)
    })

    it('refuses a weak new password with 422 naming new_password, and the link still works after', async () => {
      const { email } = await api.loggedInUser()
      const token = await resetTokenFor(ctx(), email)
      tokensSeen.push(token)
      for (const weak of ['short', 'password123', email]) {
        assertInvalidFields(await api.resetPassword(token, weak), ['new_password'])
      }
      assert.equal((await api.resetPassword(token, NEW_PASSWORD)).statusCode, 204)
    })

    it('voids the older links of the account once one of them is used', async () => {
      const { email } = await api.loggedInUser()
      const first = await resetTokenFor(ctx(), email)
      const second = await resetTokenFor(ctx(), email)
      tokensSeen.push(first, second)
      assert.notEqual(first, second)
      assert.equal((await api.resetPassword(second, NEW_PASSWORD)).statusCode, 204)
      assertInvalidFields(await api.resetPassword(first, 'an attacker passphrase'), ['token'])
      assert.equal((await api.login(email, NEW_PASSWORD)).statusCode, 200)
    })

    it('does not take a verification token for a reset', async () => {
      const { email, tokens } = await api.loggedInUser()
      await api.as(tokens.access_token).post('/auth/email/verify/request')
      await deliver(ctx())
      const mail = await smtp.next((m) => m.envelopeTo.includes(email.toLowerCase()))
      const token = tokenFromMail(mail, '/verify-email')
      tokensSeen.push(token)
      assertInvalidFields(await api.resetPassword(token, NEW_PASSWORD), ['token'])
    })

    it('mails one account at most 3 links an hour and 10 a day, answering 202 each time; the links mailed still work', async () => {
      const { email } = await api.loggedInUser()
      const mailed = () => smtp.to(email).length
      const ask = async (times: number) => {
        for (let i = 0; i < times; i++) assert.equal((await api.forgotPassword(email)).statusCode, 202)
        await deliver(ctx())
      }
      await ask(6)
      assert.equal(mailed(), 3, 'a burst of 6 requests mails 3 links')
      ctx().clock.advance(3600)
      await ask(4)
      assert.equal(mailed(), 6)
      ctx().clock.advance(3600)
      await ask(3)
      ctx().clock.advance(3600)
      await ask(3)
      assert.equal(mailed(), 10, 'and at most 10 in a day')
      const last = tokenFromMail(smtp.to(email).at(-1)!, RESET_PATH)
      tokensSeen.push(last)
      ctx().clock.advance(21 * 3600)
      await ask(1)
      assert.equal(mailed(), 11, 'a day after the first, a link can be mailed again')
      const newest = tokenFromMail(smtp.to(email).at(-1)!, RESET_PATH)
      tokensSeen.push(newest)
      assert.equal((await api.resetPassword(newest, NEW_PASSWORD)).statusCode, 204)
    })

    it('answers a spent budget exactly like an unknown address, doing the same database work', async () => {
      const { email } = await api.loggedInUser()
      for (let i = 0; i < 3; i++) await api.forgotPassword(email)
      const spent = await statementsOf(ctx(), () => api.forgotPassword(email))
      const unknown = await statementsOf(ctx(), () => api.forgotPassword(uniqueEmail('nobody')))
      assert.deepEqual(spent, unknown)
      await deliver(ctx())
      assert.equal(smtp.to(email).length, 3)
    })

    it('validates the bodies', async () => {
      assertInvalidFields(await api.forgotPassword('not an email'), ['email'])
      const missing = await ctx().app.inject({ method: 'POST', url: '/auth/password/reset', payload: {} })
      assertInvalidFields(missing, ['token', 'new_password'])
    })

    it('never writes a token, a link or a mail body to the log', () => {
      assert.ok(tokensSeen.length >= 8)
      assertNotLogged(ctx(), tokensSeen)
      assert.ok(!ctx().logs.text().includes('reset-password?'))
      const sent = ctx().logs.lines.filter((line) => line.msg === 'mail sent')
      assert.ok(sent.length >= 8)
      for (const line of sent) {
        for (const key of ['to', 'recipient', 'subject', 'text', 'html', 'body'])
          assert.ok(!(key in line), key)
      }
    })
  },
  {
    env: {
      SMTP_URL: smtp.url(),
      MAIL_FROM: 'Gatehouse Accounts <accounts@example.com>',
      PUBLIC_URL: 'https://app.example.com/base',
    },
  },
)

await smtp.close()
