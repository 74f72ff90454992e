import type { Principal } from '../principal.ts'

/**
 * One kind of bearer credential the guard accepts. The guard asks each authenticator in turn
 * whether it `recognizes` the token (a personal access token by its prefix, say) and lets the
 * first that does authenticate it; the access-token authenticator, last, recognizes any token.
 * `authenticate` throws an `AuthenticationError` for a credential that is not (or no longer) valid.
 */
export interface Authenticator {
  recognizes(token: string): boolean
  authenticate(token: string): Promise<Principal>
}
