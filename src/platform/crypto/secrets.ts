import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'

/** The format's version, its first field: a later format (another cipher, a key id) gets `v2`. */
const VERSION = 'v1'
const KEY_BYTES = 32
/** 96-bit nonces, random per seal (NIST SP 800-38D §8.2.2): safe for far more seals than we make. */
const IV_BYTES = 12
const TAG_BYTES = 16
const SEALED = /^v1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{22,}$/

/** A sealed value that does not open: another key sealed it, it was altered, or it is not sealed. */
export class SealedSecretError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = 'SealedSecretError'
  }
}

/**
 * Authenticated encryption of secrets kept in the database (AES-256-GCM). A sealed value is text,
 * `v1.<iv>.<ciphertext and tag>` in base64url; the `purpose` — what the secret is and which row
 * holds it, e.g. `signing_key:<kid>` — is bound as additional data, so a sealed value copied into
 * another row or column does not open there.
 *
 * ```ts
 * const box = new SecretBox(key) // 32 bytes
 * const sealed = box.seal(privateJwk, `signing_key:${kid}`)
 * box.open(sealed, `signing_key:${kid}`).toString('utf8') // throws SealedSecretError
 * ```
 */
export class SecretBox {
  readonly #key: Buffer

  constructor(key: Uint8Array) {
    if (key.byteLength !== KEY_BYTES) throw new TypeError(`A SecretBox key is ${KEY_BYTES} bytes`)
    this.#key = Buffer.from(key)
  }

  /** True when `value` has the sealed format (whether or not this key opens it). */
  static isSealed(value: string): boolean {
    return SEALED.test(value)
  }

  seal(plaintext: string | Uint8Array, purpose: string): string {
    const iv = randomBytes(IV_BYTES)
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv, { authTagLength: TAG_BYTES })
    cipher.setAAD(Buffer.from(purpose, 'utf8'))
    const body = Buffer.concat([
      cipher.update(typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext),
      cipher.final(),
      cipher.getAuthTag(),
    ])
    return `${VERSION}.${iv.toString('base64url')}.${body.toString('base64url')}`
  }

  open(sealed: string, purpose: string): Buffer {
    if (!SecretBox.isSealed(sealed)) throw new SealedSecretError('not a sealed secret')
    const [, iv = '', encoded = ''] = sealed.split('.')
    const body = Buffer.from(encoded, 'base64url')
    if (body.length < TAG_BYTES) throw new SealedSecretError('sealed secret too short')
    const decipher = createDecipheriv('aes-256-gcm', this.#key, Buffer.from(iv, 'base64url'), {
      authTagLength: TAG_BYTES,
    })
    decipher.setAAD(Buffer.from(purpose, 'utf8'))
    decipher.setAuthTag(body.subarray(body.length - TAG_BYTES))
    try {
      return Buffer.concat([decipher.update(body.subarray(0, body.length - TAG_BYTES)), decipher.final()])
    } catch (error) {
      throw new SealedSecretError('the sealed secret does not open with this key', { cause: error })
    }
  }
}

/** A new random key for a `SecretBox`. */
export function newSecretKey(): Buffer {
  return randomBytes(KEY_BYTES)
}
