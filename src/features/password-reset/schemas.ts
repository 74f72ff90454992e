import { Type, type Static } from 'typebox'
import { LinkToken } from '../../identity/one-time-tokens.ts'
import { Email, NewPassword } from '../../identity/users/schemas.ts'

export const ForgotPasswordBody = Type.Object({ email: Email }, { additionalProperties: false })
export type ForgotPasswordBody = Static<typeof ForgotPasswordBody>

export const ResetPasswordBody = Type.Object(
  { token: LinkToken, new_password: NewPassword },
  { additionalProperties: false },
)
export type ResetPasswordBody = Static<typeof ResetPasswordBody>
