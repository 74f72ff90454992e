import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'
import Fastify, { type RouteOptions } from 'fastify'
import type { RouteGuard } from '../../src/identity/guard/route-guards.ts'
import { ROUTES } from '../../src/routes.ts'
import { createTestDatabase, type TestDatabase } from '../support/databases.ts'
import { startTestApp, stopTestApp, type TestApp } from '../support/harness.ts'

const README = path.resolve(import.meta.dirname, '../../README.md')

function describeGuard(guard: RouteGuard | undefined): string {
  switch (guard?.kind) {
    case undefined:
      return '—'
    case 'authenticated':
      return 'bearer'
    case 'session':
      return 'bearer from a login'
    case 'scope':
      return `bearer, scope \`${guard.scope}\``
    case 'role':
      return `role \`${guard.role}\`${guard.scope === undefined ? '' : `, scope \`${guard.scope}\``}`
    case 'secret':
      return `\`${guard.name}\` (when set)`
  }
}

/** The route table as the README shows it, from what each feature's routes declare. */
async function declaredRoutes(
  t: TestApp,
): Promise<{ table: string; routes: { method: string; url: string }[] }> {
  const rows: string[] = []
  const routes: { method: string; url: string }[] = []
  for (const { feature, prefix, routes: plugin } of ROUTES) {
    const app = Fastify()
    app.addHook('onRoute', (route: RouteOptions) => {
      if (route.method === 'HEAD') return
      const url = route.url.replaceAll(/:(\w+)/g, '{$1}')
      const methods = [route.method].flat().join(', ')
      const { guard, limit } = route.config ?? {}
      for (const method of [route.method].flat()) routes.push({ method, url: route.url })
      rows.push(`| \`${methods} ${url}\` | ${feature} | ${describeGuard(guard)} | ${limit ?? '—'} |`)
    })
    await app.register(plugin(t.context), { prefix })
    await app.close()
  }
  const table = ['| route | feature | guard | limit per address |', '| --- | --- | --- | --- |', ...rows]
  return { table: table.join('\n'), routes }
}

describe('The route table (src/routes.ts)', () => {
  let database: TestDatabase | undefined
  let testApp: TestApp | undefined

  before(async () => {
    database = await createTestDatabase('sqlite')
    testApp = await startTestApp(database, { env: { METRICS_TOKEN: 'm'.repeat(32) } })
  })
  after(async () => {
    if (testApp) await stopTestApp(testApp)
    await database?.drop()
  })

  it('is the README’s, route by route, with the guard and limit each declares', async () => {
    const readme = readFileSync(README, 'utf8')
    const documented = /<!-- routes:start -->\s*\n([\s\S]*?)\n\s*<!-- routes:end -->/.exec(readme)?.[1] ?? ''
    const normalize = (table: string) =>
      table
        .split('\n')
        .map((line) => line.replaceAll(/\s*\|\s*/g, '|').replaceAll(/-{3,}/g, '---'))
        .join('\n')
    const { table: expected } = await declaredRoutes(testApp!)
    assert.equal(
      normalize(documented),
      normalize(expected),
      `the README's route table should read:\n${expected}`,
    )
  })

  it('is what the app serves', async () => {
    const { routes } = await declaredRoutes(testApp!)
    assert.ok(routes.length >= 30)
    const missing = routes.filter((route) => !testApp!.app.hasRoute(route))
    assert.deepEqual(missing, [])
  })
})
