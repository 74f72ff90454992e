import { existsSync, readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { parseEnv } from 'node:util'
import { parseDuration } from './duration.ts'

export const JWT_ALGORITHMS = ['RS256', 'ES256', 'EdDSA', 'HS256'] as const
export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number]
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
export type LogLevel = (typeof LOG_LEVELS)[number]

export type DatabaseTarget = { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string }

/** Every setting of the contract's configuration table, parsed, with units made explicit. */
export interface Config {
  readonly port: number
  readonly host: string
  readonly database: DatabaseTarget
  readonly redisUrl: string | undefined
  /** Prefix of every Redis key and channel, so deployments can share one Redis. */
  readonly redisKeyPrefix: string
  readonly jwt: {
    readonly algorithm: JwtAlgorithm
    readonly secret: string | undefined
    readonly issuer: string
    readonly audience: string
  }
  readonly accessTokenTtlSeconds: number
  readonly refreshTokenTtlSeconds: number
  readonly refreshReuseGraceSeconds: number
  /** Absolute lifetime of a session, however often it is refreshed. */
  readonly sessionLifetimeSeconds: number
  /** `PAT_MAX_TTL`: the longest (and default) lifetime of a personal access token. */
  readonly patMaxTtlSeconds: number
  readonly rateLimits: {
    readonly loginPerMinute: number
    readonly signupPerMinute: number
    readonly mailPerMinute: number
  }
  readonly admin: { readonly email: string; readonly password: string } | undefined
  readonly mail: {
    readonly smtpUrl: string | undefined
    readonly from: string | undefined
    readonly publicUrl: string | undefined
  }
  /** How long a password-reset link works (an addition to the contract). */
  readonly passwordResetTtlSeconds: number
  /** How long an email-verification link works (an addition to the contract). */
  readonly emailVerificationTtlSeconds: number
  /** Login needs a verified email address (an addition to the contract). */
  readonly requireVerifiedEmail: boolean
  readonly trustProxy: boolean | number | string[]
  /** Each role and the scopes it may be granted. Its keys are the roles that exist. */
  readonly roleScopes: Readonly<Record<string, readonly string[]>>
  /** Audit events older than this are deleted. */
  readonly auditRetentionSeconds: number
  /** Browser origins allowed to call the API with credentials (CORS); none by default. */
  readonly corsOrigins: readonly string[]
  /** `SECRETS_KEY`, checked to be 32 bytes in base64: encrypts private keys and other secrets at rest. */
  readonly secretsKey: string | undefined
  /** `METRICS_TOKEN`: when set, `/metrics` answers only `Authorization: Bearer <it>` (an addition to the contract). */
  readonly metricsToken: string | undefined
  /** `DOCS=false` serves neither `/docs` nor `/openapi.json` (an addition to the contract). */
  readonly docs: boolean
  readonly logLevel: LogLevel
  readonly production: boolean
}

/** A setting that stops start-up; the message names the variable and what it accepts. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`)
    this.name = 'ConfigError'
  }
}

type Env = Readonly<Record<string, string | undefined>>

/**
 * Reads `.env` from `cwd` (when present) under the real environment, which wins.
 * Nothing is written back to `process.env`.
 */
export function readEnvironment(env: Env = process.env, cwd = process.cwd()): Env {
  const file = resolve(cwd, '.env')
  const fromFile = existsSync(file) ? parseEnv(readFileSync(file, 'utf8')) : {}
  return { ...fromFile, ...env }
}

