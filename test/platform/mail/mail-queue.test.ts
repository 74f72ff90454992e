import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { describeDuration } from '../../../src/platform/mail/templates.ts'
import { loadConfig } from '../../../src/platform/config/config.ts'
import { MailQueue, defaultOutboxDir, defaultPublicUrl } from '../../../src/platform/mail/mail-queue.ts'
import { escapeHtml, renderMail } from '../../../src/platform/mail/templates.ts'
import { problemsOf } from '../../support/config.ts'

describe('Mail configuration', () => {
  it('has defaults: 30 minutes for reset links, 24 hours for verification links, login without verification', () => {
    const config = loadConfig({})
    assert.equal(config.passwordResetTtlSeconds, 30 * 60)
    assert.equal(config.emailVerificationTtlSeconds, 24 * 3600)
    assert.equal(config.requireVerifiedEmail, false)
    assert.deepEqual(config.mail, { smtpUrl: undefined, from: undefined, publicUrl: undefined })
  })

  it('reads PASSWORD_RESET_TTL, EMAIL_VERIFICATION_TTL, REQUIRE_VERIFIED_EMAIL and MAIL_FROM', () => {
    const config = loadConfig({
      PASSWORD_RESET_TTL: '15m',
      EMAIL_VERIFICATION_TTL: '3d',
      REQUIRE_VERIFIED_EMAIL: 'true',
      MAIL_FROM: '"Acme, Inc." <accounts@acme.example>',
      SMTP_URL: 'smtps://user:pass@mail.example.com:465',
    })
    assert.equal(config.passwordResetTtlSeconds, 900)
    assert.equal(config.emailVerificationTtlSeconds, 3 * 86400)
    assert.equal(config.requireVerifiedEmail, true)
    assert.equal(config.mail.from, '"Acme, Inc." <accounts@acme.example>')
    assert.equal(loadConfig({ MAIL_FROM: 'bare@example.com' }).mail.from, 'bare@example.com')
    assert.equal(loadConfig({ REQUIRE_VERIFIED_EMAIL: 'false' }).requireVerifiedEmail, false)
  })

  it('names each wrong mail setting, all at once', () => {
    const problems = problemsOf({
      PASSWORD_RESET_TTL: '0',
      EMAIL_VERIFICATION_TTL: 'a day',
      REQUIRE_VERIFIED_EMAIL: 'yes',
      MAIL_FROM: 'Gatehouse',
      SMTP_URL: 'http://mail.example.com',
    })
    for (const name of [
      'PASSWORD_RESET_TTL',
      'EMAIL_VERIFICATION_TTL',
      'REQUIRE_VERIFIED_EMAIL',
      'MAIL_FROM',
      'SMTP_URL',
    ]) {
      assert.ok(
        problems.some((problem) => problem.startsWith(`${name}:`)),
        `${name} in ${problems.join(' | ')}`,
      )
    }
    assert.ok(!problems.join(' ').includes('user:pass'))
  })

  it('refuses a MAIL_FROM that would inject a header or is no address', () => {
    for (const from of [
      'a@b.c\r\nBcc: victim@example.com',
      'Name <not an address>',
      'two@a.b, three@c.d',
      '<>',
    ]) {
      assert.match(problemsOf({ MAIL_FROM: from })[0]!, /^MAIL_FROM: expected an address/, from)
    }
  })
})

