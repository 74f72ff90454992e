import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { it } from 'node:test'
import { identityKey } from '../../../src/identity/users/login-names.ts'
import { STRONG_PASSWORD, describeOnDatabases, uniqueEmail, type TestApp } from '../../support/harness.ts'
import { clientFor } from '../../support/client.ts'
import { TestSmtpServer, tokenFromMail } from '../../support/smtp.ts'
import {
  NEW_PASSWORD,
  RESET_PATH,
  VERIFY_PATH,
  assertInvalidFields,
  assertNotLogged,
  auditTypes,
  deliver,
  deliverAndReadToken,
} from '../../support/mail.ts'

// One server for the file; it closes after the last suite.
const smtp = await TestSmtpServer.start()

/** Delivers what is queued and returns the token of the newest mail to `email` with a link to `path`. */
const tokenMailedTo = (t: TestApp, email: string, path = VERIFY_PATH) =>
  deliverAndReadToken(t, smtp, email, path)

await describeOnDatabases(
  'POST /auth/email/verify/request and /auth/email/verify, through SMTP',
  (ctx) => {
    const api = clientFor(ctx)
    const tokensSeen: string[] = []

    it('mails a link to PUBLIC_URL/verify-email; the token from it marks the address verified', async () => {
      const { email, user, tokens } = await api.loggedInUser()
      assert.equal((await api.me(tokens.access_token)).json().email_verified, false)

      const response = await api.requestVerification(tokens.access_token)
      assert.equal(response.statusCode, 202)
      assert.equal(response.body, '')
      assert.equal(smtp.to(email).length, 0, 'nothing is sent inside the request')
      const token = await tokenMailedTo(ctx(), email)
      tokensSeen.push(token)
      const mail = smtp.to(email).at(-1)!
      assert.equal(mail.parsed.subject, 'Confirm your email address for Gatehouse')
      assert.ok(mail.parsed.text?.includes(`https://accounts.example.com/verify-email?token=${token}`))
      assert.match(mail.parsed.text ?? '', /24 hours/)
      assert.equal(Buffer.from(token, 'base64url').length, 32)
      const stored = await ctx()
        .context.db.selectFrom('one_time_tokens')
        .select(['token_hash', 'purpose'])
        .where('user_id', '=', user.id)
        .executeTakeFirstOrThrow()
      assert.deepEqual(stored, {
        token_hash: createHash('sha256').update(token).digest('base64url'),
        purpose: 'email_verification',
      })

      const verified = await api.verifyEmail(token)
      assert.equal(verified.statusCode, 204)
      assert.equal(verified.body, '')
      assert.equal((await api.me(tokens.access_token)).json().email_verified, true)
      const types = await auditTypes(ctx(), user.id)
      assert.ok(types.includes('email_verification_requested'))
      assert.ok(types.includes('email_verified'))
    })

    it('sends no mail to an address that is already verified, and answers the same 202', async () => {
      const { email, tokens } = await api.loggedInUser()
      await api.requestVerification(tokens.access_token)
      const token = await tokenMailedTo(ctx(), email)
      tokensSeen.push(token)
      await api.verifyEmail(token)
      assert.equal((await api.requestVerification(tokens.access_token)).statusCode, 202)
      assert.equal((await deliver(ctx())).sent, 0)
      assert.equal(smtp.to(email).length, 1)
    })

    it('consumes a token once, refuses wrong ones, and voids older links once one is used', async () => {
      const { email, tokens } = await api.loggedInUser()
      await api.requestVerification(tokens.access_token)
      const first = await tokenMailedTo(ctx(), email)
      await api.requestVerification(tokens.access_token)
      const second = await tokenMailedTo(ctx(), email)
      tokensSeen.push(first, second)
      const responses = await Promise.all([
        api.verifyEmail(second),
        api.verifyEmail(second),
        api.verifyEmail(second),
      ])
      assert.deepEqual(responses.map((r) => r.statusCode).sort(), [204, 422, 422])
      assertInvalidFields(await api.verifyEmail(second), ['token'])
      assertInvalidFields(await api.verifyEmail(first), ['token'])
      for (const wrong of [randomBytes(32).toString('base64url'), 'nonsense']) {
        assertInvalidFields(await api.verifyEmail(wrong), ['token'])
      }
      assertInvalidFields(
        await ctx().app.inject({ method: 'POST', url: '/auth/email/verify', payload: {} }),
        ['token'],
      )
    })

    it('refuses a token after 24 hours (the clock moved), and accepts it just before', async () => {
      const late = await api.loggedInUser()
      await api.requestVerification(late.tokens.access_token)
      const lateToken = await tokenMailedTo(ctx(), late.email)
      const onTime = await api.loggedInUser()
      await api.requestVerification(onTime.tokens.access_token)
      const onTimeToken = await tokenMailedTo(ctx(), onTime.email)
      tokensSeen.push(lateToken, onTimeToken)
      ctx().clock.advance(24 * 3600 - 1)
      assert.equal((await api.verifyEmail(onTimeToken)).statusCode, 204)
      ctx().clock.advance(1)
      assertInvalidFields(await api.verifyEmail(lateToken), ['token'])
      const { access_token: fresh } = (await api.login(late.email, STRONG_PASSWORD)).json()
      assert.equal((await api.me(fresh)).json().email_verified, false)
    })

    it('refuses a link mailed to an address the account no longer has', async () => {
      const { email, user, tokens } = await api.loggedInUser()
      await api.requestVerification(tokens.access_token)
      const token = await tokenMailedTo(ctx(), email)
      tokensSeen.push(token)
      const changed = uniqueEmail('changed')
      await ctx()
        .context.db.updateTable('users')
        .set({ email: changed, email_key: identityKey(changed) })
        .where('id', '=', user.id)
        .execute()
      assertInvalidFields(await api.verifyEmail(token), ['token'])
      assert.equal((await api.me(tokens.access_token)).json().email_verified, false)
    })

    it('does not take a password-reset token for a verification', async () => {
      const { email } = await api.loggedInUser()
      await api.forgotPassword(email)
      const token = await tokenMailedTo(ctx(), email, RESET_PATH)
      tokensSeen.push(token)
      assertInvalidFields(await api.verifyEmail(token), ['token'])
    })

    it('needs a bearer token to ask for a link', async () => {
      const response = await ctx().app.inject({ method: 'POST', url: '/auth/email/verify/request' })
      assert.equal(response.statusCode, 401)
      assert.equal(response.json().error.code, 'AUTH_REQUIRED')
    })

    it('lets an unverified account log in while REQUIRE_VERIFIED_EMAIL is off', async () => {
      const { email } = await api.loggedInUser()
      assert.equal((await api.login(email, STRONG_PASSWORD)).statusCode, 200)
    })

    it('mails one account at most 3 links an hour and 10 a day, answering 202 each time: an address signed up by someone else cannot be bombed', async () => {
      const { email, user } = await api.loggedInUser()
      const mailed = () => smtp.to(email).length
      const ask = async (times: number) => {
        // The clock moves by hours: a fresh access token for each round.
        const accessToken = (await api.login(email, STRONG_PASSWORD)).json().access_token
        for (let i = 0; i < times; i++) {
          const response = await api.requestVerification(accessToken)
          assert.equal(response.statusCode, 202)
          assert.equal(response.body, '')
        }
        await deliver(ctx())
      }
      await ask(6)
      assert.equal(mailed(), 3, 'a burst of 6 requests mails 3 links')
      const spent = await ctx()
        .context.db.selectFrom('audit_events')
        .select('data')
        .where('user_id', '=', user.id)
        .where('type', '=', 'email_verification_requested')
        .orderBy('at')
        .execute()
      assert.deepEqual(
        spent.map((row) => JSON.parse(row.data).mailed),
        [undefined, undefined, undefined, false, false, false],
        'the audit log shows the requests that mailed nothing',
      )
      ctx().clock.advance(3600)
      await ask(4)
      assert.equal(mailed(), 6)
      ctx().clock.advance(3600)
      await ask(3)
      ctx().clock.advance(3600)
      await ask(3)
      assert.equal(mailed(), 10, 'and at most 10 in a day')
      const last = tokenFromMail(smtp.to(email).at(-1)!, VERIFY_PATH)
      tokensSeen.push(last)
      ctx().clock.advance(21 * 3600)
      await ask(1)
      assert.equal(mailed(), 11, 'a day after the first, a link can be mailed again')
      const newest = tokenFromMail(smtp.to(email).at(-1)!, VERIFY_PATH)
      tokensSeen.push(newest)
      assert.equal((await api.verifyEmail(last)).statusCode, 204, 'the links mailed within the budget work')
    })

    it('keeps the budgets of verification and reset mails apart', async () => {
      const { email, tokens } = await api.loggedInUser()
      for (let i = 0; i < 3; i++) await api.requestVerification(tokens.access_token)
      assert.equal((await api.forgotPassword(email)).statusCode, 202)
      await deliver(ctx())
      const subjects = smtp
        .to(email)
        .map((mail) => mail.parsed.subject)
        .sort()
      assert.deepEqual(subjects, [
        'Confirm your email address for Gatehouse',
        'Confirm your email address for Gatehouse',
        'Confirm your email address for Gatehouse',
        'Reset your Gatehouse password',
      ])
      const resetMail = smtp
        .to(email)
        .find((mail) => mail.parsed.subject === 'Reset your Gatehouse password')!
      tokensSeen.push(tokenFromMail(resetMail, RESET_PATH))
    })

    it('never writes a token to the log', () => {
      assert.ok(tokensSeen.length >= 8)
      assertNotLogged(ctx(), tokensSeen)
      assert.ok(!ctx().logs.text().includes('verify-email?'))
    })
  },
  { env: { SMTP_URL: smtp.url(), PUBLIC_URL: 'https://accounts.example.com' } },
)