/** Parses and validates the whole configuration at once, reporting every problem together. */
export function loadConfig(env: Env): Config {
  const problems: string[] = []
  const value = (name: string): string | undefined => {
    const raw = env[name]
    return raw === undefined || raw.trim() === '' ? undefined : raw.trim()
  }

  const integer = (name: string, fallback: number, min: number, max: number): number => {
    const raw = value(name)
    if (raw === undefined) return fallback
    const parsed = /^\d+$/.test(raw) ? Number(raw) : NaN
    if (!Number.isSafeInteger(parsed) || parsed < min || parsed > max) {
      problems.push(`${name}: expected a whole number from ${min} to ${max}, got "${raw}"`)
      return fallback
    }
    return parsed
  }

  const duration = (name: string, fallback: string, allowZero: boolean): number => {
    const raw = value(name) ?? fallback
    const seconds = parseDuration(raw)
    if (seconds === undefined || (!allowZero && seconds === 0)) {
      const what = allowZero ? 'seconds' : 'a positive number of seconds'
      problems.push(`${name}: expected ${what}, or a whole number with s, m, h or d (e.g. 15m), got "${raw}"`)
      return parseDuration(fallback) ?? 0
    }
    return seconds
  }

  const oneOf = <T extends string>(name: string, allowed: readonly T[], fallback: T): T => {
    const raw = value(name)
    if (raw === undefined) return fallback
    if ((allowed as readonly string[]).includes(raw)) return raw as T
    problems.push(`${name}: expected one of ${allowed.join(', ')}, got "${raw}"`)
    return fallback
  }

  const flag = (name: string, fallback: boolean): boolean => {
    const raw = value(name)
    if (raw === undefined) return fallback
    if (raw === 'true' || raw === 'false') return raw === 'true'
    problems.push(`${name}: expected true or false, got "${raw}"`)
    return fallback
  }

  const url = (name: string, protocols: readonly string[]): string | undefined => {
    const raw = value(name)
    if (raw === undefined) return undefined
    if (!URL.canParse(raw) || !protocols.includes(new URL(raw).protocol)) {
      problems.push(`${name}: expected a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}`)
      return undefined
    }
    return raw
  }

  const database = parseDatabase(value('DATABASE_URL') ?? 'sqlite:./data/gatehouse.db', problems)
  const algorithm = oneOf('JWT_ALG', JWT_ALGORITHMS, 'RS256')
  const secret = env.JWT_SECRET
  if (algorithm === 'HS256') {
    if (secret === undefined || secret === '') {
      problems.push('JWT_SECRET: required when JWT_ALG is HS256 (at least 32 bytes)')
    } else if (Buffer.byteLength(secret, 'utf8') < 32) {
      problems.push(
        `JWT_SECRET: must be at least 32 bytes for HS256, got ${Buffer.byteLength(secret, 'utf8')}`,
      )
    }
  }

  const adminEmail = value('ADMIN_EMAIL')
  const adminPassword = env.ADMIN_PASSWORD === '' ? undefined : env.ADMIN_PASSWORD
  if ((adminEmail === undefined) !== (adminPassword === undefined)) {
    problems.push('ADMIN_EMAIL, ADMIN_PASSWORD: set both to ensure an admin account, or neither')
  }

  const production = value('NODE_ENV') === 'production'
  const config: Config = {
    port: integer('PORT', 8000, 0, 65535),
    host: value('HOST') ?? '127.0.0.1',
    database,
    redisUrl: url('REDIS_URL', ['redis:', 'rediss:']),
    redisKeyPrefix: keyPrefix(value('REDIS_KEY_PREFIX') ?? 'gatehouse:', problems),
    jwt: {
      algorithm,
      secret: algorithm === 'HS256' ? secret : undefined,
      issuer: value('JWT_ISSUER') ?? 'gatehouse',
      audience: value('JWT_AUDIENCE') ?? 'gatehouse',
    },
    accessTokenTtlSeconds: duration('ACCESS_TOKEN_TTL', '15m', false),
    refreshTokenTtlSeconds: duration('REFRESH_TOKEN_TTL', '7d', false),
    refreshReuseGraceSeconds: duration('REFRESH_REUSE_GRACE', '10s', true),
    sessionLifetimeSeconds: duration('SESSION_LIFETIME', '30d', false),
    patMaxTtlSeconds: patMaxTtl(duration('PAT_MAX_TTL', '90d', false), problems),
    rateLimits: {
      loginPerMinute: integer('LOGIN_RATE_LIMIT', 10, 1, 1_000_000),
      signupPerMinute: integer('SIGNUP_RATE_LIMIT', 20, 1, 1_000_000),
      mailPerMinute: integer('MAIL_RATE_LIMIT', 5, 1, 1_000_000),
    },
    admin:
      adminEmail !== undefined && adminPassword !== undefined
        ? { email: adminEmail, password: adminPassword }
        : undefined,
    mail: {
      smtpUrl: url('SMTP_URL', ['smtp:', 'smtps:']),
      from: parseMailFrom(value('MAIL_FROM'), problems),
      publicUrl: url('PUBLIC_URL', ['http:', 'https:']),
    },
    passwordResetTtlSeconds: duration('PASSWORD_RESET_TTL', '30m', false),
    emailVerificationTtlSeconds: duration('EMAIL_VERIFICATION_TTL', '24h', false),
    requireVerifiedEmail: flag('REQUIRE_VERIFIED_EMAIL', false),
    trustProxy: parseTrustProxy(value('TRUST_PROXY'), problems),
    roleScopes: parseRoleScopes(value('ROLE_SCOPES'), problems),
    auditRetentionSeconds: duration('AUDIT_RETENTION', '90d', false),
    corsOrigins: parseOrigins(value('CORS_ORIGINS'), problems),
    secretsKey: parseSecretsKey(value('SECRETS_KEY'), problems),
    metricsToken: parseMetricsToken(value('METRICS_TOKEN'), problems),
    docs: flag('DOCS', true),
    logLevel: oneOf('LOG_LEVEL', LOG_LEVELS, 'info'),
    production,
  }
  if (production) problems.push(...productionProblems(config))
  if (problems.length > 0) throw new ConfigError(problems)
  return deepFreeze(config)
}