describe('MailQueue', () => {
  it('links to http://HOST:PORT and sends from no-reply@HOST when PUBLIC_URL and MAIL_FROM are unset', () => {
    const mailer = MailQueue.fromConfig(loadConfig({ PORT: '9000', HOST: '127.0.0.1' }))
    assert.equal(mailer.publicUrl, 'http://127.0.0.1:9000')
    assert.equal(mailer.from, 'Gatehouse <no-reply@127.0.0.1>')
    assert.equal(mailer.fromDomain, '127.0.0.1')
    assert.equal(mailer.transport.kind, 'outbox-directory')
    assert.equal(defaultPublicUrl('0.0.0.0', 8000), 'http://localhost:8000')
    assert.equal(defaultPublicUrl('::1', 8000), 'http://[::1]:8000')
  })

  it('points default links at the address the server listens on (PORT=0), never over PUBLIC_URL', () => {
    const fallback = MailQueue.fromConfig(loadConfig({ PORT: '0' }))
    fallback.listeningOn('http://127.0.0.1:41234')
    assert.equal(
      fallback.link('/verify-email', { token: 't' }),
      'http://127.0.0.1:41234/verify-email?token=t',
    )
    const configured = MailQueue.fromConfig(loadConfig({ PORT: '0', PUBLIC_URL: 'https://auth.example.com' }))
    configured.listeningOn('http://127.0.0.1:41234')
    assert.equal(configured.publicUrl, 'https://auth.example.com')
  })

  it('uses SMTP when SMTP_URL is set, without connecting at start', () => {
    const mailer = MailQueue.fromConfig(
      loadConfig({ SMTP_URL: 'smtp://user:pass@192.0.2.1:587', MAIL_FROM: 'Acme <hello@acme.example>' }),
    )
    assert.equal(mailer.transport.kind, 'smtp')
    assert.equal(mailer.fromDomain, 'acme.example')
    mailer.close()
  })

  it('builds links under PUBLIC_URL, keeping its path, with the query encoded', () => {
    const mailer = MailQueue.fromConfig(loadConfig({ PUBLIC_URL: 'https://example.com/app' }))
    assert.equal(
      mailer.link('/reset-password', { token: 'a+b/c' }),
      'https://example.com/app/reset-password?token=a%2Bb%2Fc',
    )
    const root = MailQueue.fromConfig(loadConfig({ PUBLIC_URL: 'https://example.com/' }))
    assert.equal(root.link('/verify-email', { token: 'x' }), 'https://example.com/verify-email?token=x')
  })

  it('writes .eml files beside the SQLite database, or under ./data/outbox', () => {
    assert.equal(defaultOutboxDir(loadConfig({})), 'data/outbox')
    assert.equal(
      defaultOutboxDir(loadConfig({ DATABASE_URL: 'sqlite:/var/lib/gatehouse/db.sqlite' })),
      '/var/lib/gatehouse/outbox',
    )
    assert.equal(defaultOutboxDir(loadConfig({ DATABASE_URL: 'postgres://u@db:5432/g' })), 'data/outbox')
    assert.equal(defaultOutboxDir(loadConfig({ DATABASE_URL: 'sqlite::memory:' })), 'data/outbox')
  })
})

describe('Mail templates', () => {
  const content = {
    productName: 'Gatehouse',
    heading: 'Reset <your> password',
    intro: ['Hello "you" & welcome'],
    action: { label: 'Go', url: 'https://example.com/reset?token=a&b="c"' },
    outro: ['Bye'],
  }

  it('renders plain text with the link alone on its line', () => {
    const { text } = renderMail(content)
    assert.ok(text.startsWith('Reset <your> password\n'))
    assert.ok(text.split('\n').includes('https://example.com/reset?token=a&b="c"'))
    assert.ok(text.includes('— Gatehouse'))
  })

  it('escapes every value in the HTML body', () => {
    const { html } = renderMail(content)
    assert.ok(html.includes('Reset &lt;your&gt; password'))
    assert.ok(html.includes('Hello &quot;you&quot; &amp; welcome'))
    assert.ok(html.includes('href="https://example.com/reset?token=a&amp;b=&quot;c&quot;"'))
    assert.ok(!html.includes('<your>'))
    assert.equal(escapeHtml(`<a href='x'>`), '&lt;a href=&#39;x&#39;&gt;')
  })

  it('says how long a link works in words', () => {
    assert.equal(describeDuration(1800), '30 minutes')
    assert.equal(describeDuration(60), '1 minute')
    assert.equal(describeDuration(3600), '1 hour')
    assert.equal(describeDuration(86400), '24 hours')
    assert.equal(describeDuration(3 * 86400), '3 days')
    assert.equal(describeDuration(90), '90 seconds')
  })
})
