import type { Context } from '../../../context.ts'
import type { TokenResponse } from '../../../identity/tokens/token-response.ts'
import { type RequestOrigin } from '../../../platform/http/request-context.ts'
import type { ClientTokenResponse, TokenRequestBody } from '../schemas.ts'

/** What a grant sees of a token request: its parameters, and the Basic credentials of a client. */
export interface TokenRequest {
  body: TokenRequestBody
  authorization: string | undefined
}

/**
 * One `grant_type` of the token endpoint (RFC 6749 §4). A grant checks the parameters it needs
 * (a missing one is `OAuthError('invalid_request')`) and exchanges them for tokens; its errors
 * answer in RFC 6749 §5.2 form like every other on this route.
 */
export interface Grant {
  readonly type: string
  exchange(
    ctx: Context,
    request: TokenRequest,
    origin: RequestOrigin,
  ): Promise<TokenResponse | ClientTokenResponse>
}
