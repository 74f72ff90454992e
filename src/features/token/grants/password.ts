import { loginWithPassword } from '../../../identity/login/login.ts'
import { OAuthError } from '../../../platform/http/errors.ts'
import type { Grant } from './grant.ts'

/**
 * RFC 6749 §4.3: the same login as `POST /auth/login`, its checks and throttles included — the
 * per-address login budget too, spent here since the grant is known only from the body.
 */
export const passwordGrant: Grant = {
  type: 'password',
  async exchange(ctx, { body }, origin) {
    if (body.username === undefined || body.password === undefined) {
      throw new OAuthError('invalid_request', 'The password grant needs username and password.')
    }
    await ctx.limits.spendAddressBudget('login', origin.ip)
    return loginWithPassword(
      ctx,
      { username: body.username, password: body.password, scope: body.scope },
      origin,
    )
  },
}
