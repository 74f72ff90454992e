import { randomUUID } from 'node:crypto'
import { insertPersonalToken } from '../../src/identity/personal-access-tokens/store.ts'
import { isoAt } from '../../src/platform/clock.ts'
import { hashOpaqueToken, newOpaqueToken } from '../../src/platform/crypto/opaque-tokens.ts'
import type { TestApp } from './harness.ts'

/** A personal access token of `userId`, straight into the store (for suites of other routes that need one). */
export async function storedPersonalToken(t: TestApp, userId: string, scope = 'profile') {
  const token = `gatehouse_pat_${newOpaqueToken()}`
  const id = randomUUID()
  await insertPersonalToken(t.context.db, {
    id,
    userId,
    name: 'ci',
    tokenHash: hashOpaqueToken(token),
    scope,
    createdAt: isoAt(t.clock.now()),
    expiresAt: isoAt(t.clock.now() + 86_400_000),
    lastUsedAt: null,
  })
  return { token, id }
}
