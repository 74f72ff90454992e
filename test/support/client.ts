import assert from 'node:assert/strict'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { STRONG_PASSWORD, uniqueEmail, type TestApp } from './harness.ts'

/**
 * The one test client: every suite drives the app through it instead of wrapping `app.inject` anew.
 * Plain calls return the response, so a test asserts what the contract says; the `…User`/`tokens`
 * helpers are for set-up and assert the success they need.
 *
 * ```ts
 * const api = clientFor(ctx) // or clientFor(ctx()), clientFor(other)
 * const { user, tokens } = await api.loggedInUser()
 * assert.equal((await api.as(tokens.access_token).get('/todos')).statusCode, 200)
 * assert.equal((await api.login({ username: user.email, password: 'wrong' }, { remoteAddress: '198.51.100.1' })).statusCode, 401)
 * ```
 */

export type Response = LightMyRequestResponse
export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'OPTIONS' | 'HEAD'
/** Request headers; a member left undefined is not sent. */
export type RequestHeaders = Record<string, string | undefined>
/** Fields of an `application/x-www-form-urlencoded` body; a member left undefined is not sent. */
export type Form = Record<string, string | undefined>

/** What any call may add to its request. */
export interface RequestOptions {
  /** The peer address the app sees (inject's default is 127.0.0.1). */
  remoteAddress?: string
  headers?: RequestHeaders
  cookies?: Record<string, string>
  /** Sent as X-Request-ID. */
  requestId?: string
}

export interface Request extends RequestOptions {
  method: Method
  url: string
  /** An access token, sent as `Authorization: Bearer <token>`. */
  token?: string
  /** A JSON body (an object), or a raw one (a string or bytes, with the content-type the test sets). */
  body?: object | string | Buffer
  /** A form body; sets the form content-type unless `headers` set one. */
  form?: Form
}

/** The contract's token response (login, token, refresh). */
export interface Tokens {
  access_token: string
  refresh_token: string
  token_type: string
  expires_in: number
  refresh_expires_in: number
  scope: string
}

/** The contract's User object. */
export interface User {
  id: string
  email: string
  username: string | null
  full_name: string | null
  roles: string[]
  disabled: boolean
  email_verified: boolean
  created_at: string
  updated_at: string
}

/** `POST /me/tokens`'s answer: the one response that shows the token. */
export interface PersonalToken {
  id: string
  name: string
  token: string
  scope: string
  created_at: string
  expires_at: string
  last_used_at: string | null
}

export interface SignupBody {
  email?: string
  password?: string
  username?: string
  full_name?: string
  [field: string]: unknown
}

export interface LoginBody {
  username?: string
  password?: string
  scope?: string
  [field: string]: unknown
}

/** Who `signedUpUser` made: the response's user and the credentials that log them in. */
export interface SignedUpUser {
  email: string
  password: string
  user: User
}

/** A signed-up user's first login: the token response and its ready-made Authorization value. */
export interface LoggedInUser extends SignedUpUser {
  tokens: Tokens
  authorization: string
}

export interface NewUser {
  email?: string
  password?: string
  username?: string
  full_name?: string
}

/** Requests that carry one access token. */
export interface AuthorizedClient {
  get(url: string, options?: RequestOptions): Promise<Response>
  delete(url: string, options?: RequestOptions): Promise<Response>
  post(url: string, body?: object, options?: RequestOptions): Promise<Response>
  patch(url: string, body: object, options?: RequestOptions): Promise<Response>
  put(url: string, body: object, options?: RequestOptions): Promise<Response>
}

type AppOf = Pick<TestApp, 'app'>

const FORM_TYPE = 'application/x-www-form-urlencoded'

export const bearer = (accessToken: string): string => `Bearer ${accessToken}`

/** The administrator the admin suites bootstrap (pass it as the suite's `env`). */
export const ADMIN = { ADMIN_EMAIL: 'root@example.com', ADMIN_PASSWORD: 'an admin passphrase 42' }

const definedFields = (form: Form): [string, string][] =>
  Object.entries(form).filter((entry): entry is [string, string] => entry[1] !== undefined)

export class TestClient {
  /** `source` may be a getter (a suite's `ctx`), read at each request, so a client can be made before the app starts. */
  constructor(private readonly source: AppOf | (() => AppOf)) {}

  private get app(): FastifyInstance {
    return typeof this.source === 'function' ? this.source().app : this.source.app
  }

  request({ method, url, token, body, form, remoteAddress, headers, cookies, requestId }: Request) {
    const sent: RequestHeaders = {
      ...(form !== undefined && { 'content-type': FORM_TYPE }),
      ...(token !== undefined && { authorization: bearer(token) }),
      ...(requestId !== undefined && { 'x-request-id': requestId }),
      ...headers,
    }
    return this.app.inject({
      method,
      url,
      ...(Object.keys(sent).length > 0 && { headers: sent }),
      ...(remoteAddress !== undefined && { remoteAddress }),
      ...(cookies !== undefined && { cookies }),
      ...(form !== undefined
        ? { payload: new URLSearchParams(definedFields(form)).toString() }
        : body !== undefined && { payload: body }),
    })
  }

  /** Requests as the holder of `accessToken`. */
  as(accessToken: string): AuthorizedClient {
    const send = (method: Method, url: string, body: object | undefined, options: RequestOptions = {}) =>
      this.request({ ...options, method, url, token: accessToken, body })
    return {
      get: (url, options) => send('GET', url, undefined, options),
      delete: (url, options) => send('DELETE', url, undefined, options),
      post: (url, body, options) => send('POST', url, body, options),
      patch: (url, body, options) => send('PATCH', url, body, options),
      put: (url, body, options) => send('PUT', url, body, options),
    }
  }

