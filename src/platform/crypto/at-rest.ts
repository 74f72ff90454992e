import type { Clock } from '../clock.ts'
import { isoAt } from '../clock.ts'
import { ConfigError } from '../config/config.ts'
import type { Db } from '../storage/database.ts'
import { SealedSecretError, SecretBox, newSecretKey } from './secrets.ts'

/** `SECRETS_KEY` as a box, when it is set. */
export function secretsKeyBox(secretsKey: string | undefined): SecretBox | undefined {
  return secretsKey === undefined ? undefined : new SecretBox(Buffer.from(secretsKey, 'base64'))
}

/** Seals `value` under SECRETS_KEY when it is set; without it the value is stored as it is. */
export function sealStored(secretsKey: SecretBox | undefined, value: string, purpose: string): string {
  return secretsKey === undefined ? value : secretsKey.seal(value, purpose)
}

/**
 * A stored value in clear, whether it was sealed under SECRETS_KEY or kept as it is (written
 * before SECRETS_KEY was set). A sealed value without the key that sealed it stops start-up with
 * a configuration error that says so — never a stack trace.
 */
export function openStored(
  secretsKey: SecretBox | undefined,
  stored: string,
  purpose: string,
  what: string,
): string {
  if (!SecretBox.isSealed(stored)) return stored
  if (secretsKey === undefined) {
    throw new ConfigError([
      `SECRETS_KEY: not set, but ${what} in the database is encrypted; start with the SECRETS_KEY it was encrypted with`,
    ])
  }
  try {
    return secretsKey.open(stored, purpose).toString('utf8')
  } catch (error) {
    if (!(error instanceof SealedSecretError)) throw error
    throw new ConfigError([
      `SECRETS_KEY: does not decrypt ${what} in the database (a different key encrypted it); start with the SECRETS_KEY it was encrypted with`,
    ])
  }
}

/**
 * The database's own key of that name, made on first use: a random 256-bit key stored in
 * `server_secrets` (sealed under SECRETS_KEY when set), so every instance on the database uses the
 * same one. Instances that race to make it all end up with the one that was inserted first; one
 * stored in clear before SECRETS_KEY was set is sealed in place on the first start that has it.
 */
export async function serverKey(
  db: Db,
  clock: Clock,
  secretsKey: SecretBox | undefined,
  name: string,
): Promise<SecretBox> {
  const purpose = `server_secret:${name}`
  const stored = () =>
    db.selectFrom('server_secrets').select('value').where('name', '=', name).executeTakeFirst()
  let row = await stored()
  if (row === undefined) {
    await db
      .insertInto('server_secrets')
      .values({
        name,
        value: sealStored(secretsKey, newSecretKey().toString('base64url'), purpose),
        created_at: isoAt(clock.now()),
      })
      .onConflict((conflict) => conflict.column('name').doNothing())
      .execute()
    row = await stored()
  }
  if (row === undefined) throw new Error(`server key "${name}" vanished as it was created`)
  const { value } = row
  const key = openStored(secretsKey, value, purpose, `the server key "${name}"`)
  if (secretsKey !== undefined && !SecretBox.isSealed(value)) {
    // Compare-and-swap on the clear value: concurrent instances seal it once.
    await db
      .updateTable('server_secrets')
      .set({ value: secretsKey.seal(key, purpose) })
      .where('name', '=', name)
      .where('value', '=', value)
      .execute()
  }
  return new SecretBox(Buffer.from(key, 'base64url'))
}
