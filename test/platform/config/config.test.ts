import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { loadConfig, readEnvironment } from '../../../src/platform/config/config.ts'
import { parseDuration } from '../../../src/platform/config/duration.ts'
import { problemsOf } from '../../support/config.ts'

const SECRET = 'k3Y!9vQ#2mZ@7xR$4tW%8pL^6nB&1cF*0hJ'
const SECRETS_KEY = randomBytes(32).toString('base64')
/** A production configuration that starts; each production test changes one thing in it. */
const PRODUCTION = {
  NODE_ENV: 'production',
  PUBLIC_URL: 'https://auth.example.com',
  JWT_ISSUER: 'https://auth.example.com',
  SMTP_URL: 'smtps://mailer:secret@smtp.example.com:465',
  SECRETS_KEY,
}
const without = (env: Record<string, string>, name: string): Record<string, string> =>
  Object.fromEntries(Object.entries(env).filter(([key]) => key !== name))

describe('Configuration', () => {
  it('has defaults that run on a fresh machine', () => {
    const config = loadConfig({})
    assert.equal(config.port, 8000)
    assert.equal(config.host, '127.0.0.1')
    assert.deepEqual(config.database, { kind: 'sqlite', path: './data/gatehouse.db' })
    assert.equal(config.redisUrl, undefined)
    assert.deepEqual(config.jwt, {
      algorithm: 'RS256',
      secret: undefined,
      issuer: 'gatehouse',
      audience: 'gatehouse',
    })
    assert.equal(config.accessTokenTtlSeconds, 900)
    assert.equal(config.refreshTokenTtlSeconds, 7 * 86400)
    assert.equal(config.refreshReuseGraceSeconds, 10)
    assert.equal(config.sessionLifetimeSeconds, 30 * 86400)
    assert.equal(config.patMaxTtlSeconds, 90 * 86400)
    assert.deepEqual(config.rateLimits, { loginPerMinute: 10, signupPerMinute: 20, mailPerMinute: 5 })
    assert.equal(config.admin, undefined)
    assert.equal(config.trustProxy, false)
    assert.equal(config.logLevel, 'info')
    assert.equal(config.production, false)
  })

  it('refuses a PAT_MAX_TTL under a minute, the shortest lifetime a personal access token may ask for', () => {
    assert.deepEqual(problemsOf({ PAT_MAX_TTL: '59s' }), ['PAT_MAX_TTL: at least 60 s (1m), got 59 s'])
    assert.match(problemsOf({ PAT_MAX_TTL: 'forever' })[0]!, /^PAT_MAX_TTL: expected a positive number/)
    assert.equal(loadConfig({ PAT_MAX_TTL: '60' }).patMaxTtlSeconds, 60)
  })

  it('is frozen, all the way down', () => {
    const config = loadConfig({})
    assert.ok(Object.isFrozen(config))
    assert.ok(Object.isFrozen(config.jwt))
    assert.throws(() => {
      ;(config.jwt as { issuer: string }).issuer = 'x'
    }, TypeError)
  })

  it('reads every variable of the contract', () => {
    const config = loadConfig({
      PORT: '9000',
      HOST: '0.0.0.0',
      DATABASE_URL: 'postgres://app@db:5432/gatehouse',
      REDIS_URL: 'redis://cache:6379',
      JWT_ALG: 'HS256',
      JWT_SECRET: SECRET,
      JWT_ISSUER: 'https://auth.example.com',
      JWT_AUDIENCE: 'api',
      ACCESS_TOKEN_TTL: '5m',
      REFRESH_TOKEN_TTL: '30d',
      REFRESH_REUSE_GRACE: '0',
      SESSION_LIFETIME: '90d',
      PAT_MAX_TTL: '30d',
      LOGIN_RATE_LIMIT: '3',
      SIGNUP_RATE_LIMIT: '4',
      MAIL_RATE_LIMIT: '2',
      ADMIN_EMAIL: 'root@example.com',
      ADMIN_PASSWORD: 'an admin passphrase',
      SMTP_URL: 'smtp://user:pass@mail:587',
      MAIL_FROM: 'Gatehouse <no-reply@example.com>',
      PUBLIC_URL: 'https://auth.example.com',
      TRUST_PROXY: '10.0.0.0/8, 127.0.0.1',
      LOG_LEVEL: 'warn',
    })
    assert.equal(config.port, 9000)
    assert.equal(config.host, '0.0.0.0')
    assert.deepEqual(config.database, { kind: 'postgres', url: 'postgres://app@db:5432/gatehouse' })
    assert.equal(config.redisUrl, 'redis://cache:6379')
    assert.deepEqual(config.jwt, {
      algorithm: 'HS256',
      secret: SECRET,
      issuer: 'https://auth.example.com',
      audience: 'api',
    })
    assert.equal(config.accessTokenTtlSeconds, 300)
    assert.equal(config.refreshTokenTtlSeconds, 30 * 86400)
    assert.equal(config.refreshReuseGraceSeconds, 0)
    assert.equal(config.sessionLifetimeSeconds, 90 * 86400)
    assert.equal(config.patMaxTtlSeconds, 30 * 86400)
    assert.deepEqual(config.rateLimits, { loginPerMinute: 3, signupPerMinute: 4, mailPerMinute: 2 })
    assert.deepEqual(config.admin, { email: 'root@example.com', password: 'an admin passphrase' })
    assert.deepEqual(config.mail, {
      smtpUrl: 'smtp://user:pass@mail:587',
      from: 'Gatehouse <no-reply@example.com>',
      publicUrl: 'https://auth.example.com',
    })
    assert.deepEqual(config.trustProxy, ['10.0.0.0/8', '127.0.0.1'])
    assert.equal(config.logLevel, 'warn')
  })

  it('names the variable and what it accepts for every wrong value, all at once', () => {
    const problems = problemsOf({
      PORT: 'eighty',
      DATABASE_URL: 'mysql://x',
      JWT_ALG: 'none',
      ACCESS_TOKEN_TTL: '15 minutes',
      REFRESH_TOKEN_TTL: '0',
      LOGIN_RATE_LIMIT: '-1',
      LOG_LEVEL: 'loud',
      REDIS_URL: 'http://cache',
      TRUST_PROXY: 'everyone',
    })
    for (const name of [
      'PORT',
      'DATABASE_URL',
      'JWT_ALG',
      'ACCESS_TOKEN_TTL',
      'REFRESH_TOKEN_TTL',
      'LOGIN_RATE_LIMIT',
      'LOG_LEVEL',
      'REDIS_URL',
      'TRUST_PROXY',
    ]) {
      assert.ok(
        problems.some((p) => p.startsWith(`${name}:`)),
        `${name} in ${problems.join(' | ')}`,
      )
    }
    assert.ok(problems.find((p) => p.startsWith('JWT_ALG'))!.includes('RS256, ES256, EdDSA, HS256'))
  })

  it('refuses HS256 without a secret of at least 32 bytes', () => {
    assert.match(problemsOf({ JWT_ALG: 'HS256' })[0]!, /^JWT_SECRET: required/)
    assert.match(
      problemsOf({ JWT_ALG: 'HS256', JWT_SECRET: 'x'.repeat(31) })[0]!,
      /^JWT_SECRET: must be at least 32 bytes/,
    )
    assert.equal(loadConfig({ JWT_ALG: 'HS256', JWT_SECRET: 'x'.repeat(32) }).jwt.secret, 'x'.repeat(32))
  })

  it('reads the additions to the contract: ROLE_SCOPES, AUDIT_RETENTION, CORS_ORIGINS, REDIS_KEY_PREFIX', () => {
    const config = loadConfig({
      ROLE_SCOPES: '{"user": ["profile"], "admin": ["profile", "admin"], "support": ["profile", "admin"]}',
      AUDIT_RETENTION: '30d',
      CORS_ORIGINS: 'https://app.example.com, http://localhost:5173',
      REDIS_KEY_PREFIX: 'auth-eu:',
    })
    assert.deepEqual(config.roleScopes, {
      user: ['profile'],
      admin: ['profile', 'admin'],
      support: ['profile', 'admin'],
    })
    assert.equal(config.auditRetentionSeconds, 30 * 86400)
    assert.deepEqual(config.corsOrigins, ['https://app.example.com', 'http://localhost:5173'])
    assert.equal(config.redisKeyPrefix, 'auth-eu:')
    assert.deepEqual(loadConfig({}).corsOrigins, [])
    assert.equal(loadConfig({}).redisKeyPrefix, 'gatehouse:')
  })

  it('refuses a malformed ROLE_SCOPES, a wildcard or path in CORS_ORIGINS, and a bad REDIS_KEY_PREFIX', () => {
    for (const [name, value] of [
      ['ROLE_SCOPES', 'not json'],
      ['ROLE_SCOPES', '{"user": "profile", "admin": []}'],
      ['ROLE_SCOPES', '{"admin": ["admin"]}'],
      ['CORS_ORIGINS', '*'],
      ['CORS_ORIGINS', 'https://app.example.com/path'],
      ['REDIS_KEY_PREFIX', 'has space'],
    ] as const) {
      const problems = problemsOf({ [name]: value })
      assert.ok(
        problems.some((p) => p.startsWith(`${name}:`)),
        `${name}=${value}: ${problems.join(' | ')}`,
      )
    }
  })

  it('finds ROLE_SCOPES roles by own keys only, and refuses a __proto__ role', () => {
    const problems = problemsOf({
      ROLE_SCOPES: '{"__proto__": ["admin"], "user": ["profile"], "admin": ["admin"]}',
    })
    assert.ok(
      problems.some((p) => p.startsWith('ROLE_SCOPES:')),
      problems.join(' | '),
    )
    const inherited = problemsOf({ ROLE_SCOPES: '{"constructor": ["profile"], "admin": ["admin"]}' })
    assert.ok(
      inherited.some((p) => p.startsWith('ROLE_SCOPES:')),
      'no "user" role: refused',
    )
    const { roleScopes } = loadConfig({
      ROLE_SCOPES: '{"user": ["profile"], "admin": ["admin"], "constructor": ["profile"]}',
    })
    assert.deepEqual(
      roleScopes.constructor,
      ['profile'],
      'an own key named constructor is a role like any other',
    )
  })

  it('needs ADMIN_EMAIL and ADMIN_PASSWORD together', () => {
    assert.match(problemsOf({ ADMIN_EMAIL: 'a@b.co' })[0]!, /ADMIN_EMAIL, ADMIN_PASSWORD/)
  })

  it('refuses unsafe settings when NODE_ENV=production', () => {
    const safe = PRODUCTION
    assert.equal(loadConfig(safe).production, true)
    assert.match(
      problemsOf({ ...safe, PUBLIC_URL: 'http://auth.example.com' })[0]!,
      /^PUBLIC_URL: must be https/,
    )
    assert.match(problemsOf({ NODE_ENV: 'production' })[0]!, /^PUBLIC_URL: required in production/)
    assert.match(problemsOf({ ...safe, TRUST_PROXY: 'true' })[0]!, /^TRUST_PROXY/)
    assert.match(
      problemsOf({ ...safe, JWT_ALG: 'HS256', JWT_SECRET: 'a'.repeat(40) })[0]!,
      /^JWT_SECRET: too predictable/,
    )
    assert.equal(loadConfig({ ...safe, JWT_ALG: 'HS256', JWT_SECRET: SECRET }).jwt.algorithm, 'HS256')
  })

  it('refuses to run production without SECRETS_KEY, which would leave private signing keys readable in the database', () => {
    const problems = problemsOf(without(PRODUCTION, 'SECRETS_KEY'))
    assert.equal(problems.length, 1)
    assert.match(problems[0]!, /^SECRETS_KEY: required in production/)
  })

  it('refuses SMTP in the clear to a remote server in production, which would send passwords and every link unencrypted', () => {
    for (const url of [
      'smtp://mailer:secret@smtp.example.com:587',
      'smtp://smtp.example.com:25',
      'smtp://mailer:secret@smtp.example.com:587?requireTLS=false',
      'smtp://mailer:secret@smtp.example.com:587?requireTLS=1',
      'smtp://10.0.0.5:25',
    ]) {
      const problems = problemsOf({ ...PRODUCTION, SMTP_URL: url })
      assert.equal(problems.length, 1, `${url}: ${problems.join(' | ')}`)
      assert.match(problems[0]!, /^SMTP_URL: sends mail unencrypted in production/)
      assert.match(problems[0]!, /smtps:\/\/.*requireTLS=true/)
      assert.ok(!problems[0]!.includes('secret'), 'the password is not in the message')
    }
    for (const url of [
      'smtps://mailer:secret@smtp.example.com:465',
      'smtp://mailer:secret@smtp.example.com:587?requireTLS=true',
      'smtp://localhost:25',
      'smtp://127.0.0.1:1025',
      'smtp://[::1]:25',
    ]) {
      assert.equal(loadConfig({ ...PRODUCTION, SMTP_URL: url }).mail.smtpUrl, url)
    }
  })

  it('refuses production without SMTP_URL, which would write every reset and verification link to ./data/outbox', () => {
    const problems = problemsOf(without(PRODUCTION, 'SMTP_URL'))
    assert.equal(problems.length, 1, problems.join(' | '))
    assert.match(problems[0]!, /^SMTP_URL: required in production/)
  })

  it('refuses a REFRESH_REUSE_GRACE over 60 s in production, a window in which a stolen refresh token is replayed without detection', () => {
    const problems = problemsOf({ ...PRODUCTION, REFRESH_REUSE_GRACE: '61s' })
    assert.equal(problems.length, 1, problems.join(' | '))
    assert.match(problems[0]!, /^REFRESH_REUSE_GRACE: at most 60 s in production, got 61 s/)
    assert.match(problemsOf({ ...PRODUCTION, REFRESH_REUSE_GRACE: '1h' })[0]!, /^REFRESH_REUSE_GRACE/)
    assert.equal(loadConfig({ ...PRODUCTION, REFRESH_REUSE_GRACE: '60s' }).refreshReuseGraceSeconds, 60)
    assert.equal(loadConfig({ ...PRODUCTION, REFRESH_REUSE_GRACE: '0' }).refreshReuseGraceSeconds, 0)
  })

  it('refuses an ACCESS_TOKEN_TTL over 1 h in production, the time a stolen access token keeps working', () => {
    const problems = problemsOf({ ...PRODUCTION, ACCESS_TOKEN_TTL: '3601' })
    assert.equal(problems.length, 1, problems.join(' | '))
    assert.match(problems[0]!, /^ACCESS_TOKEN_TTL: at most 1 h in production, got 3601 s/)
    assert.match(problemsOf({ ...PRODUCTION, ACCESS_TOKEN_TTL: '1d' })[0]!, /^ACCESS_TOKEN_TTL/)
    assert.equal(loadConfig({ ...PRODUCTION, ACCESS_TOKEN_TTL: '1h' }).accessTokenTtlSeconds, 3600)
  })

  it("refuses a JWT_ISSUER that is not the service's https:// URL with an empty path in production (RFC 8414 §3)", () => {
    for (const env of [
      without(PRODUCTION, 'JWT_ISSUER'),
      { ...PRODUCTION, JWT_ISSUER: 'gatehouse' },
      { ...PRODUCTION, JWT_ISSUER: 'http://auth.example.com' },
      { ...PRODUCTION, JWT_ISSUER: 'https://auth.example.com/' },
      { ...PRODUCTION, JWT_ISSUER: 'https://auth.example.com/gatehouse' },
      { ...PRODUCTION, JWT_ISSUER: 'https://auth.example.com?tenant=1' },
      { ...PRODUCTION, JWT_ISSUER: 'https://auth.example.com#top' },
      { ...PRODUCTION, JWT_ISSUER: 'https://admin@auth.example.com' },
      { ...PRODUCTION, JWT_ISSUER: 'https://auth.example.com:443' },
    ] as Record<string, string>[]) {
      const problems = problemsOf(env)
      assert.equal(problems.length, 1, `${env.JWT_ISSUER}: ${problems.join(' | ')}`)
      assert.match(problems[0]!, /^JWT_ISSUER: must be the service's https:\/\/ URL in production/)
    }
    for (const issuer of ['https://auth.example.com', 'https://auth.example.com:8443']) {
      assert.equal(loadConfig({ ...PRODUCTION, JWT_ISSUER: issuer }).jwt.issuer, issuer)
    }
    assert.equal(
      loadConfig({ JWT_ISSUER: 'gatehouse' }).jwt.issuer,
      'gatehouse',
      'allowed outside production',
    )
  })

  it('takes SECRETS_KEY only as exactly 32 bytes of base64, and never repeats it in a message', () => {
    assert.equal(loadConfig({}).secretsKey, undefined)
    assert.equal(loadConfig({ SECRETS_KEY }).secretsKey, SECRETS_KEY)
    const urlSafe = Buffer.from(SECRETS_KEY, 'base64').toString('base64url')
    assert.equal(loadConfig({ SECRETS_KEY: urlSafe }).secretsKey, urlSafe)
    const short = randomBytes(16).toString('base64')
    for (const [raw, said] of [
      [short, /got 16 bytes$/],
      [randomBytes(33).toString('base64'), /got 33 bytes$/],
      ['a passphrase, not a key!', /not base64$/],
    ] as const) {
      const [problem, ...rest] = problemsOf({ SECRETS_KEY: raw })
      assert.deepEqual(rest, [])
      assert.match(problem!, /^SECRETS_KEY: expected 32 random bytes in base64/)
      assert.match(problem!, said)
      assert.ok(!problem!.includes(raw), 'the value is not in the message')
    }
  })

  it('reads the additions METRICS_TOKEN and DOCS', () => {
    assert.equal(loadConfig({}).metricsToken, undefined)
    assert.equal(loadConfig({}).docs, true)
    const token = randomBytes(32).toString('base64')
    assert.equal(loadConfig({ METRICS_TOKEN: token }).metricsToken, token)
    assert.equal(loadConfig({ DOCS: 'false' }).docs, false)
    assert.match(problemsOf({ DOCS: 'off' })[0]!, /^DOCS: expected true or false/)
  })

  it('refuses a METRICS_TOKEN shorter than 32 characters or not fit for a Bearer header, never repeating it', () => {
    for (const [raw, said] of [
      ['a-short-metrics-token', /got 21 characters$/],
      [`${'x'.repeat(40)} with spaces`, /got other characters$/],
      [`${'x'.repeat(40)}"`, /got other characters$/],
    ] as const) {
      const [problem, ...rest] = problemsOf({ METRICS_TOKEN: raw })
      assert.deepEqual(rest, [])
      assert.match(problem!, /^METRICS_TOKEN: expected 32 to 512 characters/)
      assert.match(problem!, said)
      assert.ok(!problem!.includes(raw), 'the value is not in the message')
    }
  })

  it('reads .env from the working directory, under the real environment', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-env-'))
    writeFileSync(join(dir, '.env'), 'PORT=9100\nJWT_ISSUER="from-file"\n# a comment\n')
    const env = readEnvironment({ JWT_ISSUER: 'from-env' }, dir)
    const config = loadConfig(env)
    assert.equal(config.port, 9100)
    assert.equal(config.jwt.issuer, 'from-env')
  })

  it('never shows a database password in its message', () => {
    const [problem] = problemsOf({ DATABASE_URL: 'mysql://user:hunter2@db/x' })
    assert.ok(!problem!.includes('hunter2'))
  })
})

describe('Durations', () => {
  it('reads seconds and s, m, h, d', () => {
    assert.equal(parseDuration('90'), 90)
    assert.equal(parseDuration('30s'), 30)
    assert.equal(parseDuration('15m'), 900)
    assert.equal(parseDuration('2h'), 7200)
    assert.equal(parseDuration('7d'), 604800)
  })

  it('rejects anything else', () => {
    for (const text of ['', '1.5m', '-5', '5w', '5 m', 'm', '15M'])
      assert.equal(parseDuration(text), undefined, text)
  })
})
