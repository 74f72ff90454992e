import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { STRONG_PASSWORD, uniqueEmail } from '../support/harness.ts'
import {
  cleanupProcesses,
  request,
  startGatehouse,
  tempDir,
  type RunningGatehouse,
} from '../support/process.ts'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const execFileAsync = promisify(execFile)

// The bundle is what production runs, and bundling can break what the source-run suites cannot see:
// a package reading its own files, a native addon, the hashing threads' separate entry point.
describe('npm run build (dist/, what npm start and the gatehouse command run)', () => {
  let server: RunningGatehouse
  let cwd: string
  before(async () => {
    await execFileAsync('npm', ['run', 'build', '--silent'], { cwd: ROOT })
    cwd = tempDir()
    server = await startGatehouse({ cwd, built: true })
  })
  after(cleanupProcesses)

  it('serves /health and /ready', async () => {
    assert.equal((await request(server.url, 'GET', '/health')).status, 200)
    assert.equal((await request(server.url, 'GET', '/ready')).json().status, 'ready')
  })

  it('signs up and logs in, hashing on its threads, and the token opens /me', async () => {
    const email = uniqueEmail()
    const signup = await request(server.url, 'POST', '/auth/signup', {
      body: { email, password: STRONG_PASSWORD },
    })
    assert.equal(signup.status, 201, signup.body)
    const login = await request(server.url, 'POST', '/auth/login', {
      body: { username: email, password: STRONG_PASSWORD },
    })
    assert.equal(login.status, 200, login.body)
    const me = await request(server.url, 'GET', '/me', {
      headers: { authorization: `Bearer ${String(login.json().access_token)}` },
    })
    assert.equal(me.json().email, email)
  })

  it('refuses a common password with the list loaded from node_modules', async () => {
    const signup = await request(server.url, 'POST', '/auth/signup', {
      body: { email: uniqueEmail(), password: 'password123' },
    })
    assert.equal(signup.status, 422)
    assert.match(signup.body, /too common/)
  })

  it('serves the OpenAPI document and Swagger UI with its assets', async () => {
    const openapi = await request(server.url, 'GET', '/openapi.json')
    assert.equal(openapi.json().openapi, '3.1.0')
    assert.equal((await request(server.url, 'GET', '/docs/')).status, 200)
    const bundle = await request(server.url, 'GET', '/docs/static/swagger-ui-bundle.js')
    assert.equal(bundle.status, 200)
    assert.ok(bundle.body.length > 100_000)
  })

  it('runs the command line on the same database', async () => {
    const { stdout } = await execFileAsync(process.execPath, [join(ROOT, 'dist', 'cli.js'), 'keys', 'list'], {
      cwd,
    })
    assert.match(stdout, /RS256\s+signing/)
  })
})
