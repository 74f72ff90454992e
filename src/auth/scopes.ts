/**
 * What each role may ask for. A token carries the scopes requested at login narrowed to these,
 * or all of them when none were requested.
 */
export const ROLE_SCOPES: Readonly<Record<string, readonly string[]>> = {
  user: ['profile', 'todos:read', 'todos:write'],
  admin: ['profile', 'todos:read', 'todos:write', 'admin'],
}

export function allowedScopes(roles: readonly string[]): string[] {
  return [...new Set(roles.flatMap((role) => ROLE_SCOPES[role] ?? []))]
}

function splitScopes(scope: string | undefined): string[] {
  return scope?.split(' ').filter((name) => name !== '') ?? []
}

/**
 * RFC 6749 §3.3: the granted scope may be narrower than the requested one; unknown ones are
 * dropped. Asking for nothing (or an empty scope) grants everything the roles allow.
 */
export function grantScopes(roles: readonly string[], requested: string | undefined): string {
  const wanted = splitScopes(requested)
  const allowed = allowedScopes(roles)
  return (wanted.length === 0 ? allowed : allowed.filter((scope) => wanted.includes(scope))).join(' ')
}

/** A session's granted scope, narrowed to what the user's current roles allow; never widened. */
export function narrowScopes(roles: readonly string[], granted: string): string {
  const kept = splitScopes(granted)
  return allowedScopes(roles)
    .filter((scope) => kept.includes(scope))
    .join(' ')
}
