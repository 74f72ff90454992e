import type { Context } from '../../context.ts'
import { recordAuditEvent } from '../../identity/audit/audit-log.ts'
import { createAccount } from '../../identity/users/accounts.ts'
import type { User } from '../../identity/users/schemas.ts'
import { type RequestOrigin } from '../../platform/http/request-context.ts'
import type { SignupBody } from './schemas.ts'

export async function signup(
  ctx: Pick<Context, 'db' | 'clock' | 'hasher'>,
  body: SignupBody,
  origin: RequestOrigin,
): Promise<User> {
  const user = await createAccount(ctx, {
    email: body.email,
    password: body.password,
    username: body.username,
    fullName: body.full_name,
    roles: ['user'],
  })
  await recordAuditEvent(ctx.db, ctx.clock, { type: 'signup', userId: user.id, origin })
  return user
}
