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

/** RFC 6749 §3.3: the granted scope may be narrower than the requested one; unknown ones are dropped. */
export function grantScopes(roles: readonly string[], requested: string | undefined): string {
  const allowed = allowedScopes(roles)
  const wanted = requested?.split(' ').filter((scope) => scope !== '')
  if (wanted === undefined || wanted.length === 0) return allowed.join(' ')
  return allowed.filter((scope) => wanted.includes(scope)).join(' ')
}
