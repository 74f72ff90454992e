import { randomUUID } from 'node:crypto'
import { mkdir, rename, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import type NodemailerModule from 'nodemailer'

/** One mail, ready to hand to a transport. */
export interface MailMessage {
  /** Stable across retries, so a receiver can drop a duplicate of an at-least-once delivery. */
  messageId: string
  from: string
  to: string
  subject: string
  text: string
  html: string
  date: Date
}

/** Where mail goes: an SMTP server, or `.eml` files a developer opens. */
export interface MailTransport {
  readonly kind: 'smtp' | 'outbox-directory'
  /** Resolves once the mail is accepted; rejects with the transport's error otherwise. */
  send(message: MailMessage): Promise<void>
  close(): void
}

/** nodemailer is loaded at the first mail, not at start-up, which it would slow down for every process. */
const nodemailer = (): typeof NodemailerModule =>
  createRequire(import.meta.url)('nodemailer') as typeof NodemailerModule

/** RFC 3834 §5: no vacation or out-of-office replies to our mails. */
const HEADERS = { 'Auto-Submitted': 'auto-generated' }

/**
 * SMTP through nodemailer. `smtp://user:pass@host:587` upgrades with STARTTLS whenever the server
 * offers it, and `?requireTLS=true` refuses to go on without it (production requires one or the
 * other for a host beyond loopback, see config.ts); `smtps://…:465` is TLS from the first byte.
 * The URL's query becomes nodemailer options. Timeouts are short so that a dead server
 * fails one attempt quickly and the queue retries later, instead of holding the worker.
 */
export function smtpTransport(url: string): MailTransport {
  const transporter = nodemailer().createTransport({
    url,
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 30_000,
    dnsTimeout: 10_000,
    // nodemailer's own logging could print the message data; ours logs failures without it.
    logger: false,
    debug: false,
  })
  return {
    kind: 'smtp',
    async send(message) {
      await transporter.sendMail({ ...message, headers: HEADERS })
    },
    close: () => transporter.close(),
  }
}

/**
 * Without `SMTP_URL`: each mail becomes an RFC 5322 `.eml` file in `dir` (created when the first
 * mail is written), named by time so that `ls` lists them in order. Files are readable by the
 * service's user only, since a link in them is as good as a password until it is used.
 */
export function outboxDirectoryTransport(dir: string): MailTransport {
  let composer: ReturnType<typeof createComposer> | undefined
  const createComposer = () =>
    nodemailer().createTransport({ streamTransport: true, buffer: true, newline: 'windows' })
  return {
    kind: 'outbox-directory',
    async send(message) {
      composer ??= createComposer()
      const info = await composer.sendMail({ ...message, headers: HEADERS })
      await mkdir(dir, { recursive: true, mode: 0o700 })
      const stamp = message.date
        .toISOString()
        .replace(/[-:]/g, '')
        .replace(/\.\d+Z$/, 'Z')
      const name = `${stamp}-${message.messageId.replace(/^<|@.*$/g, '')}.eml`
      // Written under a temporary name, then renamed: a reader never sees half a mail.
      const partial = join(dir, `.${randomUUID()}.tmp`)
      await writeFile(partial, info.message, { mode: 0o600 })
      await rename(partial, join(dir, name))
    },
    close: () => composer?.close(),
  }
}
