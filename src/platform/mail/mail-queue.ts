import { dirname, join } from 'node:path'
import type { Config } from '../config/config.ts'
import { outboxDirectoryTransport, smtpTransport, type MailTransport } from './transport.ts'

export const PRODUCT_NAME = 'Gatehouse'

export interface MailQueueOptions {
  /** Where `.eml` files go without `SMTP_URL`; tests point it at a temporary directory. */
  outboxDir?: string
  /** Replaces the transport chosen from the configuration. */
  transport?: MailTransport
}

/**
 * What the rest of the service knows about mail: the transport, the sender, how links are built,
 * and a doorbell that wakes the delivery worker when a request has queued a mail. Requests never
 * send: they queue (`enqueueMail`) and ring; the worker (`startMailWorker`) delivers.
 *
 * ```ts
 * const url = ctx.mailQueue.link('/reset-password', { token })
 * await enqueueMail(trx, ctx.clock, { purpose: 'password_reset', to, subject, ...renderMail(…) })
 * ctx.mailQueue.notifyQueued()
 * ```
 */
export class MailQueue {
  private readonly listeners = new Set<() => void>()

  constructor(
    readonly transport: MailTransport,
    /** `MAIL_FROM`, or `Gatehouse <no-reply@HOST-OF-PUBLIC_URL>`. */
    readonly from: string,
    /** `PUBLIC_URL`, or `http://HOST:PORT`: where the links in mails point. */
    private base: string,
    /** False when `publicUrl` is only the default, which `listeningOn` may correct. */
    private readonly configured = true,
  ) {}

  get publicUrl(): string {
    return this.base
  }

  /**
   * Without `PUBLIC_URL`, links point at the address the server listens on, once it is known
   * (with `PORT=0` the port is only chosen then).
   */
  listeningOn(url: string): void {
    if (!this.configured) this.base = url
  }

  static fromConfig(config: Config, options: MailQueueOptions = {}): MailQueue {
    const publicUrl = config.mail.publicUrl ?? defaultPublicUrl(config.host, config.port)
    const transport =
      options.transport ??
      (config.mail.smtpUrl === undefined
        ? outboxDirectoryTransport(options.outboxDir ?? defaultOutboxDir(config))
        : smtpTransport(config.mail.smtpUrl))
    const from = config.mail.from ?? `${PRODUCT_NAME} <no-reply@${new URL(publicUrl).hostname}>`
    return new MailQueue(transport, from, publicUrl, config.mail.publicUrl !== undefined)
  }

  /** `PUBLIC_URL` + `path` + query; a `PUBLIC_URL` with a path (`https://example.com/app`) keeps it. */
  link(path: string, query: Record<string, string>): string {
    const base = this.publicUrl.endsWith('/') ? this.publicUrl : `${this.publicUrl}/`
    const url = new URL(path.replace(/^\/+/, ''), base)
    for (const [name, value] of Object.entries(query)) url.searchParams.set(name, value)
    return url.toString()
  }

  /** The domain of the sender, for Message-IDs. */
  get fromDomain(): string {
    return /@([^\s@>]+)>?\s*$/.exec(this.from)?.[1] ?? 'localhost'
  }

  /** Called after a transaction that queued a mail has committed. Never blocks, never throws. */
  notifyQueued(): void {
    for (const listener of this.listeners) listener()
  }

  /** Subscribes the delivery worker; returns the unsubscribe function. */
  onQueued(listener: () => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  close(): void {
    this.transport.close()
  }
}

/** A wildcard listen address is no address to put in a link. */
export function defaultPublicUrl(host: string, port: number): string {
  const name = host === '0.0.0.0' || host === '::' || host === '' ? 'localhost' : host
  return `http://${name.includes(':') ? `[${name}]` : name}:${port}`
}

/** `outbox/` beside the SQLite file, or `./data/outbox` for PostgreSQL and in-memory SQLite. */
export function defaultOutboxDir(config: Pick<Config, 'database'>): string {
  const { database } = config
  return database.kind === 'sqlite' && database.path !== ':memory:'
    ? join(dirname(database.path), 'outbox')
    : join('data', 'outbox')
}
