import type { Generated } from 'kysely'

/*
 * Times are ISO-8601 UTC strings with milliseconds (`Date#toISOString`) and booleans are 0/1 on
 * both databases: one representation, ordered correctly by plain comparison, and no per-dialect
 * conversion in the repositories.
 */

export interface UsersTable {
  id: string
  email: string
  /** Trimmed, NFKC-normalised, lower-cased: the unique key emails are compared by. */
  email_key: string
  username: string | null
  username_key: string | null
  full_name: string | null
  password_hash: string
  /** JSON array of role names. */
  roles: string
  email_verified: number
  disabled: number
  created_at: string
  updated_at: string
}

export interface SessionsTable {
  id: string
  user_id: string
  created_at: string
  last_used_at: string
  /** Absolute end of the session, whatever its refresh tokens say. */
  expires_at: string
  revoked_at: string | null
  revoked_reason: string | null
  user_agent: string | null
  ip: string | null
  /** Space-separated scope granted at login. */
  scope: string
  /** RFC 8176 methods of the login's proof, space-separated (`pwd`). */
  amr: string
  /** `aal1` (one factor) or `aal2` (two). */
  acr: string
}

export interface RefreshTokensTable {
  id: string
  session_id: string
  /** SHA-256 of the token, base64url; the token itself is never stored. */
  token_hash: string
  created_at: string
  expires_at: string
  /** Set by the one request that rotated this token away (atomic compare-and-swap). */
  rotated_at: string | null
  replaced_by: string | null
  /**
   * The successor token itself, sealed with the server key, from the rotation until the reuse
   * grace window has passed (then null): a replay within the window is given the same token.
   */
  successor_sealed: string | null
}

/** Keys the service generated for itself, shared by every instance; sealed when SECRETS_KEY is set. */
export interface ServerSecretsTable {
  name: string
  /** base64url of the key, or a `SecretBox` seal of it under SECRETS_KEY. */
  value: string
  created_at: string
}

export interface SigningKeysTable {
  kid: string
  alg: string
  /** The private JWK as JSON, or sealed under SECRETS_KEY (a `SecretBox` value) when it is set. */
  private_jwk: string
  public_jwk: string
  created_at: string
  /** When another key took over signing; the public key stays published for one token lifetime. */
  retired_at: string | null
  /** `gatehouse keys revoke`: the key verifies nothing from then on and leaves the JWKS at once. */
  revoked_at: string | null
}

/** Append-only trail of security events. */
export interface AuditEventsTable {
  id: string
  type: string
  user_id: string | null
  ip: string | null
  user_agent: string | null
  request_id: string | null
  at: string
  /** JSON object with event-specific fields (never secrets). */
  data: string
}

export interface TodosTable {
  id: string
  user_id: string
  title: string
  done: number
  created_at: string
  updated_at: string
}

/**
 * What a revocation record names: a session (`sid`), a signing key (`kid`), one machine token
 * (`jti`), a personal access token (`pat`), or everything issued to a client (`client`) or about a
 * user (`user`) at or before the record's `revoked_at`.
 */
export const REVOCATION_KINDS = ['sid', 'kid', 'jti', 'pat', 'client', 'user'] as const
export type RevocationKind = (typeof REVOCATION_KINDS)[number]

export interface RevocationsTable {
  /** Numbered in commit order (see `Revocations.persist`); PostgreSQL returns the bigint as text. */
  seq: Generated<number | string>
  kind: RevocationKind
  value: string
  revoked_at: string
  /** When every access token the record can cover has expired; the row may go then. */
  keep_until: string
}

export type OneTimeTokenPurpose = 'password_reset' | 'email_verification'

/** Single-use tokens mailed to a user; consumed with one compare-and-swap on `used_at`. */
export interface OneTimeTokensTable {
  id: string
  user_id: string
  purpose: OneTimeTokenPurpose
  /** SHA-256 of the token, base64url; the token itself is only ever in the mail. */
  token_hash: string
  /** The address the token was mailed to. */
  email: string
  created_at: string
  expires_at: string
  /** Set by the one request that consumed the token (or when a later event voided it). */
  used_at: string | null
}

export type MailStatus = 'pending' | 'sent' | 'failed'

/** Mails waiting for delivery, and a short record of those delivered or given up. */
export interface MailOutboxTable {
  id: string
  /** What the mail is for (`password_reset`, …): logged instead of the recipient or body. */
  purpose: string
  recipient: string
  subject: string
  /** Null once the mail is sent or given up: the bodies carry a live token until then. */
  text_body: string | null
  html_body: string | null
  status: MailStatus
  created_at: string
  /** Not delivered after this (the link in it has expired): the mail is given up. */
  expires_at: string
  /** When a worker may try (again); a worker that claims the mail moves it forward (a lease). */
  next_attempt_at: string
  attempts: number
  sent_at: string | null
  /** The last delivery failure, by code and message; never the body. */
  last_error: string | null
}

/** Where each account last logged in from, by network (IPv4 /24, IPv6 /64). */
export interface LoginPlacesTable {
  user_id: string
  network: string
  last_login_at: string
}

/** How a client proves itself at the token endpoint (RFC 7591 `token_endpoint_auth_method`). */
export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt'

/** OAuth 2.0 clients: services that get tokens of their own (client credentials) or check tokens. */
export interface ClientsTable {
  /** `client_` and 22 base64url characters, generated. */
  id: string
  name: string
  /** Space-separated scopes the client may be granted. */
  scopes: string
  auth_method: ClientAuthMethod
  /** SHA-256 of the secret, base64url (secret methods); the secret itself is shown once. */
  secret_hash: string | null
  /** The registered public JWKS as JSON (`private_key_jwt`). */
  jwks: string | null
  disabled: number
  created_at: string
  updated_at: string
}

/** `jti`s of client assertions already used (RFC 7523 §3), kept until the assertion expires. */
export interface ClientAssertionsTable {
  client_id: string
  jti: string
  expires_at: string
}

/** Long-lived tokens a user makes for scripts (`gatehouse_pat_…`), stored only as hashes. */
export interface PersonalAccessTokensTable {
  id: string
  user_id: string
  name: string
  /** SHA-256 of the token, base64url. */
  token_hash: string
  /** Space-separated scope given at creation; narrowed to the user's roles at every use. */
  scope: string
  created_at: string
  expires_at: string
  /** Written at most once a minute per token. */
  last_used_at: string | null
}

export interface Database {
  clients: ClientsTable
  client_assertions: ClientAssertionsTable
  personal_access_tokens: PersonalAccessTokensTable
  users: UsersTable
  one_time_tokens: OneTimeTokensTable
  mail_outbox: MailOutboxTable
  login_places: LoginPlacesTable
  revocations: RevocationsTable
  todos: TodosTable
  audit_events: AuditEventsTable
  sessions: SessionsTable
  refresh_tokens: RefreshTokensTable
  signing_keys: SigningKeysTable
  server_secrets: ServerSecretsTable
}
