import { Type, type Static } from 'typebox'
import { LinkToken } from '../../identity/one-time-tokens.ts'

export const VerifyEmailBody = Type.Object({ token: LinkToken }, { additionalProperties: false })
export type VerifyEmailBody = Static<typeof VerifyEmailBody>
