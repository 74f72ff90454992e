import { createHash, type webcrypto } from 'node:crypto'
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type JWK } from 'jose'
import type { Clock } from '../../platform/clock.ts'
import { isoAt } from '../../platform/clock.ts'
import type { Config, JwtAlgorithm } from '../../platform/config/config.ts'
import { openStored, sealStored } from '../../platform/crypto/at-rest.ts'
import { SecretBox } from '../../platform/crypto/secrets.ts'
import type { Db } from '../../platform/storage/database.ts'

/** A WebCrypto key for asymmetric algorithms, the raw secret for HS256 (as jose takes them). */
export type KeyMaterial = webcrypto.CryptoKey | Uint8Array

export interface SigningKey {
  kid: string
  alg: JwtAlgorithm
  key: KeyMaterial
}

interface VerificationKey {
  key: KeyMaterial
  alg: string
}

/** How long after a failed lookup of an unknown `kid` we ask the database again. */
const UNKNOWN_KID_COOLDOWN_MS = 10_000
/** How often every instance re-reads the keys, so a rotation reaches instances that only sign. */
export const KEY_RELOAD_INTERVAL_MS = 60_000

export interface StoredKey {
  kid: string
  alg: string
  created_at: string
  retired_at: string | null
  revoked_at: string | null
  /**
   * `signing` (the current key), `published` (retired, still verifies live tokens), `expired`, or
   * `revoked` (verifies nothing, whatever its age).
   */
  status: 'signing' | 'published' | 'expired' | 'revoked'
}

/** What `KeyStore.revoke` did. `signingKid` is the key that signs from now on. */
export type KeyRevocation =
  { outcome: 'revoked'; signingKid: string } | { outcome: 'unknown' } | { outcome: 'already revoked' }

/**
 * Signing and verification keys. Asymmetric keys are generated on first start and kept in the
 * database, so every instance sharing it signs with the same key and verifies the others' tokens;
 * keys are imported once into `CryptoKey`s, never per request. With SECRETS_KEY, private keys are
 * stored sealed (AES-256-GCM, bound to their kid); keys stored in clear before are sealed in place
 * on the first start that has it.
 *
 * ```ts
 * const keys = await KeyStore.open(db, config, clock, secretsKeyBox(config.secretsKey))
 * const { kid, key } = keys.signingKey()
 * ```
 */
export class KeyStore {
  private signing!: SigningKey
  private verification = new Map<string, VerificationKey>()
  private publicJwks: JWK[] = []
  private lastReloadAt = -Infinity
  private reloadTimer: NodeJS.Timeout | undefined
  /** Kids revoked since start: a reload that began before a revocation committed must not bring one back. */
  private readonly revokedKids = new Set<string>()

  private constructor(
    private readonly db: Db,
    private readonly config: Config,
    private readonly clock: Clock,
    private readonly secretsKey: SecretBox | undefined,
  ) {}

  /** Throws a `ConfigError` when a stored private key is sealed and SECRETS_KEY is missing or another key. */
  static async open(
    db: Db,
    config: Config,
    clock: Clock,
    secretsKey: SecretBox | undefined,
  ): Promise<KeyStore> {
    const store = new KeyStore(db, config, clock, secretsKey)
    if (config.jwt.algorithm === 'HS256') {
      store.useSharedSecret(config.jwt.secret ?? '')
    } else {
      await store.sealClearKeys()
      await store.ensureSigningKey(config.jwt.algorithm)
      await store.reload()
    }
    return store
  }

  signingKey(): SigningKey {
    return this.signing
  }

  /**
   * The key for a token's `kid`. An unknown `kid` may be a key another instance just created, so
   * the database is asked again — at most once per cooldown, so forged kids cannot flood it.
   */
  async verificationKey(kid: string): Promise<VerificationKey | undefined> {
    const known = this.verification.get(kid)
    if (known || this.config.jwt.algorithm === 'HS256') return known
    if (this.clock.now() - this.lastReloadAt < UNKNOWN_KID_COOLDOWN_MS) return undefined
    await this.reload()
    return this.verification.get(kid)
  }

  /** Public keys that can still verify a live token (RFC 7517 JWK Set). Never the HS256 secret. */
  jwks(): { keys: JWK[] } {
    return { keys: this.publicJwks }
  }