/** The shortest lifetime `POST /me/tokens` accepts, so the longest one cannot be below it. */
export const PAT_MIN_TTL_SECONDS = 60

function patMaxTtl(seconds: number, problems: string[]): number {
  if (seconds >= PAT_MIN_TTL_SECONDS) return seconds
  problems.push(`PAT_MAX_TTL: at least ${PAT_MIN_TTL_SECONDS} s (1m), got ${seconds} s`)
  return seconds
}

function parseDatabase(raw: string, problems: string[]): DatabaseTarget {
  if (raw.startsWith('sqlite:')) {
    const path = raw.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '')
    if (path !== '') return { kind: 'sqlite', path }
  } else if (/^postgres(ql)?:\/\//.test(raw) && URL.canParse(raw)) {
    return { kind: 'postgres', url: raw }
  }
  problems.push(
    `DATABASE_URL: expected sqlite:PATH or postgres://user@host:port/database, got "${redactUrl(raw)}"`,
  )
  return { kind: 'sqlite', path: './data/gatehouse.db' }
}

/**
 * `MAIL_FROM`: `address@domain` or `Display Name <address@domain>`. Checked at start, because a
 * sender the SMTP server refuses would only show as failed deliveries; and a line break would be
 * a header injection.
 */
function parseMailFrom(raw: string | undefined, problems: string[]): string | undefined {
  if (raw === undefined) return undefined
  const address = '[^\\s<>@",;]+@[^\\s<>@",;]+'
  const form = new RegExp(`^(${address}|[^<>\\p{Cc}]*<${address}>)$`, 'u')
  if (form.test(raw)) return raw
  problems.push(
    `MAIL_FROM: expected an address, or a name and an address like "Gatehouse <no-reply@example.com>"`,
  )
  return undefined
}

/** `true`/`false`, a hop count, or a comma-separated list of addresses and CIDR ranges. */
function parseTrustProxy(raw: string | undefined, problems: string[]): boolean | number | string[] {
  if (raw === undefined || raw === 'false') return false
  if (raw === 'true') return true
  if (/^\d+$/.test(raw)) return Number(raw)
  const entries = raw.split(',').map((entry) => entry.trim())
  if (entries.some((entry) => !/^[0-9A-Fa-f:.]+(\/\d{1,3})?$/.test(entry))) {
    problems.push(
      `TRUST_PROXY: expected true, false, a hop count or comma-separated addresses/CIDRs, got "${raw}"`,
    )
    return false
  }
  return entries
}

/** 32 bytes in base64 (or base64url); the message never repeats the value, which is a secret. */
function parseSecretsKey(raw: string | undefined, problems: string[]): string | undefined {
  if (raw === undefined) return undefined
  const bytes = /^[A-Za-z0-9+/_-]+={0,2}$/.test(raw) ? Buffer.from(raw, 'base64').length : 0
  if (bytes === SECRETS_KEY_BYTES) return raw
  problems.push(
    `SECRETS_KEY: expected ${SECRETS_KEY_BYTES} random bytes in base64 (e.g. openssl rand -base64 32), got ${bytes === 0 ? 'something that is not base64' : `${bytes} bytes`}`,
  )
  return undefined
}