  /** Any body, a wrong one too (`Record<string, unknown>`): the contract's checks are under test. */
  signup(body: SignupBody | Record<string, unknown>, options: RequestOptions = {}) {
    return this.request({ ...options, method: 'POST', url: '/auth/signup', body })
  }

  /** A JSON login: `login(username, password, options?)`, or `login(body, options?)` for any other body. */
  login(username: string, password: string, options?: RequestOptions): Promise<Response>
  login(body: LoginBody, options?: RequestOptions): Promise<Response>
  login(...args: [string, string, RequestOptions?] | [LoginBody, RequestOptions?]) {
    const [body, options]: [LoginBody, RequestOptions | undefined] =
      typeof args[0] === 'string'
        ? [{ username: args[0], password: args[1] as string }, args[2]]
        : [args[0], args[1] as RequestOptions | undefined]
    return this.request({ ...options, method: 'POST', url: '/auth/login', body })
  }

  /** A form login, as a browser's `<form>` posts it. */
  loginForm(fields: Form, options: RequestOptions = {}) {
    return this.request({ ...options, method: 'POST', url: '/auth/login', form: fields })
  }

  /** `POST /auth/token` (RFC 6749 §4.3, §6), a form body. */
  token(fields: Form, options: RequestOptions = {}) {
    return this.request({ ...options, method: 'POST', url: '/auth/token', form: fields })
  }

  /** Rotates `refreshToken`, sent in the JSON body or, with `via: 'cookie'`, as the refresh cookie alone. */
  refresh(refreshToken: string, options: RequestOptions & { via?: 'body' | 'cookie' } = {}) {
    const { via = 'body', ...rest } = options
    return via === 'cookie'
      ? this.request({
          ...rest,
          method: 'POST',
          url: '/auth/refresh',
          cookies: { gatehouse_refresh: refreshToken, ...rest.cookies },
        })
      : this.request({ ...rest, method: 'POST', url: '/auth/refresh', body: { refresh_token: refreshToken } })
  }

  /** Ends the token's session, or with `all` every session of its user. */
  logout(accessToken: string, options: RequestOptions & { all?: boolean } = {}) {
    const { all = false, ...rest } = options
    return this.as(accessToken).post(all ? '/auth/logout-all' : '/auth/logout', undefined, rest)
  }

  me(accessToken: string, options: RequestOptions = {}) {
    return this.as(accessToken).get('/me', options)
  }

  forgotPassword(email: string, options: RequestOptions = {}) {
    return this.request({ ...options, method: 'POST', url: '/auth/password/forgot', body: { email } })
  }

  resetPassword(token: string, newPassword: string, options: RequestOptions = {}) {
    return this.request({
      ...options,
      method: 'POST',
      url: '/auth/password/reset',
      body: { token, new_password: newPassword },
    })
  }

  requestVerification(accessToken: string, options: RequestOptions = {}) {
    return this.as(accessToken).post('/auth/email/verify/request', undefined, options)
  }

  verifyEmail(token: string, options: RequestOptions = {}) {
    return this.request({ ...options, method: 'POST', url: '/auth/email/verify', body: { token } })
  }

  /** Signs up a fresh user (a unique email and STRONG_PASSWORD unless given); asserts the 201. */
  async signedUpUser(fields: NewUser = {}, options: RequestOptions = {}): Promise<SignedUpUser> {
    const email = fields.email ?? uniqueEmail()
    const password = fields.password ?? STRONG_PASSWORD
    const response = await this.signup({ ...fields, email, password }, options)
    assert.equal(response.statusCode, 201, response.body)
    return { email, password, user: response.json<User>() }
  }

  /** Logs in with JSON; asserts the 200 and returns the token response. */
  async tokens(username: string, password: string, options: RequestOptions & { scope?: string } = {}) {
    const { scope, ...rest } = options
    const response = await this.login({ username, password, ...(scope !== undefined && { scope }) }, rest)
    assert.equal(response.statusCode, 200, response.body)
    return response.json<Tokens>()
  }

  /** The bootstrapped administrator's access token (see `ADMIN`). */
  async adminToken(admin: { ADMIN_EMAIL: string; ADMIN_PASSWORD: string } = ADMIN): Promise<string> {
    return (await this.tokens(admin.ADMIN_EMAIL, admin.ADMIN_PASSWORD)).access_token
  }

  /** Creates a personal access token with `accessToken` (from a login); asserts the 201. */
  async personalToken(
    accessToken: string,
    body: { name?: string; scope?: string; expires_in?: number } = {},
  ): Promise<PersonalToken> {
    const response = await this.as(accessToken).post('/me/tokens', { name: 'a script', ...body })
    assert.equal(response.statusCode, 201, response.body)
    return response.json<PersonalToken>()
  }

  /** Signs up a fresh user and logs them in once. */
  async loggedInUser(fields: NewUser = {}, options: RequestOptions = {}): Promise<LoggedInUser> {
    const signedUp = await this.signedUpUser(fields, options)
    const tokens = await this.tokens(signedUp.email, signedUp.password, options)
    return { ...signedUp, tokens, authorization: bearer(tokens.access_token) }
  }
}

/** The client for one test app (or a suite's `ctx` getter). */
export function clientFor(source: AppOf | (() => AppOf)): TestClient {
  return new TestClient(source)
}
