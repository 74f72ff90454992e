import { clientCredentialsGrant } from './client-credentials.ts'
import type { Grant } from './grant.ts'
import { passwordGrant } from './password.ts'
import { refreshTokenGrant } from './refresh-token.ts'

/** The grants `POST /auth/token` accepts, by `grant_type`. A new grant is a file here and a line below. */
export const GRANTS: ReadonlyMap<string, Grant> = new Map(
  [passwordGrant, refreshTokenGrant, clientCredentialsGrant].map((grant) => [grant.type, grant]),
)