const SECRETS_KEY_BYTES = 32

/**
 * `METRICS_TOKEN`: a bearer token (RFC 6750 §2.1 characters) of at least 32 characters, so that it
 * is no guessable password; the message never repeats it.
 */
function parseMetricsToken(raw: string | undefined, problems: string[]): string | undefined {
  if (raw === undefined) return undefined
  const allowed = /^[A-Za-z0-9\-._~+/]+=*$/.test(raw)
  if (allowed && raw.length >= METRICS_TOKEN_MIN_LENGTH && raw.length <= 512) return raw
  problems.push(
    `METRICS_TOKEN: expected ${METRICS_TOKEN_MIN_LENGTH} to 512 characters of A-Z a-z 0-9 - . _ ~ + / (e.g. openssl rand -base64 32), got ${allowed ? `${raw.length} characters` : 'other characters'}`,
  )
  return undefined
}

const METRICS_TOKEN_MIN_LENGTH = 32

function keyPrefix(raw: string, problems: string[]): string {
  if (/^[A-Za-z0-9_.:-]{1,64}$/.test(raw)) return raw
  problems.push(`REDIS_KEY_PREFIX: expected 1 to 64 letters, digits or . _ : -, got "${raw}"`)
  return 'gatehouse:'
}

/** `CORS_ORIGINS`: comma-separated origins such as https://app.example.com — never `*`, since cookies ride along. */
function parseOrigins(raw: string | undefined, problems: string[]): string[] {
  if (raw === undefined) return []
  const origins = raw
    .split(',')
    .map((origin) => origin.trim())
    .filter((origin) => origin !== '')
  const invalid = origins.filter((origin) => !URL.canParse(origin) || new URL(origin).origin !== origin)
  if (invalid.length > 0) {
    problems.push(
      `CORS_ORIGINS: expected comma-separated origins like https://app.example.com (scheme, host, port; no path or *), got "${invalid.join(', ')}"`,
    )
    return []
  }
  return origins
}

export const DEFAULT_ROLE_SCOPES: Readonly<Record<string, readonly string[]>> = {
  user: ['profile', 'todos:read', 'todos:write'],
  admin: ['profile', 'todos:read', 'todos:write', 'admin'],
}

const NAME = /^[A-Za-z0-9_.:-]{1,64}$/

/** `ROLE_SCOPES`: a JSON object of role → scope list, e.g. {"user": ["profile"], "admin": ["profile", "admin"]}. */
function parseRoleScopes(raw: string | undefined, problems: string[]): Record<string, readonly string[]> {
  if (raw === undefined) return { ...DEFAULT_ROLE_SCOPES }
  const expected = 'expected a JSON object of role → list of scopes, with at least "user" and "admin"'
  let parsed: unknown
  try {
    parsed = JSON.parse(raw)
  } catch {
    problems.push(`ROLE_SCOPES: ${expected}; it is not valid JSON`)
    return { ...DEFAULT_ROLE_SCOPES }
  }
  // Own properties only (`in` would find "constructor" on any object); and `__proto__`, which JSON
  // makes an ordinary key, is refused: copying such an object by assignment would set its prototype.
  const valid =
    typeof parsed === 'object' &&
    parsed !== null &&
    !Array.isArray(parsed) &&
    Object.hasOwn(parsed, 'user') &&
    Object.hasOwn(parsed, 'admin') &&
    Object.entries(parsed).every(
      ([role, scopes]) =>
        NAME.test(role) &&
        role !== '__proto__' &&
        Array.isArray(scopes) &&
        scopes.every((scope) => typeof scope === 'string' && NAME.test(scope)),
    )
  if (!valid) {
    problems.push(`ROLE_SCOPES: ${expected}; names are 1 to 64 letters, digits or . _ : -, not __proto__`)
    return { ...DEFAULT_ROLE_SCOPES }
  }
  return parsed as Record<string, string[]>
}

