import type { Logger } from 'pino'
import type { RateLimits } from './identity/limits/limits.ts'
import type { LoginCheck } from './identity/login/checks.ts'
import type { RedisRevocationChannel } from './identity/revocations/redis-channel.ts'
import type { Revocations } from './identity/revocations/revocations.ts'
import type { KeyStore } from './identity/signing-keys/key-store.ts'
import type { AccessTokens } from './identity/tokens/access-tokens.ts'
import type { Clock } from './platform/clock.ts'
import type { Config } from './platform/config/config.ts'
import type { PasswordHasher } from './platform/crypto/passwords.ts'
import type { SecretBox } from './platform/crypto/secrets.ts'
import type { Metrics } from './platform/http/metrics.ts'
import type { MailQueue } from './platform/mail/mail-queue.ts'
import type { Db } from './platform/storage/database.ts'

/**
 * The dependencies of the service, opened once per process (or per test app) by `openContext`.
 * A function takes the part it uses, `Pick<Context, 'db' | 'clock'>`, so its signature says what it
 * touches and a test passes the real thing (only the clock is ever a fake). The kernel and the
 * platform cannot see this type (imports point down): their functions name the same members.
 */
export interface Context {
  config: Config
  db: Db
  clock: Clock
  logger: Logger
  signingKeys: KeyStore
  accessTokens: AccessTokens
  hasher: PasswordHasher
  metrics: Metrics
  revocations: Revocations
  limits: RateLimits
  /** Set when `REDIS_URL` is: shares revocations between instances. */
  revocationChannel: RedisRevocationChannel | undefined
  /** The mail transport, sender and links; requests queue mail, `startMailWorker` delivers it. */
  mailQueue: MailQueue
  /** Seals a rotated refresh token's successor for the reuse grace window (a database key). */
  refreshSuccessorKey: SecretBox
  /** What every login must pass after its password: a disabled account, an unverified address… */
  loginChecks: readonly LoginCheck[]
}
