import { Type, type Static } from 'typebox'
import { NewPassword } from '../../identity/tokens/schemas.ts'
import { Email } from '../../identity/users/schemas.ts'

const LinkToken = Type.String({
  minLength: 1,
  maxLength: 256,
  description: 'The `token` query parameter of the link in the mail.',
})

/*
 * The current password can only be checked once the body is valid, so here the policy runs in the
 * service beside that check (a wrong current and a weak new password are one 422 naming both),
 * and an empty current password is simply not the current one.
 */
export const ChangePasswordBody = Type.Object(
  {
    current_password: Type.String({ maxLength: 1024 }),
    new_password: Type.String({
      minLength: 1,
      maxLength: 1024,
      description: '8 to 128 characters, not a common password, not the email address or username.',
    }),
  },
  { additionalProperties: false },
)
export type ChangePasswordBody = Static<typeof ChangePasswordBody>

export const ForgotPasswordBody = Type.Object({ email: Email }, { additionalProperties: false })
export type ForgotPasswordBody = Static<typeof ForgotPasswordBody>

export const ResetPasswordBody = Type.Object(
  { token: LinkToken, new_password: NewPassword },
  { additionalProperties: false },
)
export type ResetPasswordBody = Static<typeof ResetPasswordBody>

export const VerifyEmailBody = Type.Object({ token: LinkToken }, { additionalProperties: false })
export type VerifyEmailBody = Static<typeof VerifyEmailBody>