await describeOnDatabases(
  'REQUIRE_VERIFIED_EMAIL=true',
  (ctx) => {
    const api = clientFor(ctx)
    const tokensSeen: string[] = []
    const signup = async (email: string) => {
      const response = await ctx().app.inject({
        method: 'POST',
        url: '/auth/signup',
        payload: { email, password: STRONG_PASSWORD },
      })
      assert.equal(response.statusCode, 201)
      return response.json<{ id: string }>()
    }

    it('refuses the login of an unverified account with 403 EMAIL_NOT_VERIFIED, mailing it a link', async () => {
      const email = uniqueEmail()
      const user = await signup(email)
      const refused = await api.login(email, STRONG_PASSWORD)
      assert.equal(refused.statusCode, 403)
      assert.equal(refused.json().error.code, 'EMAIL_NOT_VERIFIED')
      assert.equal(refused.headers['set-cookie'], undefined)
      const token = await tokenMailedTo(ctx(), email)
      tokensSeen.push(token)

      // Another attempt soon after mails nothing more; five minutes later it mails again.
      assert.equal((await api.login(email, STRONG_PASSWORD)).statusCode, 403)
      assert.equal((await deliver(ctx())).sent, 0)
      ctx().clock.advance(5 * 60)
      assert.equal((await api.login(email, STRONG_PASSWORD)).statusCode, 403)
      const newer = await tokenMailedTo(ctx(), email)
      tokensSeen.push(newer)

      assert.equal((await api.verifyEmail(token)).statusCode, 204)
      assert.equal((await api.login(email, STRONG_PASSWORD)).statusCode, 200)
      const failed = await ctx()
        .context.db.selectFrom('audit_events')
        .select('data')
        .where('user_id', '=', user.id)
        .where('type', '=', 'login_failed')
        .execute()
      assert.equal(failed.length, 3)
      assert.equal(JSON.parse(failed[0]!.data).reason, 'email_not_verified')
    })

    it("counts the links mailed on refused logins against the account's budget of 3 an hour", async () => {
      const email = uniqueEmail()
      await signup(email)
      for (let i = 0; i < 4; i++) {
        assert.equal((await api.login(email, STRONG_PASSWORD)).statusCode, 403)
        ctx().clock.advance(5 * 60)
      }
      await deliver(ctx())
      assert.equal(smtp.to(email).length, 3, 'the fourth refusal within the hour mails nothing')
      tokensSeen.push(...smtp.to(email).map((mail) => tokenFromMail(mail, VERIFY_PATH)))
      ctx().clock.advance(40 * 60)
      assert.equal((await api.login(email, STRONG_PASSWORD)).statusCode, 403)
      await deliver(ctx())
      assert.equal(smtp.to(email).length, 4, 'an hour after the first, a refusal mails again')
    })

    it('answers a wrong password with the usual 401, mailing nothing', async () => {
      const email = uniqueEmail()
      await signup(email)
      const response = await api.login(email, 'a wrong password here')
      assert.equal(response.statusCode, 401)
      assert.equal(response.json().error.code, 'INVALID_CREDENTIALS')
      assert.equal((await deliver(ctx())).sent, 0)
    })

    it('refuses the password grant of /auth/token with invalid_grant', async () => {
      const email = uniqueEmail()
      await signup(email)
      const response = await ctx().app.inject({
        method: 'POST',
        url: '/auth/token',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({
          grant_type: 'password',
          username: email,
          password: STRONG_PASSWORD,
        }).toString(),
      })
      assert.equal(response.statusCode, 400)
      assert.equal(response.json().error, 'invalid_grant')
      tokensSeen.push(await tokenMailedTo(ctx(), email))
    })

    it('counts a completed password reset as a verified address', async () => {
      const email = uniqueEmail()
      await signup(email)
      await api.forgotPassword(email)
      const token = await tokenMailedTo(ctx(), email, RESET_PATH)
      tokensSeen.push(token)
      assert.equal((await api.resetPassword(token, NEW_PASSWORD)).statusCode, 204)
      assert.equal((await api.login(email, NEW_PASSWORD)).statusCode, 200)
    })

    it('never writes a token to the log', () => {
      assert.equal(tokensSeen.length, 7)
      assertNotLogged(ctx(), tokensSeen)
    })
  },
  { env: { SMTP_URL: smtp.url(), REQUIRE_VERIFIED_EMAIL: 'true' } },
)

await smtp.close()
