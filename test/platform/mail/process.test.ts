import assert from 'node:assert/strict'
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { simpleParser } from 'mailparser'
import { STRONG_PASSWORD, uniqueEmail } from '../../support/harness.ts'
import { cleanupProcesses, request, startGatehouse } from '../../support/process.ts'
import { TestSmtpServer, tokenFromMail } from '../../support/smtp.ts'
import { NEW_PASSWORD, RESET_PATH, VERIFY_PATH } from '../../support/mail.ts'

async function signupAndAskForReset(url: string, email: string): Promise<void> {
  const signup = await request(url, 'POST', '/auth/signup', { body: { email, password: STRONG_PASSWORD } })
  assert.equal(signup.status, 201, signup.body)
  const forgot = await request(url, 'POST', '/auth/password/forgot', { body: { email } })
  assert.equal(forgot.status, 202)
}

describe('npm start: the mail worker', () => {
  after(cleanupProcesses)

  it('writes mail to ./data/outbox/ without SMTP_URL, in the background, and logs no token', async () => {
    const server = await startGatehouse()
    const email = uniqueEmail('process')
    await signupAndAskForReset(server.url, email)
    await server.waitForLog('mail sent')

    const dir = join(server.cwd, 'data', 'outbox')
    const [name] = readdirSync(dir)
    const mail = await simpleParser(readFileSync(join(dir, name!)))
    const token = tokenFromMail(mail, RESET_PATH)
    assert.ok(mail.text?.includes(`${server.url}${RESET_PATH}?token=`), 'links default to http://HOST:PORT')
    const reset = await request(server.url, 'POST', '/auth/password/reset', {
      body: { token, new_password: NEW_PASSWORD },
    })
    assert.equal(reset.status, 204)

    assert.deepEqual(await server.stop('SIGTERM'), { code: 0, signal: null })
    assert.ok(!server.stdout.includes(token) && !server.stderr.includes(token), 'no token in the output')
  })

  it('delivers through SMTP_URL as soon as a request queues a mail', async () => {
    const smtp = await TestSmtpServer.start()
    try {
      const server = await startGatehouse({
        env: { SMTP_URL: smtp.url(), PUBLIC_URL: 'https://app.example.com' },
      })
      const email = uniqueEmail('process')
      const signup = await request(server.url, 'POST', '/auth/signup', {
        body: { email, password: STRONG_PASSWORD },
      })
      assert.equal(signup.status, 201)
      const login = await request(server.url, 'POST', '/auth/login', {
        body: { username: email, password: STRONG_PASSWORD },
      })
      const { access_token: accessToken } = login.json() as { access_token: string }
      const asked = await request(server.url, 'POST', '/auth/email/verify/request', {
        headers: { authorization: `Bearer ${accessToken}` },
      })
      assert.equal(asked.status, 202)
      const mail = await smtp.next((m) => m.envelopeTo.includes(email.toLowerCase()))
      const token = tokenFromMail(mail, VERIFY_PATH)
      assert.equal((await request(server.url, 'POST', '/auth/email/verify', { body: { token } })).status, 204)
      assert.deepEqual(await server.stop('SIGTERM'), { code: 0, signal: null })
      assert.ok(!server.stdout.includes(token), 'no token in the log')
    } finally {
      await smtp.close()
    }
  })
})
