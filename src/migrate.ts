import { ConfigError, loadConfig, readEnvironment } from './config/config.ts'
import { openDatabase } from './storage/database.ts'
import { migrateToLatest } from './storage/migrations/index.ts'

try {
  const config = loadConfig(readEnvironment())
  const db = openDatabase(config.database)
  try {
    const applied = await migrateToLatest(db)
    process.stdout.write(applied.length > 0 ? `applied: ${applied.join(', ')}\n` : 'database is up to date\n')
  } finally {
    await db.destroy()
  }
} catch (error) {
  const message = error instanceof ConfigError || !(error instanceof Error) ? String(error) : error.message
  process.stderr.write(`gatehouse migrate: ${message}\n`)
  process.exit(1)
}
