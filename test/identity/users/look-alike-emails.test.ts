import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { it } from 'node:test'
import { usersCreate, CommandError } from '../../../src/cli/commands.ts'
import { loadConfig } from '../../../src/platform/config/config.ts'
import { normalizedEmails } from '../../../src/platform/storage/migrations/0005_normalized_emails.ts'
import type { MailStatus } from '../../../src/platform/storage/schema.ts'
import { identityKey } from '../../../src/identity/users/login-names.ts'
import { TestSmtpServer } from '../../support/smtp.ts'
import { NEW_PASSWORD, RESET_PATH, assertInvalidFields, deliverAndReadToken } from '../../support/mail.ts'
import { clientFor } from '../../support/client.ts'
import {
  STRONG_PASSWORD,
  describeOnDatabases,
  startTestApp,
  stopTestApp,
  uniqueEmail,
  type TestApp,
} from '../../support/harness.ts'
import { createTestDatabase, databaseKinds } from '../../support/databases.ts'

const smtp = await TestSmtpServer.start()

/** `ops.…@example.com` and its squatter's spelling, the local part's letters in full width. */
function lookAlikePair(prefix = 'ops'): { real: string; wide: string } {
  const real = uniqueEmail(prefix)
  const [local = '', domain = ''] = real.split('@')
  const wide = local.replace(/[A-Za-z]/g, (letter) => String.fromCodePoint(letter.codePointAt(0)! + 0xfee0))
  assert.notEqual(wide, local)
  assert.equal(`${wide}@${domain}`.normalize('NFKC'), real)
  return { real, wide: `${wide}@${domain}` }
}

const storedEmail = async (t: TestApp, id: string) =>
  (await t.context.db.selectFrom('users').select('email').where('id', '=', id).executeTakeFirstOrThrow())
    .email

await describeOnDatabases(
  'POST /auth/signup with a look-alike address',
  (ctx) => {
    const api = clientFor(ctx)
    it('stores and returns a full-width address as the address it folds to under NFKC', async () => {
      const { real, wide } = lookAlikePair()
      const response = await api.signup({ email: `  ${wide} `, password: STRONG_PASSWORD })
      assert.equal(response.statusCode, 201, response.body)
      assert.equal(response.json().email, real)
      assert.equal(await storedEmail(ctx(), response.json().id), real)
      assert.equal(
        (await api.signup({ email: real, password: STRONG_PASSWORD })).statusCode,
        409,
        'one account, under one address',
      )
    })

    it('keeps the case the user typed', async () => {
      const { real, wide } = lookAlikePair('Ops')
      const response = await api.signup({ email: wide, password: STRONG_PASSWORD })
      assert.equal(response.json().email, real)
      assert.match(real, /^Ops\./)
    })

    it('refuses with 422 an address that NFKC turns into something else, naming the password too', async () => {
      const twoAts = `a\uFF20b@${uniqueEmail().split('@')[1]}`
      assertInvalidFields(await api.signup({ email: twoAts, password: STRONG_PASSWORD }), ['email'])
      assertInvalidFields(await api.signup({ email: twoAts, password: 'short' }), ['email', 'password'])
    })
  },
  {},
)

await describeOnDatabases(
  'POST /auth/password/forgot for a squatted look-alike address',
  (ctx) => {
    const api = clientFor(ctx)
    it('mails the address the account folds to, for either spelling, so its real owner can reset', async () => {
      const { real, wide } = lookAlikePair()
      assert.equal((await api.signup({ email: wide, password: STRONG_PASSWORD })).statusCode, 201)
      for (const spelling of [wide, real]) {
        assert.equal((await api.forgotPassword(spelling)).statusCode, 202)
        const token = await deliverAndReadToken(ctx(), smtp, real, RESET_PATH)
        assert.equal(smtp.to(wide).length, 0, 'nothing goes to the look-alike spelling')
        if (spelling === real) {
          assert.equal((await api.resetPassword(token, NEW_PASSWORD)).statusCode, 204)
          assert.equal((await api.login(real, NEW_PASSWORD)).statusCode, 200)
        }
      }
    })
  },
  { env: { SMTP_URL: smtp.url(), MAIL_FROM: 'accounts@example.com', PUBLIC_URL: 'https://app.example.com' } },
)

