import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { it } from 'node:test'
import { simpleParser, type ParsedMail } from 'mailparser'
import { describeOnDatabases } from '../../support/harness.ts'
import { clientFor } from '../../support/client.ts'
import { tokenFromMail } from '../../support/smtp.ts'
import { NEW_PASSWORD, RESET_PATH, VERIFY_PATH, assertNotLogged, deliver } from '../../support/mail.ts'

// The default directory is ./data/outbox of the working directory for PostgreSQL (beside the file
// for SQLite, see mailer.test.ts and process.test.ts): a test run writes to a temporary one.
const root = mkdtempSync(join(tmpdir(), 'gatehouse-outbox-'))
const dir = join(root, 'outbox')
/** Files already looked at, by this suite or the one on the other database. */
const seen = new Set<string>()

/** The .eml files written since the last call, parsed. */
async function newMails(): Promise<{ name: string; mode: number; parsed: ParsedMail; raw: string }[]> {
  const names = (existsSync(dir) ? readdirSync(dir) : []).filter((name) => !seen.has(name)).sort()
  return Promise.all(
    names.map(async (name) => {
      seen.add(name)
      const path = join(dir, name)
      const raw = readFileSync(path, 'utf8')
      return { name, mode: statSync(path).mode & 0o777, parsed: await simpleParser(raw), raw }
    }),
  )
}

await describeOnDatabases(
  'Mail without SMTP_URL: .eml files in the outbox directory',
  (ctx) => {
    const api = clientFor(ctx)
    const tokensSeen: string[] = []

    it('writes nothing until there is mail', async () => {
      assert.equal(ctx().context.mailQueue.transport.kind, 'outbox-directory')
      assert.deepEqual(await newMails(), [])
    })

    it('completes a password reset from the .eml file', async () => {
      const { email } = await api.loggedInUser()
      assert.equal((await api.forgotPassword(email)).statusCode, 202)
      assert.equal((await deliver(ctx())).sent, 1)
      const [mail, ...more] = await newMails()
      assert.equal(more.length, 0)
      assert.match(mail!.name, /^\d{8}T\d{6}Z-[0-9a-f-]{36}\.eml$/)
      assert.equal(mail!.mode, 0o600, 'readable by the service user only')
      assert.match(mail!.raw, /\r\n/, 'RFC 5322 line endings')
      const to = mail!.parsed.to
      assert.ok(to !== undefined && !Array.isArray(to))
      assert.equal(to.value[0]?.address, email)
      assert.equal(mail!.parsed.from?.value[0]?.address, 'no-reply@127.0.0.1')
      const token = tokenFromMail(mail!.parsed, RESET_PATH)
      tokensSeen.push(token)
      assert.ok(mail!.parsed.text?.includes(`http://127.0.0.1:8000/reset-password?token=${token}`))
      assert.equal((await api.resetPassword(token, NEW_PASSWORD)).statusCode, 204)
      assert.equal((await api.login(email, NEW_PASSWORD)).statusCode, 200)
    })

    it('completes an email verification from the .eml file', async () => {
      const { tokens } = await api.loggedInUser()
      assert.equal((await api.requestVerification(tokens.access_token)).statusCode, 202)
      assert.equal((await deliver(ctx())).sent, 1)
      const [mail] = await newMails()
      const token = tokenFromMail(mail!.parsed, VERIFY_PATH)
      tokensSeen.push(token)
      assert.match(String(mail!.parsed.html), /Confirm this address/)
      assert.equal((await api.verifyEmail(token)).statusCode, 204)
      assert.equal((await api.me(tokens.access_token)).json().email_verified, true)
    })

    it('leaves no partial files behind, and logs no token', () => {
      assert.deepEqual(
        readdirSync(dir).filter((name) => !name.endsWith('.eml')),
        [],
      )
      assertNotLogged(ctx(), tokensSeen)
    })
  },
  { mail: { outboxDir: dir } },
)

rmSync(root, { recursive: true, force: true })
