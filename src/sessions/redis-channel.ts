import { createRequire } from 'node:module'
import type * as IoRedis from 'ioredis'
import type { Logger } from 'pino'
import type { RevocationChannel } from './revocations.ts'

type Redis = IoRedis.Redis
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
  /** Revocations this instance could not publish; sent as soon as the publisher is back. */
  private readonly unpublished = new Set<string>()

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
    this.publisher.on('ready', () => {
      if (this.unpublished.size > 0) void this.publish([]).catch(() => undefined)
    })
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
   * a healthy channel and no reason to re-read the database, so what this one failed to tell them
   * must still reach them once Redis is back.
   */
  async publish(sessionIds: string[]): Promise<void> {
    for (const id of sessionIds) this.unpublished.add(id)
    const batch = [...this.unpublished]
    if (batch.length === 0) return
    await this.publisher.publish(this.channel, JSON.stringify(batch))
    for (const id of batch) this.unpublished.delete(id)
  }

  subscribe(handlers: { onMessage: (sessionIds: string[]) => void; onRecovered: () => void }): void {
    this.subscriber.on('message', (_channel: string, message: string) => {
      const sessionIds = parseSessionIds(message)
      if (sessionIds) handlers.onMessage(sessionIds)
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
    this.subscriber.disconnect()
    this.publisher.disconnect()
    return Promise.resolve()
  }
}

function parseSessionIds(message: string): string[] | undefined {
  try {
    const value: unknown = JSON.parse(message)
    return Array.isArray(value) && value.every((id) => typeof id === 'string') ? value : undefined
  } catch {
    return undefined
  }
}
