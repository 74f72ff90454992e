import { Type, type Static } from 'typebox'
import { Email, FullName, NewPassword, Username } from '../../identity/users/schemas.ts'

export const SignupBody = Type.Object(
  {
    email: Email,
    password: NewPassword,
    username: Type.Optional(Username),
    full_name: Type.Optional(FullName),
  },
  { additionalProperties: false },
)
export type SignupBody = Static<typeof SignupBody>