/** NODE_ENV=production refuses settings that are only acceptable on a developer's machine. */
function productionProblems(config: Config): string[] {
  const problems: string[] = []
  const { secret } = config.jwt
  if (secret !== undefined && new Set(secret).size < 16) {
    problems.push(
      'JWT_SECRET: too predictable for production; use at least 32 random bytes (e.g. openssl rand -base64 48)',
    )
  }
  const publicUrl = config.mail.publicUrl
  if (publicUrl === undefined) {
    problems.push('PUBLIC_URL: required in production (links in mails), and it must be https://')
  } else if (new URL(publicUrl).protocol !== 'https:') {
    problems.push('PUBLIC_URL: must be https:// in production, since the refresh cookie is Secure')
  }
  if (config.secretsKey === undefined) {
    problems.push(
      'SECRETS_KEY: required in production (it encrypts private signing keys at rest); generate one with openssl rand -base64 32',
    )
  }
  if (config.trustProxy === true) {
    problems.push(
      'TRUST_PROXY: "true" lets any client forge its address in production; name the hop count or proxy addresses',
    )
  }
  const { smtpUrl } = config.mail
  if (smtpUrl === undefined) {
    problems.push(
      'SMTP_URL: required in production (without it mails are only written to ./data/outbox); e.g. smtps://user:pass@smtp.example.com:465',
    )
  } else if (sendsInTheClear(new URL(smtpUrl))) {
    problems.push(
      'SMTP_URL: sends mail unencrypted in production (smtp:// only upgrades when the server offers STARTTLS); use smtps://…:465, or add ?requireTLS=true to require STARTTLS',
    )
  }
  if (config.refreshReuseGraceSeconds > MAX_PRODUCTION_REUSE_GRACE_SECONDS) {
    problems.push(
      `REFRESH_REUSE_GRACE: at most ${MAX_PRODUCTION_REUSE_GRACE_SECONDS} s in production, got ${config.refreshReuseGraceSeconds} s; a replay within it is not detected as theft (10s covers concurrent requests)`,
    )
  }
  if (config.accessTokenTtlSeconds > MAX_PRODUCTION_ACCESS_TOKEN_TTL_SECONDS) {
    problems.push(
      `ACCESS_TOKEN_TTL: at most 1 h in production, got ${config.accessTokenTtlSeconds} s; a stolen access token works until it expires (use refresh tokens for long sessions)`,
    )
  }
  if (!isIssuerUrl(config.jwt.issuer)) {
    problems.push(
      `JWT_ISSUER: must be the service's https:// URL in production, with an empty path (RFC 8414 §3), e.g. https://auth.example.com — no trailing slash, path, query, user or default port`,
    )
  }
  return problems
}

/** A grace longer than this is a window for replaying a stolen refresh token, not for concurrent requests. */
const MAX_PRODUCTION_REUSE_GRACE_SECONDS = 60
/** Access tokens cannot be recalled from a resource server that does not follow revocations. */
const MAX_PRODUCTION_ACCESS_TOKEN_TTL_SECONDS = 3600

/**
 * `smtp://` to a host beyond this machine without `requireTLS=true`: nodemailer then upgrades with
 * STARTTLS only when the server offers it, so whoever sits between can strip the offer and read
 * the password and every link. Loopback (a local relay) never crosses the network.
 */
function sendsInTheClear(url: URL): boolean {
  if (url.protocol !== 'smtp:') return false
  if (url.searchParams.get('requireTLS') === 'true') return false
  const host = url.hostname.toLowerCase()
  const loopback = host === 'localhost' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)
  return !loopback
}

/**
 * RFC 8414 §3: the issuer is an https URL with no query or fragment, and here the service's base
 * URL (endpoint URLs are built by appending to it), so no path either — written as the origin
 * itself, since the issuer is compared as a string: no trailing slash, no default port, lowercase.
 */
function isIssuerUrl(issuer: string): boolean {
  return URL.canParse(issuer) && new URL(issuer).protocol === 'https:' && new URL(issuer).origin === issuer
}

function redactUrl(raw: string): string {
  return raw.replace(/\/\/[^@/]*@/, '//***@')
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner)
    Object.freeze(value)
  }
  return value
}
