/** The contract's stable error codes with their HTTP statuses. Clients switch on the code. */
export const ERROR_STATUS = {
  MALFORMED_REQUEST: 400,
  AUTH_REQUIRED: 401,
  INVALID_TOKEN: 401,
  TOKEN_EXPIRED: 401,
  INVALID_CREDENTIALS: 401,
  INVALID_REFRESH_TOKEN: 401,
  /** RFC 9470 step-up: the route needs `acr: "aal2"` or a more recent `auth_time` (second factors). */
  INSUFFICIENT_USER_AUTHENTICATION: 401,
  /** The right password for an account with a second factor; the error carries `mfa_token`. */
  MFA_REQUIRED: 403,
  FORBIDDEN: 403,
  ACCOUNT_DISABLED: 403,
  /** An addition to the contract (README): `REQUIRE_VERIFIED_EMAIL` is on and the address is not. */
  EMAIL_NOT_VERIFIED: 403,
  NOT_FOUND: 404,
  ACCOUNT_EXISTS: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  VALIDATION_ERROR: 422,
  RATE_LIMITED: 429,
  INTERNAL_ERROR: 500,
  UNAVAILABLE: 503,
} as const

export type ErrorCode = keyof typeof ERROR_STATUS
export const ERROR_CODES = Object.keys(ERROR_STATUS) as ErrorCode[]

export interface FieldProblem {
  field: string
  message: string
}

/**
 * The one error type handlers throw. `message` is safe to show a client; whatever explains the
 * failure internally goes in `cause`, which is logged (without stack) and never sent.
 */
export class AppError extends Error {
  readonly status: number
  readonly details: FieldProblem[] | undefined
  readonly headers: Readonly<Record<string, string>>

  constructor(
    readonly code: ErrorCode,
    message: string,
    options: { details?: FieldProblem[]; cause?: unknown; headers?: Record<string, string> } = {},
  ) {
    super(message, { cause: options.cause })
    this.name = 'AppError'
    this.status = ERROR_STATUS[code]
    this.details = options.details
    this.headers = options.headers ?? {}
  }
}

/**
 * A 401 for a bearer-protected route; carries the RFC 6750 §3 challenge. A request with no
 * credentials gets a bare `Bearer` challenge, a bad token `error="invalid_token"`.
 */
export class AuthenticationError extends AppError {
  constructor(code: 'AUTH_REQUIRED' | 'INVALID_TOKEN' | 'TOKEN_EXPIRED', message: string, cause?: unknown) {
    const challenge =
      code === 'AUTH_REQUIRED' ? 'Bearer' : `Bearer error="invalid_token", error_description="${message}"`
    super(code, message, { cause, headers: { 'www-authenticate': challenge } })
  }
}

/** 422 with one entry per offending field. */
export class ValidationError extends AppError {
  constructor(details: FieldProblem[]) {
    super('VALIDATION_ERROR', 'The request is not valid.', { details })
  }
}

/**
 * An RFC 6749 error with a code of its own (e.g. `unsupported_grant_type`), answered with the
 * status of `code`: 400 unless said otherwise.
 */
export class OAuthError extends AppError {
  constructor(
    readonly oauthCode: Extract<
      OAuthErrorCode,
      | 'unsupported_grant_type'
      | 'invalid_request'
      | 'invalid_scope'
      | 'invalid_client'
      | 'unauthorized_client'
    >,
    message: string,
    options: {
      code?: 'MALFORMED_REQUEST' | 'INVALID_CREDENTIALS' | 'FORBIDDEN'
      headers?: Record<string, string>
    } = {},
  ) {
    super(options.code ?? 'MALFORMED_REQUEST', message, { headers: options.headers ?? {} })
  }
}

/**
 * RFC 6749 §5.2: client authentication failed, `401`. The `Basic` challenge only when the client
 * tried Basic; a client that sent its credentials in the body gets none.
 */
export const invalidClient = (basicTried: boolean): OAuthError =>
  new OAuthError('invalid_client', 'Client authentication failed.', {
    code: 'INVALID_CREDENTIALS',
    headers: basicTried ? { 'www-authenticate': 'Basic realm="gatehouse"' } : {},
  })

/** RFC 6749 §5.2 / RFC 6749 codes of the OAuth endpoints (token, introspection, revocation). */
export const OAUTH_ERROR_CODES = [
  'invalid_request',
  'invalid_client',
  'invalid_grant',
  'unauthorized_client',
  'unsupported_grant_type',
  'invalid_scope',
  'server_error',
  'temporarily_unavailable',
] as const
export type OAuthErrorCode = (typeof OAUTH_ERROR_CODES)[number]

/**
 * RFC 6749 §5.2: the token endpoint's error for each of our codes. Exhaustive on purpose: a new
 * code must be placed here, not fall silently into `invalid_request`.
 */
export function oauthErrorCodeOf(code: ErrorCode): OAuthErrorCode {
  switch (code) {
    case 'INVALID_CREDENTIALS':
    case 'INVALID_REFRESH_TOKEN':
    case 'ACCOUNT_DISABLED':
    case 'EMAIL_NOT_VERIFIED':
    case 'MFA_REQUIRED':
      return 'invalid_grant'
    case 'INTERNAL_ERROR':
      return 'server_error'
    case 'UNAVAILABLE':
    case 'RATE_LIMITED':
      return 'temporarily_unavailable'
    case 'MALFORMED_REQUEST':
    case 'AUTH_REQUIRED':
    case 'INVALID_TOKEN':
    case 'TOKEN_EXPIRED':
    case 'INSUFFICIENT_USER_AUTHENTICATION':
    case 'FORBIDDEN':
    case 'NOT_FOUND':
    case 'ACCOUNT_EXISTS':
    case 'PAYLOAD_TOO_LARGE':
    case 'UNSUPPORTED_MEDIA_TYPE':
    case 'VALIDATION_ERROR':
      return 'invalid_request'
  }
}

/* The errors more than one place throws, so each has one wording. */

export const invalidCredentials = (): AppError =>
  new AppError('INVALID_CREDENTIALS', 'Incorrect username or password.')

export const invalidRefreshToken = (): AppError =>
  new AppError('INVALID_REFRESH_TOKEN', 'The refresh token is invalid, expired or revoked.')

export const invalidAccessToken = (cause?: unknown): AuthenticationError =>
  new AuthenticationError('INVALID_TOKEN', 'The access token is not valid.', cause)

export const accountDisabled = (): AppError => new AppError('ACCOUNT_DISABLED', 'This account is disabled.')

export const accountExists = (cause?: unknown): AppError =>
  new AppError('ACCOUNT_EXISTS', 'An account with this email or username already exists.', { cause })

export const forbidden = (message: string): AppError => new AppError('FORBIDDEN', message)

export const notFound = (what = 'resource'): AppError =>
  new AppError('NOT_FOUND', `The ${what} was not found.`)
