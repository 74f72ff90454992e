import { createRequire } from 'node:module'
import type * as IoRedis from 'ioredis'
import type { Logger } from 'pino'
import { REVOCATION_KINDS, type Revocation, type RevocationChannel } from './revocations.ts'

type Redis = IoRedis.Redis

/** The first retry of a failed publish, doubled on each failure up to the last. */
const FIRST_RETRY_MS = 500
const LAST_RETRY_MS = 30_000
/**
 * Revocations kept for a retry at most. Beyond that the oldest go: other instances read every record
 * from the database within a reconcile interval, so a retry only makes them effective sooner.
 */
const MAX_UNPUBLISHED = 10_000
/** ioredis is loaded only when Redis is configured: otherwise it costs start-up time and memory. */
const loadIoRedis = (): typeof IoRedis => createRequire(import.meta.url)('ioredis') as typeof IoRedis

/**
 * Revocations over Redis pub/sub: one connection publishes, one subscribes. The subscriber is
 * healthy only while it is connected and subscribed; a message published while it was away is
 * lost, which is why `Revocations` re-reads the database on recovery.
 */
export class RedisRevocationChannel implements RevocationChannel {
  private readonly publisher: Redis
  private readonly subscriber: Redis
  private subscribed = false
  private everSubscribed = false
  /** Revocations this instance could not publish yet, by `kind value`; retried with back-off. */
  private readonly unpublished = new Map<string, Revocation>()
  private retryTimer: NodeJS.Timeout | undefined
  private retryMs = FIRST_RETRY_MS
  private closed = false

  private readonly channel: string

  /** `keyPrefix` (`REDIS_KEY_PREFIX`) keeps deployments that share a Redis apart. */
  constructor(
    url: string,
    keyPrefix: string,
    private readonly logger: Logger,
  ) {
    this.channel = `${keyPrefix}revocations`
    const options = {
      lazyConnect: true,
      maxRetriesPerRequest: 1,
      connectTimeout: 2000,
      enableOfflineQueue: false,
    }
    // A publish waits for the first connection (a CLI publishes right after starting) but never
    // more than a second: the database already has the revocation.
    const { Redis } = loadIoRedis()
    this.publisher = new Redis(url, { ...options, enableOfflineQueue: true, commandTimeout: 1000 })
    // We subscribe ourselves on every (re)connect, so `healthy` turns true only once Redis confirms.
    this.subscriber = new Redis(url, { ...options, autoResubscribe: false })
    for (const [name, client] of [
      ['publisher', this.publisher],
      ['subscriber', this.subscriber],
    ] as const) {
      // Without a listener ioredis reports every failed reconnect as an unhandled error.
      client.on('error', (error: Error) =>
        logger.debug({ err: error, connection: name }, 'redis connection error'),
      )
    }
    this.publisher.on('ready', () => void this.flush().catch(() => undefined))
  }

  get healthy(): boolean {
    return this.subscribed && this.subscriber.status === 'ready'
  }

  /** Redis answers a PING and our subscription stands, for readiness checks. */
  async ping(): Promise<void> {
    await this.publisher.ping()
    if (!this.healthy) throw new Error('not subscribed to revocations')
  }

  /**
   * Publishes revocations, with any that earlier attempts could not send. Other instances may have
   * a healthy channel and no reason to re-read the database soon, so what this one failed to tell
   * them is retried — when the publisher reconnects, and on a timer that backs off — until sent.
   */
  async publish(revocations: Revocation[]): Promise<void> {
    for (const revocation of revocations) {
      this.unpublished.set(`${revocation.kind} ${revocation.value}`, revocation)
    }
    for (const key of this.unpublished.keys()) {
      if (this.unpublished.size <= MAX_UNPUBLISHED) break
      this.unpublished.delete(key)
    }
    await this.flush()
  }

  private async flush(): Promise<void> {
    const batch = [...this.unpublished]
    if (batch.length === 0) return
    try {
      await this.publisher.publish(this.channel, encodeRevocations(batch.map(([, revocation]) => revocation)))
    } catch (error) {
      this.retryLater()
      throw error
    }
    for (const [key] of batch) this.unpublished.delete(key)
    this.retryMs = FIRST_RETRY_MS
  }

  private retryLater(): void {
    if (this.retryTimer !== undefined || this.closed) return
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined
      this.flush().catch(() => undefined)
    }, this.retryMs)
    this.retryTimer.unref()
    this.retryMs = Math.min(this.retryMs * 2, LAST_RETRY_MS)
  }

  subscribe(handlers: { onMessage: (revocations: Revocation[]) => void; onRecovered: () => void }): void {
    this.subscriber.on('message', (_channel: string, message: string) => {
      const revocations = decodeRevocations(message)
      if (revocations) handlers.onMessage(revocations)
    })
    this.subscriber.on('close', () => {
      if (this.subscribed) this.logger.warn('revocation channel lost: checking revocations in the database')
      this.subscribed = false
    })
    // The database is re-read once the subscription is confirmed: from then on no revocation can
    // fall between the two. The first subscription too: whatever was revoked between the read at
    // start and now — for as long as Redis was unreachable, when it was down at start — was missed.
    this.subscriber.on('ready', () => {
      this.subscriber.subscribe(this.channel).then(
        () => {
          this.subscribed = true
          this.logger.info(
            this.everSubscribed ? 'revocation channel recovered' : 'revocation channel subscribed',
          )
          this.everSubscribed = true
          handlers.onRecovered()
        },
        (error: unknown) => this.logger.warn({ err: error }, 'could not subscribe to revocations'),
      )
    })
    this.subscriber.connect().catch((error: unknown) => {
      this.logger.warn({ err: error }, 'redis not reachable yet: checking revocations in the database')
    })
    this.publisher.connect().catch(() => undefined)
  }

  async close(): Promise<void> {
    this.closed = true
    clearTimeout(this.retryTimer)
    this.subscriber.disconnect()
    this.publisher.disconnect()
    return Promise.resolve()
  }
}

/** A message is a JSON array of `{kind, value, at?}`. */
function encodeRevocations(revocations: Revocation[]): string {
  return JSON.stringify(revocations.map(({ kind, value, at }) => ({ kind, value, at })))
}

function decodeRevocations(message: string): Revocation[] | undefined {
  try {
    const entries: unknown = JSON.parse(message)
    return Array.isArray(entries) && entries.every(isRevocation)
      ? entries.map(({ kind, value, at }) => (at === undefined ? { kind, value } : { kind, value, at }))
      : undefined
  } catch {
    return undefined
  }
}

function isRevocation(entry: unknown): entry is Revocation {
  if (typeof entry !== 'object' || entry === null) return false
  const { kind, value, at } = entry as Record<string, unknown>
  return (
    (REVOCATION_KINDS as readonly unknown[]).includes(kind) &&
    typeof value === 'string' &&
    (at === undefined || typeof at === 'number')
  )
}
