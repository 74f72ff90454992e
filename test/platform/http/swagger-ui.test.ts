import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { after, before, describe, it } from 'node:test'
import { chromium, type Browser, type BrowserContext, type Request } from 'playwright-core'
import { registerClient } from '../../support/clients.ts'
import { REQUIRE_SERVICES, createTestDatabase, type TestDatabase } from '../../support/databases.ts'
import {
  STRONG_PASSWORD,
  startTestApp,
  stopTestApp,
  uniqueEmail,
  type TestApp,
} from '../../support/harness.ts'

/** Debian's Chromium; browser downloads (`npx playwright install`) are not possible here. */
const CHROMIUM = '/usr/bin/chromium'
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-sync',
  '--disable-background-networking',
  '--disable-component-update',
]
const STEP_TIMEOUT_MS = 15_000

const missing = existsSync(CHROMIUM) ? undefined : `Chromium is not installed at ${CHROMIUM}`

describe(
  'GET /docs (Swagger UI in Chromium)',
  { skip: REQUIRE_SERVICES ? false : (missing ?? false) },
  () => {
    let database: TestDatabase | undefined
    let testApp: TestApp | undefined
    let browser: Browser | undefined
    let context: BrowserContext | undefined
    let baseUrl = ''
    const email = uniqueEmail('swagger')

    before(
      async () => {
        if (missing) throw new Error(`${missing} (REQUIRE_SERVICES=1)`)
        database = await createTestDatabase('sqlite')
        testApp = await startTestApp(database)
        baseUrl = await testApp.app.listen({ port: 0, host: '127.0.0.1' })
        const signup = await testApp.app.inject({
          method: 'POST',
          url: '/auth/signup',
          payload: { email, password: STRONG_PASSWORD },
        })
        assert.equal(signup.statusCode, 201, signup.body)
        browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 30_000 })
        context = await browser.newContext()
        context.setDefaultTimeout(STEP_TIMEOUT_MS)
        context.setDefaultNavigationTimeout(STEP_TIMEOUT_MS)
      },
      { timeout: 60_000 },
    )
    after(async () => {
      await context?.close()
      await browser?.close()
      if (testApp) await stopTestApp(testApp)
      await database?.drop()
    })

    it(
      'logs in with the OAuth2 password flow through POST /auth/token and calls GET /me with the token',
      {
        timeout: 120_000,
      },
      async () => {
        const page = await context!.newPage()
        const requests: Request[] = []
        page.on('request', (request) => requests.push(request))

        await page.goto(`${baseUrl}/docs`)
        await page.getByRole('button', { name: 'Authorize', exact: true }).click()

        const dialog = page.locator('.modal-ux')
        await dialog.getByText('OAuth2PasswordBearer (OAuth2, password)').waitFor()
        // The scheme offers the client-credentials flow too, in a form of its own.
        const passwordFlow = dialog.locator('.auth-container').filter({ hasText: '(OAuth2, password)' })
        await dialog.getByText('OAuth2PasswordBearer (OAuth2, clientCredentials)').waitFor()
        await passwordFlow.getByLabel('username:', { exact: true }).fill(email)
        await passwordFlow.getByLabel('password:', { exact: true }).fill(STRONG_PASSWORD)
        const [tokenResponse] = await Promise.all([
          page.waitForResponse((response) => new URL(response.url()).pathname === '/auth/token'),
          passwordFlow.getByRole('button', { name: 'Apply given OAuth2 credentials' }).click(),
        ])
        // Swagger UI also sends `Authorization: Basic` for its (empty) client credentials; the
        // endpoint takes no client authentication and must ignore it.
        const tokenRequest = tokenResponse.request()
        assert.equal(tokenRequest.method(), 'POST')
        assert.match(tokenRequest.headers()['content-type'] ?? '', /^application\/x-www-form-urlencoded/)
        assert.equal(new URLSearchParams(tokenRequest.postData() ?? '').get('grant_type'), 'password')
        assert.equal(tokenResponse.status(), 200, await tokenResponse.text())

        // Authorized: the Logout button (named by its aria-label) replaces Authorize.
        const logout = passwordFlow.getByRole('button', { name: 'Remove authorization' })
        await logout.waitFor()
        assert.equal(await logout.innerText(), 'Logout')
        assert.ok(await passwordFlow.getByText('Authorized', { exact: true }).isVisible())
        await passwordFlow.getByRole('button', { name: 'Close', exact: true }).click()
        await dialog.waitFor({ state: 'detached' })

        const getMe = page.locator('.opblock.opblock-get').filter({ has: page.locator('[data-path="/me"]') })
        await getMe.locator('.opblock-summary-control').click()
        // `tryItOutEnabled` may already have switched the form on, leaving "Cancel" in its place.
        const tryItOut = getMe.getByRole('button', { name: /^(Try it out|Cancel)$/ })
        if ((await tryItOut.innerText()) === 'Try it out') await tryItOut.click()
        const [meResponse] = await Promise.all([
          page.waitForResponse((response) => new URL(response.url()).pathname === '/me'),
          getMe.getByRole('button', { name: 'Execute' }).click(),
        ])
        assert.match(meResponse.request().headers().authorization ?? '', /^Bearer [\w.-]+$/)
        assert.equal(meResponse.status(), 200)

        const result = getMe.locator('.live-responses-table tbody tr.response')
        await result.waitFor()
        assert.equal((await result.locator('.response-col_status').innerText()).trim(), '200')
        const body = await result.locator('.response-col_description .highlight-code pre').innerText()
        assert.equal((JSON.parse(body) as { email: string }).email, email)

        const outside = requests
          .map((request) => request.url())
          .filter((url) => !url.startsWith(`${baseUrl}/`))
        assert.deepEqual(
          outside.filter((url) => /^(https?|wss?):/.test(url)),
          [],
          'the docs load nothing from outside the app',
        )
      },
    )

    it(
      "gets a machine client's token with the client-credentials flow through POST /auth/token",
      { timeout: 120_000 },
      async () => {
        const client = await registerClient(testApp!, { scopes: ['introspect'] })
        const page = await context!.newPage()
        await page.goto(`${baseUrl}/docs`)
        await page.getByRole('button', { name: 'Authorize', exact: true }).click()
        const dialog = page.locator('.modal-ux')
        const clientFlow = dialog
          .locator('.auth-container')
          .filter({ hasText: '(OAuth2, clientCredentials)' })
        await clientFlow.waitFor()
        await clientFlow.getByLabel('client_id:', { exact: true }).fill(client.clientId)
        await clientFlow.getByLabel('client_secret:', { exact: true }).fill(client.secret)
        const [tokenResponse] = await Promise.all([
          page.waitForResponse((response) => new URL(response.url()).pathname === '/auth/token'),
          clientFlow.getByRole('button', { name: 'Apply given OAuth2 credentials' }).click(),
        ])
        const sent = new URLSearchParams(tokenResponse.request().postData() ?? '')
        assert.equal(sent.get('grant_type'), 'client_credentials')
        assert.equal(tokenResponse.status(), 200, await tokenResponse.text())
        await clientFlow.getByRole('button', { name: 'Remove authorization' }).waitFor()
      },
    )
  },
)
