import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, describe, it } from 'node:test'
import {
  createTestDatabase,
  REDIS_URL,
  sharedServicesSkip,
  type TestDatabase,
} from '../../support/databases.ts'
import { uniqueEmail } from '../../support/harness.ts'
import { cleanupProcesses, request, startGatehouse } from '../../support/process.ts'

describe('Rate limits across two real instances sharing Redis', { skip: await sharedServicesSkip() }, () => {
  let database: TestDatabase | undefined
  after(async () => {
    await cleanupProcesses()
    await database?.drop()
  })

  it('spends one login budget per client address across both instances', async () => {
    database = await createTestDatabase('postgres')
    const env = {
      DATABASE_URL: database.url,
      REDIS_URL,
      REDIS_KEY_PREFIX: `test:${randomUUID()}:`,
      LOGIN_RATE_LIMIT: '4',
    }
    const first = await startGatehouse({ env })
    const second = await startGatehouse({ env })
    const statuses = []
    for (let i = 0; i < 6; i++) {
      const server = i % 2 === 0 ? first : second
      const response = await request(server.url, 'POST', '/auth/login', {
        body: { username: uniqueEmail(), password: 'wrong password' },
      })
      statuses.push(response.status)
      if (response.status === 429) assert.ok(Number(response.headers['retry-after']) >= 1)
    }
    assert.deepEqual(statuses, [401, 401, 401, 401, 429, 429])
  })
})
