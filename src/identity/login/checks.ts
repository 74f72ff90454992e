import { accountDisabled, type AppError } from '../../platform/http/errors.ts'
import type { RequestOrigin } from '../../platform/http/request-context.ts'
import type { SessionAuthentication } from '../sessions/store.ts'
import type { UserRecord } from '../users/store.ts'

/** A login whose first proof (today a password; later a user-verified passkey) holds. */
export interface ProvenLogin {
  user: UserRecord
  /** The login name as it was typed, for the audit trail. */
  username: string
  origin: RequestOrigin
  /** How the user proved who they are so far (a password: `amr` `pwd`, `acr` `aal1`). */
  authentication: SessionAuthentication
}

/** A check's refusal: the reason the audit trail records, the error the client gets. */
export interface LoginRefusal {
  reason: string
  error: AppError
  /** Runs once the refusal is recorded: e.g. mail a new verification link. */
  afterRecorded?: () => Promise<void>
}

/**
 * A rule every login must pass once its first proof holds, run in the order the composition lists
 * them (`loginChecks` in compose.ts): a disabled account, an unverified address, later a second
 * factor. Checks run only after the right password, so a guesser learns nothing from them.
 */
export type LoginCheck = (login: ProvenLogin) => Promise<LoginRefusal | undefined>

export const refuseDisabledAccount: LoginCheck = async ({ user }) =>
  user.disabled ? { reason: 'disabled', error: accountDisabled() } : undefined