await describeOnDatabases('Migration 0005_normalized_emails', (ctx) => {
  it('rewrites a look-alike address stored raw, and the mail still waiting for it, to the NFKC form', async () => {
    const { db, clock } = ctx().context
    const { real, wide } = lookAlikePair('Ops')
    const cyrillic = uniqueEmail('\u0430dmin')
    const now = new Date(clock.now()).toISOString()
    const row = (email: string) => ({
      id: randomUUID(),
      email,
      email_key: identityKey(email),
      username: null,
      username_key: null,
      full_name: null,
      password_hash: 'x',
      roles: '["user"]',
      email_verified: 0,
      disabled: 0,
      created_at: now,
      updated_at: now,
    })
    const squatter = row(wide)
    const other = row(cyrillic)
    await db.insertInto('users').values([squatter, other]).execute()
    const mail = (recipient: string, status: MailStatus) => ({
      id: randomUUID(),
      purpose: 'password_reset',
      recipient,
      subject: 'Reset',
      text_body: 'link',
      html_body: 'link',
      status,
      created_at: now,
      expires_at: now,
      next_attempt_at: now,
      attempts: 0,
    })
    const pending = mail(wide, 'pending')
    const sent = mail(wide, 'sent')
    await db.insertInto('mail_outbox').values([pending, sent]).execute()

    await normalizedEmails.up(db)

    assert.equal(await storedEmail(ctx(), squatter.id), real, 'folded, the case kept')
    assert.equal(await storedEmail(ctx(), other.id), cyrillic, 'a Cyrillic а is no look-alike NFKC folds')
    const recipients = await db
      .selectFrom('mail_outbox')
      .select(['id', 'recipient'])
      .where('id', 'in', [pending.id, sent.id])
      .execute()
    assert.deepEqual(Object.fromEntries(recipients.map((r) => [r.id, r.recipient])), {
      [pending.id]: real,
      [sent.id]: wide,
    })
    const key = await db
      .selectFrom('users')
      .select('email_key')
      .where('id', '=', squatter.id)
      .executeTakeFirst()
    assert.equal(key?.email_key, real.toLowerCase(), 'the key it was found by is unchanged')
  })
})

for (const { kind, skip } of await databaseKinds()) {
  await it(
    `ADMIN_EMAIL and gatehouse users create store the folded address [${kind}]`,
    { skip },
    async () => {
      const database = await createTestDatabase(kind)
      const admin = lookAlikePair('root')
      const t = await startTestApp(database, {
        env: { ADMIN_EMAIL: admin.wide, ADMIN_PASSWORD: 'an admin passphrase 42' },
      })
      try {
        const row = await t.context.db
          .selectFrom('users')
          .select('email')
          .where('email_key', '=', identityKey(admin.real))
          .executeTakeFirstOrThrow()
        assert.equal(row.email, admin.real)

        const config = loadConfig({ DATABASE_URL: t.databaseUrl, LOG_LEVEL: 'silent' })
        const printed: string[] = []
        const output = { out: (text: string) => printed.push(text) }
        const { real, wide } = lookAlikePair('cli')
        await assert.rejects(
          usersCreate(config, output, { email: wide, password: STRONG_PASSWORD, role: ['constructor'] }),
          (error) => error instanceof CommandError && /unknown role constructor/.test(error.message),
        )
        await usersCreate(config, output, { email: wide, password: STRONG_PASSWORD })
        assert.match(printed.join(''), new RegExp(` ${real.replace(/\./g, '\\.')} \\(user\\)`))
      } finally {
        await stopTestApp(t)
        await database.drop()
      }
    },
  )
}

await smtp.close()
