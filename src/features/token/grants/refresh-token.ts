import { refreshWithToken } from '../../../identity/sessions/refresh.ts'
import { OAuthError } from '../../../platform/http/errors.ts'
import type { Grant } from './grant.ts'

/** RFC 6749 §6: the same rotation as `POST /auth/refresh`. */
export const refreshTokenGrant: Grant = {
  type: 'refresh_token',
  async exchange(ctx, { body }, origin) {
    if (body.refresh_token === undefined) {
      throw new OAuthError('invalid_request', 'The refresh_token grant needs refresh_token.')
    }
    return refreshWithToken(ctx, body.refresh_token, origin)
  },
}
