import assert from 'node:assert/strict'
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { sql } from 'kysely'
import { openDatabase } from '../../../src/platform/storage/database.ts'

const modeOf = (path: string) => statSync(path).mode & 0o777

describe('The SQLite database on disk', () => {
  const root = mkdtempSync(join(tmpdir(), 'gatehouse-files-'))
  after(() => rmSync(root, { recursive: true, force: true }))

  it('is readable by the service’s user only: a new directory 0700, the file, -wal and -shm 0600', async () => {
    const path = join(root, 'new', 'data', 'gatehouse.db')
    const previous = process.umask(0o022)
    try {
      const db = openDatabase({ kind: 'sqlite', path })
      await sql`create table t (x integer)`.execute(db)
      await sql`insert into t values (1)`.execute(db)
      for (const file of [path, `${path}-wal`, `${path}-shm`]) assert.equal(modeOf(file), 0o600, file)
      assert.equal(modeOf(join(root, 'new', 'data')), 0o700)
      assert.equal(modeOf(join(root, 'new')), 0o700)
      await db.destroy()
    } finally {
      process.umask(previous)
    }
  })

  it('narrows a database file left readable by others to 0600, and leaves an existing directory alone', async () => {
    const path = join(root, 'gatehouse.db')
    writeFileSync(path, '')
    chmodSync(path, 0o644)
    chmodSync(root, 0o755)
    const db = openDatabase({ kind: 'sqlite', path })
    await sql`create table t (x integer)`.execute(db)
    for (const file of [path, `${path}-wal`, `${path}-shm`]) assert.equal(modeOf(file), 0o600, file)
    assert.equal(modeOf(root), 0o755)
    await db.destroy()
  })
})