  /**
   * A new key takes over signing; the previous one is retired but stays published — and accepted —
   * until every token it signed has expired. Other instances switch within `KEY_RELOAD_INTERVAL_MS`.
   */
  async rotate(): Promise<string> {
    if (this.config.jwt.algorithm === 'HS256')
      throw new Error('HS256 uses JWT_SECRET; change the secret to rotate')
    const kid = await this.createSigningKey(this.config.jwt.algorithm)
    await this.reload()
    return kid
  }

  /**
   * Revokes a compromised key: it leaves verification and the JWKS here at once, and on every other
   * instance once they learn of the revocation record that `record` writes in the same transaction.
   * The current signing key first hands over to a new one, so signing never stops.
   */
  async revoke(kid: string, record: (trx: Db) => Promise<void>): Promise<KeyRevocation> {
    if (this.config.jwt.algorithm === 'HS256')
      throw new Error('HS256 uses JWT_SECRET; change the secret to revoke it')
    const row = await this.db
      .selectFrom('signing_keys')
      .select(['retired_at', 'revoked_at'])
      .where('kid', '=', kid)
      .executeTakeFirst()
    if (!row) return { outcome: 'unknown' }
    if (row.revoked_at !== null) return { outcome: 'already revoked' }
    if (row.retired_at === null) await this.createSigningKey(this.config.jwt.algorithm)
    const now = isoAt(this.clock.now())
    const revoked = await this.db.transaction().execute(async (trx) => {
      const result = await trx
        .updateTable('signing_keys')
        .set((eb) => ({ revoked_at: now, retired_at: eb.fn.coalesce('retired_at', eb.val(now)) }))
        .where('kid', '=', kid)
        .where('revoked_at', 'is', null)
        .executeTakeFirst()
      if (result.numUpdatedRows === 0n) return false
      await record(trx)
      return true
    })
    if (!revoked) return { outcome: 'already revoked' }
    this.forget(kid)
    await this.reload()
    return { outcome: 'revoked', signingKid: this.signing.kid }
  }

  /**
   * Stops verifying and publishing a revoked key at once (`Revocations` calls this for every key
   * revocation, from any instance). When it was this instance's signing key, the successor that
   * `revoke` created is loaded; `onError` hears when that fails.
   */
  forget(kid: string, onError: (error: unknown) => void = () => undefined): void {
    this.revokedKids.add(kid)
    if (!this.verification.has(kid)) return
    this.verification = new Map([...this.verification].filter(([known]) => known !== kid))
    this.publicJwks = this.publicJwks.filter((jwk) => jwk.kid !== kid)
    if (this.signing.kid === kid) this.reload().catch(onError)
  }

  /** Every stored key with what it is good for now. */
  async list(): Promise<StoredKey[]> {
    const publishedSince = this.publishedSince()
    const rows = await this.db
      .selectFrom('signing_keys')
      .select(['kid', 'alg', 'created_at', 'retired_at', 'revoked_at'])
      .orderBy('created_at')
      .execute()
    return rows.map((row) => ({
      ...row,
      status:
        row.revoked_at !== null
          ? 'revoked'
          : row.retired_at === null
            ? 'signing'
            : row.retired_at > publishedSince
              ? 'published'
              : 'expired',
    }))
  }

  /** Re-reads the keys periodically (the timer does not keep the process alive). */
  startReloading(onError: (error: unknown) => void): void {
    if (this.config.jwt.algorithm === 'HS256' || this.reloadTimer) return
    this.reloadTimer = setInterval(() => {
      this.reload().catch(onError)
    }, KEY_RELOAD_INTERVAL_MS)
    this.reloadTimer.unref()
  }

  stopReloading(): void {
    clearInterval(this.reloadTimer)
    this.reloadTimer = undefined
  }

  private useSharedSecret(secret: string): void {
    const key = new TextEncoder().encode(secret)
    // The kid names the secret without revealing it, so a changed secret is told apart in logs.
    const kid = `hs256-${createHash('sha256').update(secret).digest('base64url').slice(0, 12)}`
    this.signing = { kid, alg: 'HS256', key }
    this.verification = new Map([[kid, { key, alg: 'HS256' }]])
  }

