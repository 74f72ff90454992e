import type { Migration } from 'kysely'
import type { Db } from './platform/storage/database.ts'
import { clients } from './identity/clients/migration.ts'
import { personalAccessTokens } from './identity/personal-access-tokens/migration.ts'
import { sessionAuthentication } from './identity/sessions/migration.ts'
import { SCHEMA_HISTORY, migrate } from './platform/storage/migrations/index.ts'

/**
 * Every migration, applied in name order: the schema's history, then each new one from the layer or
 * feature that owns its table (`features/NAME/migration.ts`, say), added here under the next
 * number. Never edit one that has shipped: add the next.
 */
export const MIGRATIONS: Readonly<Record<string, Migration>> = {
  ...SCHEMA_HISTORY,
  '0009_session_authentication': sessionAuthentication,
  '0010_clients': clients,
  '0011_personal_access_tokens': personalAccessTokens,
}

/** Brings the schema up to date — or up to `last`, to test an upgrade from that version. */
export async function migrateToLatest(db: Db, last?: string): Promise<string[]> {
  return migrate(db, MIGRATIONS, last)
}
