import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect } from 'node:net'
import pg from 'pg'

/** Where the PostgreSQL suites create their throwaway databases. */
export const POSTGRES_ADMIN_URL = process.env.TEST_POSTGRES_URL ?? 'postgres://root@127.0.0.1:5432/test'
/** The Redis the multi-instance suites share. */
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'
/** CI sets this so that a missing service fails the run instead of skipping its suites. */
export const REQUIRE_SERVICES = process.env.REQUIRE_SERVICES === '1'

export type DatabaseKind = 'sqlite' | 'postgres'

export interface TestDatabase {
  kind: DatabaseKind
  /** A `DATABASE_URL` for a database that exists only for this test file. */
  url: string
  drop(): Promise<void>
}

async function postgresReachable(): Promise<boolean> {
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL, connectionTimeoutMillis: 2000 })
  try {
    await client.connect()
    return true
  } catch {
    return false
  } finally {
    await client.end().catch(() => undefined)
  }
}

/**
 * The databases every storage suite runs on: SQLite always, PostgreSQL when it answers. Without
 * REQUIRE_SERVICES a missing server skips its suites with the reason; with it, they fail.
 */
export async function databaseKinds(): Promise<{ kind: DatabaseKind; skip: string | false }[]> {
  const postgresUp = REQUIRE_SERVICES || (await postgresReachable())
  return [
    { kind: 'sqlite', skip: false },
    { kind: 'postgres', skip: postgresUp ? false : `PostgreSQL not reachable at ${POSTGRES_ADMIN_URL}` },
  ]
}

export async function createTestDatabase(kind: DatabaseKind): Promise<TestDatabase> {
  if (kind === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-test-'))
    return {
      kind,
      url: `sqlite:${join(dir, 'gatehouse.db')}`,
      drop: () => {
        rmSync(dir, { recursive: true, force: true })
        return Promise.resolve()
      },
    }
  }
  const name = `gatehouse_test_${process.pid}_${randomBytes(4).toString('hex')}`
  const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL })
  await admin.connect()
  try {
    await admin.query(`create database ${name}`)
  } finally {
    await admin.end()
  }
  const url = new URL(POSTGRES_ADMIN_URL)
  url.pathname = `/${name}`
  return {
    kind,
    url: url.toString(),
    drop: async () => {
      const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL })
      await client.connect()
      try {
        await client.query(`drop database if exists ${name} with (force)`)
      } finally {
        await client.end()
      }
    },
  }
}

async function redisReachable(): Promise<boolean> {
  const { hostname, port } = new URL(REDIS_URL)
  return new Promise((resolve) => {
    const socket = connect(Number(port || 6379), hostname)
    socket.setTimeout(2000)
    socket.once('connect', () => {
      socket.end()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
    socket.once('timeout', () => {
      socket.destroy()
      resolve(false)
    })
  })
}

/** False when PostgreSQL and Redis both answer (or must, under REQUIRE_SERVICES); else the reason to skip. */
export async function sharedServicesSkip(): Promise<string | false> {
  if (REQUIRE_SERVICES) return false
  if (!(await postgresReachable())) return `PostgreSQL not reachable at ${POSTGRES_ADMIN_URL}`
  if (!(await redisReachable())) return `Redis not reachable at ${REDIS_URL}`
  return false
}
