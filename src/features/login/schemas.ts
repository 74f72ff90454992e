import { Type, type Static } from 'typebox'
import { LoginName, Password, Scope } from '../../identity/login/schemas.ts'

export const LoginBody = Type.Object(
  { username: LoginName, password: Password, scope: Type.Optional(Scope) },
  { additionalProperties: false },
)
export type LoginBody = Static<typeof LoginBody>
