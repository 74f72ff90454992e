/** What each role may be granted (`ROLE_SCOPES`). */
export type RoleScopes = Readonly<Record<string, readonly string[]>>

/**
 * Whether `ROLE_SCOPES` defines the role. Own properties only: `role in roleScopes` would also find
 * `constructor`, `toString` or `__proto__` on every object's prototype.
 */
export function isKnownRole(roleScopes: RoleScopes, role: string): boolean {
  return Object.hasOwn(roleScopes, role)
}

export function allowedScopes(roleScopes: RoleScopes, roles: readonly string[]): string[] {
  return [
    ...new Set(roles.flatMap((role) => (isKnownRole(roleScopes, role) ? (roleScopes[role] ?? []) : []))),
  ]
}

export function splitScopes(scope: string | undefined): string[] {
  return scope?.split(' ').filter((name) => name !== '') ?? []
}

/** A token's space-separated scope as a set, for checks on every request. */
export function scopeSet(scope: string): ReadonlySet<string> {
  return new Set(splitScopes(scope))
}

/**
 * RFC 6749 §3.3: the granted scope may be narrower than the requested one; unknown ones are
 * dropped. Asking for nothing (or an empty scope) grants everything the roles allow.
 */
export function grantScopes(
  roleScopes: RoleScopes,
  roles: readonly string[],
  requested: string | undefined,
): string {
  const wanted = splitScopes(requested)
  const allowed = allowedScopes(roleScopes, roles)
  return (wanted.length === 0 ? allowed : allowed.filter((scope) => wanted.includes(scope))).join(' ')
}

/** A session's granted scope, narrowed to what the user's current roles allow; never widened. */
export function narrowScopes(roleScopes: RoleScopes, roles: readonly string[], granted: string): string {
  const kept = splitScopes(granted)
  return allowedScopes(roleScopes, roles)
    .filter((scope) => kept.includes(scope))
    .join(' ')
}

const SCOPE_DESCRIPTIONS = new Map([
  ['profile', 'Read and change your own account'],
  ['todos:read', 'Read your todos'],
  ['todos:write', 'Create, change and delete your todos'],
  ['admin', 'Administer users (admins only)'],
])

/** Every scope some role grants, with what it allows (for the OpenAPI document). */
export function describeScopes(roleScopes: RoleScopes): Record<string, string> {
  return Object.fromEntries(
    [...new Set(Object.values(roleScopes).flat())].map((scope) => [
      scope,
      SCOPE_DESCRIPTIONS.get(scope) ?? scope,
    ]),
  )
}
