import type { Context } from '../../context.ts'
import { revokePersonalToken } from '../../identity/personal-access-tokens/revocation.ts'
import { listPersonalTokens, type PersonalToken } from '../../identity/personal-access-tokens/store.ts'
import {
  createPersonalToken,
  type PersonalTokenCreator,
} from '../../identity/personal-access-tokens/tokens.ts'
import { findUserById } from '../../identity/users/store.ts'
import { notFound } from '../../platform/http/errors.ts'
import type { RequestOrigin } from '../../platform/http/request-context.ts'
import type { CreateTokenBody, PersonalTokenView } from './schemas.ts'

const toView = (token: PersonalToken): PersonalTokenView => ({
  id: token.id,
  name: token.name,
  scope: token.scope,
  created_at: token.createdAt,
  expires_at: token.expiresAt,
  last_used_at: token.lastUsedAt,
})

export async function createToken(
  ctx: Pick<Context, 'db' | 'clock' | 'config'>,
  creator: PersonalTokenCreator,
  body: CreateTokenBody,
  origin: RequestOrigin,
): Promise<PersonalTokenView & { token: string }> {
  const deps = {
    db: ctx.db,
    clock: ctx.clock,
    roleScopes: ctx.config.roleScopes,
    maxTtlSeconds: ctx.config.patMaxTtlSeconds,
  }
  const created = await createPersonalToken(
    deps,
    creator,
    { name: body.name, scope: body.scope, expiresIn: body.expires_in },
    origin,
  )
  return { ...toView(created), token: created.token }
}

export async function listTokens(ctx: Pick<Context, 'db'>, userId: string) {
  return { items: (await listPersonalTokens(ctx.db, userId)).map(toView) }
}

/**
 * Deletes the user's token `id` — at once on every instance, audited (see `revokePersonalToken`);
 * `404` when the user has no such token.
 */
export async function deleteToken(
  ctx: Pick<Context, 'db' | 'clock' | 'revocations'>,
  actorId: string,
  userId: string,
  id: string,
  origin: RequestOrigin,
): Promise<void> {
  if (!(await revokePersonalToken(ctx, userId, id, actorId, origin))) throw notFound('personal access token')
}

/** An admin's view of another user's tokens: `404` for an unknown user, not an empty list. */
export async function listTokensOfUser(ctx: Pick<Context, 'db'>, userId: string) {
  if (!(await findUserById(ctx.db, userId))) throw notFound('user')
  return listTokens(ctx, userId)
}