  /**
   * Checks that every sealed private key opens with SECRETS_KEY — before anything is sealed with
   * it, so a wrong key stops start-up instead of leaving keys sealed under two — then seals those
   * still in clear. Each is a compare-and-swap on the clear value, so concurrent starts seal it once.
   */
  private async sealClearKeys(): Promise<void> {
    const rows = await this.db.selectFrom('signing_keys').select(['kid', 'private_jwk']).execute()
    for (const row of rows) privateJwkOf(this.secretsKey, row)
    if (this.secretsKey === undefined) return
    for (const row of rows.filter((stored) => !SecretBox.isSealed(stored.private_jwk))) {
      await this.db
        .updateTable('signing_keys')
        .set({ private_jwk: sealStored(this.secretsKey, row.private_jwk, signingKeyPurpose(row.kid)) })
        .where('kid', '=', row.kid)
        .where('private_jwk', '=', row.private_jwk)
        .execute()
    }
  }

  private async ensureSigningKey(alg: JwtAlgorithm): Promise<void> {
    const existing = await this.activeKeyQuery(alg).executeTakeFirst()
    if (!existing) await this.createSigningKey(alg)
  }

  /** Stores a new key pair and retires every other key (of any algorithm) at this moment. */
  private async createSigningKey(alg: JwtAlgorithm): Promise<string> {
    const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true })
    const publicJwk = { ...(await exportJWK(publicKey)), alg, use: 'sig' }
    const kid = await calculateJwkThumbprint(publicJwk)
    const now = isoAt(this.clock.now())
    await this.db.transaction().execute(async (trx) => {
      await trx.updateTable('signing_keys').set({ retired_at: now }).where('retired_at', 'is', null).execute()
      await trx
        .insertInto('signing_keys')
        .values({
          kid,
          alg,
          private_jwk: sealStored(
            this.secretsKey,
            JSON.stringify({ ...(await exportJWK(privateKey)), alg, kid }),
            signingKeyPurpose(kid),
          ),
          public_jwk: JSON.stringify({ ...publicJwk, kid }),
          created_at: now,
          retired_at: null,
          revoked_at: null,
        })
        .execute()
    })
    return kid
  }

  /**
   * A retired key signed tokens until its retirement — and, on instances that had not reloaded
   * yet, up to one reload interval later — so it is published for that long plus a token lifetime.
   */
  private publishedSince(): string {
    return isoAt(this.clock.now() - this.config.accessTokenTtlSeconds * 1000 - 2 * KEY_RELOAD_INTERVAL_MS)
  }

  /** Unretired keys of `alg`, oldest first: instances that raced to create one all pick the first. */
  private activeKeyQuery(alg: JwtAlgorithm) {
    return this.db
      .selectFrom('signing_keys')
      .selectAll()
      .where('alg', '=', alg)
      .where('retired_at', 'is', null)
      .where('revoked_at', 'is', null)
      .orderBy('created_at')
      .orderBy('kid')
  }

  /** Re-reads the keys from the database (the periodic timer calls this too). */
  async reload(): Promise<void> {
    this.lastReloadAt = this.clock.now()
    const alg = this.config.jwt.algorithm
    const publishedSince = this.publishedSince()
    const rows = await this.db
      .selectFrom('signing_keys')
      .selectAll()
      .where((eb) => eb.or([eb('retired_at', 'is', null), eb('retired_at', '>', publishedSince)]))
      .where('revoked_at', 'is', null)
      .orderBy('created_at')
      .orderBy('kid')
      .execute()
    const verification = new Map<string, VerificationKey>()
    const publicJwks: JWK[] = []
    let signing: SigningKey | undefined
    for (const row of rows.filter((stored) => !this.revokedKids.has(stored.kid))) {
      const publicJwk = JSON.parse(row.public_jwk) as JWK
      publicJwks.push(publicJwk)
      verification.set(row.kid, {
        key: await importJWK(publicJwk, row.alg),
        alg: row.alg,
      })
      if (signing === undefined && row.alg === alg && row.retired_at === null) {
        const privateJwk = JSON.parse(privateJwkOf(this.secretsKey, row)) as JWK
        const key = (await importJWK(privateJwk, row.alg)) as webcrypto.CryptoKey
        signing = { kid: row.kid, alg, key }
      }
    }
    if (!signing) throw new Error(`No active ${alg} signing key in the database`)
    this.signing = signing
    this.verification = verification
    this.publicJwks = publicJwks
  }
}

/** What a sealed private key is bound to: a seal moved to another row does not open. */
const signingKeyPurpose = (kid: string) => `signing_key:${kid}`

function privateJwkOf(secretsKey: SecretBox | undefined, row: { kid: string; private_jwk: string }): string {
  return openStored(
    secretsKey,
    row.private_jwk,
    signingKeyPurpose(row.kid),
    `the private signing key ${row.kid}`,
  )
}
