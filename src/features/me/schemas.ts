import { Type, type Static } from 'typebox'
import { FullName, Username } from '../../identity/users/schemas.ts'

export const UpdateMeBody = Type.Object(
  {
    full_name: Type.Optional(Type.Union([FullName, Type.Null()])),
    username: Type.Optional(Type.Union([Username, Type.Null()])),
  },
  { additionalProperties: false },
)
export type UpdateMeBody = Static<typeof UpdateMeBody>

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
