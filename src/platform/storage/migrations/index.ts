import { Migrator, type Migration, type MigrationResultSet } from 'kysely'
import type { Db } from '../database.ts'
import { initial } from './0001_initial.ts'
import { sessionsAndAudit } from './0002_sessions_audit.ts'
import { todosAndRevocations } from './0003_todos_revocations.ts'
import { mail } from './0004_mail.ts'
import { normalizedEmails } from './0005_normalized_emails.ts'
import { secretsAtRest } from './0006_secrets_at_rest.ts'
import { loginPlaces } from './0007_login_places.ts'
import { revocationRecords } from './0008_revocation_records.ts'

/**
 * The schema's history up to the layered layout: these migrations create tables of every layer and
 * keep their names, which databases have recorded. New migrations belong to whoever owns the table
 * and are listed in src/migrations.ts.
 */
export const SCHEMA_HISTORY: Readonly<Record<string, Migration>> = {
  '0001_initial': initial,
  '0002_sessions_audit': sessionsAndAudit,
  '0003_todos_revocations': todosAndRevocations,
  '0004_mail': mail,
  '0005_normalized_emails': normalizedEmails,
  '0006_secrets_at_rest': secretsAtRest,
  '0007_login_places': loginPlaces,
  '0008_revocation_records': revocationRecords,
}

/**
 * Applies `migrations` in name order — up to `last`, if given,, to test an upgrade from that version. Kysely takes
 * a lock, so concurrent starts apply each migration once.
 */
export async function migrate(
  db: Db,
  migrations: Readonly<Record<string, Migration>>,
  last?: string,
): Promise<string[]> {
  const migrator = new Migrator({ db, provider: { getMigrations: () => Promise.resolve({ ...migrations }) } })
  const { error, results }: MigrationResultSet = await (last === undefined
    ? migrator.migrateToLatest()
    : migrator.migrateTo(last))
  if (error !== undefined) throw new Error('Database migration failed', { cause: error })
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName)
}
