/**
 * Gatehouse's own scopes for machine clients, besides any the deployment names: asking whether a
 * token is live (RFC 7662) and following the revocation feed.
 */
export const GATEHOUSE_CLIENT_SCOPES = ['introspect', 'revocations:read'] as const

export const CLIENT_SCOPE_DESCRIPTIONS: Readonly<Record<(typeof GATEHOUSE_CLIENT_SCOPES)[number], string>> = {
  introspect: 'Ask whether a token is live (POST /auth/introspect)',
  'revocations:read': 'Follow the revocation feed (GET /auth/revocations)',
}
