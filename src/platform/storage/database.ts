import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname } from 'node:path'
import BetterSqlite3 from 'better-sqlite3'
import { Kysely, PostgresDialect, SqliteDialect, sql, type SqliteDatabase } from 'kysely'
import type PgModule from 'pg'
import type { DatabaseTarget } from '../config/config.ts'
import type { Database } from './schema.ts'

export type Db = Kysely<Database>

/** `pg` is loaded only for PostgreSQL: on SQLite it would cost start-up time and memory for nothing. */
const loadPg = (): typeof PgModule => createRequire(import.meta.url)('pg') as typeof PgModule

/**
 * Opens the configured database. SQLite runs in WAL mode with foreign keys on; `synchronous=NORMAL`
 * makes every commit durable against a crash of the process (kill -9) — the WAL is in the OS page
 * cache before the statement returns — while only a power loss may take the last commits back.
 */
export function openDatabase(target: DatabaseTarget): Db {
  if (target.kind === 'sqlite') {
    const onDisk = target.path !== ':memory:'
    if (onDisk) createPrivately(target.path)
    const database = new BetterSqlite3(target.path)
    database.pragma('journal_mode = WAL')
    if (onDisk) restrictFiles(target.path)
    database.pragma('synchronous = NORMAL')
    database.pragma('foreign_keys = ON')
    database.pragma('busy_timeout = 5000')
    // SQLite's lower() folds ASCII only; searches compare lower-cased text as PostgreSQL does.
    database.function('lower', { deterministic: true }, (text: unknown) =>
      typeof text === 'string' ? text.toLowerCase() : text,
    )
    return new Kysely<Database>({ dialect: new SqliteDialect({ database: reusingStatements(database) }) })
  }
  const pool = new (loadPg().Pool)({ connectionString: target.url, max: 10, connectionTimeoutMillis: 5000 })
  // A client losing its server must not crash the process: the query in flight, or the next one,
  // reports the failure (as 503 UNAVAILABLE), and the pool replaces the client.
  pool.on('error', () => undefined)
  pool.on('connect', (client) => client.on('error', () => undefined))
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) })
}

/**
 * The database holds password hashes and private keys: a directory made for it is the service
 * user's only (0700), and the file is created 0600 before SQLite opens it, with no moment at
 * which another user could open it.
 */
function createPrivately(path: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
  try {
    closeSync(openSync(path, 'wx', 0o600))
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
  }
}

/**
 * A file made by an earlier version may be readable by others: it is narrowed to 0600, with its
 * `-wal` and `-shm` (SQLite gives those the main file's mode when it makes them).
 */
function restrictFiles(path: string): void {
  for (const file of [path, `${path}-wal`, `${path}-shm`]) {
    if (existsSync(file)) chmodSync(file, 0o600)
  }
}

/** Distinct SQL texts kept compiled; Kysely's SQL has one text per query shape, so few are needed. */
const STATEMENT_CACHE_SIZE = 500

/**
 * Kysely prepares every query it runs, and better-sqlite3 compiles the SQL on each `prepare`.
 * Statements are reusable — the driver is synchronous, so one statement never serves two queries at
 * once (except while iterating, when it is `busy` and a fresh one is made) — so each SQL text is
 * compiled once: prepared statements, without changing a query.
 */
function reusingStatements(database: BetterSqlite3.Database): SqliteDatabase {
  const statements = new Map<string, BetterSqlite3.Statement>()
  return {
    close: () => database.close(),
    prepare: (text) => {
      const cached = statements.get(text)
      if (cached && !cached.busy) return cached
      const statement = database.prepare(text)
      if (!cached) {
        statements.set(text, statement)
        const oldest = statements.keys().next()
        if (statements.size > STATEMENT_CACHE_SIZE && oldest.done !== true) statements.delete(oldest.value)
      }
      return statement
    },
  }
}

/** One cheap round trip, for readiness checks. */
export async function pingDatabase(db: Db): Promise<void> {
  await sql`select 1`.execute(db)
}

/** True when `error` is the database refusing a duplicate in a unique column. */
export function isUniqueViolation(error: unknown): boolean {
  if (typeof error !== 'object' || error === null || !('code' in error)) return false
  const { code } = error
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY'
}

/** PostgreSQL's connection-exception class (SQLSTATE 08…) and shutdown codes, and socket failures. */
const UNAVAILABLE_CODES =
  /^(08...|57P0[123]|53300|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|SQLITE_BUSY)$/

/** True when `error` says the database cannot be reached right now, rather than that a query is wrong. */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false
  const { code, message } = error as { code?: unknown; message?: unknown }
  if (typeof code === 'string' && UNAVAILABLE_CODES.test(code)) return true
  return (
    typeof message === 'string' &&
    /^(Connection terminated|timeout exceeded when trying to connect)/.test(message)
  )
}
