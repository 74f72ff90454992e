import { simpleParser, type ParsedMail } from 'mailparser'
import { SMTPServer, type SMTPServerOptions } from 'smtp-server'

/** A message the test SMTP server accepted, parsed, with what the client said around it. */
export interface ReceivedMail {
  parsed: ParsedMail
  raw: string
  envelopeTo: string[]
  /** Whether the connection was TLS (STARTTLS) when the message was sent. */
  secure: boolean
  /** The user the client authenticated as, if any. */
  user: string | undefined
}

export const SMTP_USER = 'gatehouse'
export const SMTP_PASSWORD = 'smtp-secret-4b1d'

/**
 * A real SMTP server (the `smtp-server` package) on 127.0.0.1, in the test's process. It requires
 * AUTH (plain text allowed, no TLS) unless `starttls` is set, in which case it offers STARTTLS
 * with its built-in self-signed certificate.
 *
 * ```ts
 * const smtp = await startSmtpServer()
 * // SMTP_URL: smtp.url
 * const mail = await smtp.next((m) => m.envelopeTo.includes(email))
 * ```
 */
export class TestSmtpServer {
  readonly received: ReceivedMail[] = []
  /** When set, RCPT TO is answered with a permanent failure (550) with this text. */
  rejectRecipientsWith: string | undefined
  private readonly waiters = new Set<() => void>()
  private server!: SMTPServer
  port = 0

  private constructor(private readonly starttls: boolean) {}

  static async start(options: { starttls?: boolean } = {}): Promise<TestSmtpServer> {
    const smtp = new TestSmtpServer(options.starttls ?? false)
    await smtp.listen(0)
    return smtp
  }

  /** `smtp://user:pass@127.0.0.1:port`, plus `query` (e.g. `tls.rejectUnauthorized=false`). */
  url(query = ''): string {
    return `smtp://${SMTP_USER}:${SMTP_PASSWORD}@127.0.0.1:${this.port}${query === '' ? '' : `?${query}`}`
  }

  /** Resolves with the first received mail (already here or still to come) that `match` accepts. */
  async next(match: (mail: ReceivedMail) => boolean = () => true, timeoutMs = 5000): Promise<ReceivedMail> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const found = this.received.find(match)
      if (found) return found
      const left = deadline - Date.now()
      if (left <= 0)
        throw new Error(`no matching mail within ${timeoutMs} ms (${this.received.length} received)`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, left)
        function done() {
          clearTimeout(timer)
          resolve()
        }
        this.waiters.add(done)
      })
    }
  }

  /** Mails received for `address`. */
  to(address: string): ReceivedMail[] {
    return this.received.filter((mail) => mail.envelopeTo.includes(address.toLowerCase()))
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }

  private async listen(port: number): Promise<void> {
    const options: SMTPServerOptions = {
      secure: false,
      ...(this.starttls ? {} : { disabledCommands: ['STARTTLS'] }),
      allowInsecureAuth: true,
      authOptional: false,
      logger: false,
      onAuth: (auth, _session, callback) => {
        if (auth.username === SMTP_USER && auth.password === SMTP_PASSWORD) {
          callback(null, { user: auth.username })
        } else {
          callback(new Error('Invalid username or password'))
        }
      },
      onRcptTo: (address, _session, callback) => {
        if (this.rejectRecipientsWith === undefined) {
          callback()
          return
        }
        // Like many servers, the refusal repeats the address.
        const error = new Error(`<${address.address}>: ${this.rejectRecipientsWith}`) as Error & {
          responseCode: number
        }
        error.responseCode = 550
        callback(error)
      },
      onData: (stream, session, callback) => {
        const chunks: Buffer[] = []
        stream.on('data', (chunk: Buffer) => chunks.push(chunk))
        stream.on('end', () => {
          const raw = Buffer.concat(chunks)
          simpleParser(raw).then(
            (parsed) => {
              this.received.push({
                parsed,
                raw: raw.toString('utf8'),
                envelopeTo: session.envelope.rcptTo.map((rcpt) => rcpt.address.toLowerCase()),
                secure: session.secure,
                user: typeof session.user === 'string' ? session.user : undefined,
              })
              for (const wake of this.waiters) wake()
              this.waiters.clear()
              callback()
            },
            (error: unknown) => callback(error as Error),
          )
        })
      },
    }
    this.server = new SMTPServer(options)
    this.server.on('error', () => undefined)
    await new Promise<void>((resolve, reject) => {
      this.server.server.once('error', reject)
      this.server.listen(port, '127.0.0.1', () => {
        this.server.server.off('error', reject)
        resolve()
      })
    })
    const address = this.server.server.address()
    if (address === null || typeof address === 'string') throw new Error('SMTP server did not bind')
    this.port = address.port
  }
}

/** The `token` query parameter of the link to `path` in a mail's plain-text body. */
export function tokenFromMail(mail: ReceivedMail | ParsedMail, path: string): string {
  const parsed = 'parsed' in mail ? mail.parsed : mail
  const text = parsed.text ?? ''
  const link = text.split('\n').find((line) => line.includes(`${path}?token=`))
  if (link === undefined) throw new Error(`no ${path} link in the mail:\n${text}`)
  const token = new URL(link.trim()).searchParams.get('token')
  if (token === null) throw new Error('the link has no token')
  return token
}
