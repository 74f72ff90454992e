import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyInstance } from 'fastify'
import type { Context } from './context.ts'
import { adminRoutes } from './features/admin/routes.ts'
import { clientRoutes } from './features/clients/routes.ts'
import { emailVerificationRoutes } from './features/email-verification/routes.ts'
import { jwksRoutes } from './features/jwks/routes.ts'
import { loginRoutes } from './features/login/routes.ts'
import { meRoutes } from './features/me/routes.ts'
import { opsRoutes } from './features/ops/routes.ts'
import { passwordResetRoutes } from './features/password-reset/routes.ts'
import { adminPersonalTokenRoutes, personalTokenRoutes } from './features/personal-access-tokens/routes.ts'
import { sessionRoutes } from './features/sessions/routes.ts'
import { signupRoutes } from './features/signup/routes.ts'
import { todoRoutes } from './features/todos/routes.ts'
import { authorizationServerMetadataRoutes, tokenRoutes } from './features/token/routes.ts'

interface FeatureRoutes {
  feature: string
  prefix: string
  routes: (ctx: Context) => FastifyPluginAsyncTypebox
}

/**
 * Every feature's routes and the prefix they live under. Each route declares, beside its schema and
 * handler, the guard (`requireAuth`, `requireScope`, `requireRole`) and the per-address limit it
 * needs in its `config`; `installRouteGuards` enforces them and writes them into the OpenAPI
 * document. The README's route table lists them all, and a test keeps it in step.
 */
export const ROUTES: readonly FeatureRoutes[] = [
  { feature: 'ops', prefix: '', routes: opsRoutes },
  { feature: 'jwks', prefix: '/.well-known', routes: jwksRoutes },
  { feature: 'token', prefix: '/.well-known', routes: authorizationServerMetadataRoutes },
  { feature: 'signup', prefix: '/auth', routes: signupRoutes },
  { feature: 'login', prefix: '/auth', routes: loginRoutes },
  { feature: 'token', prefix: '/auth', routes: tokenRoutes },
  { feature: 'sessions', prefix: '/auth', routes: sessionRoutes },
  { feature: 'password-reset', prefix: '/auth/password', routes: passwordResetRoutes },
  { feature: 'email-verification', prefix: '/auth/email/verify', routes: emailVerificationRoutes },
  { feature: 'me', prefix: '/me', routes: meRoutes },
  { feature: 'personal-access-tokens', prefix: '/me/tokens', routes: personalTokenRoutes },
  { feature: 'todos', prefix: '/todos', routes: todoRoutes },
  { feature: 'admin', prefix: '/admin', routes: adminRoutes },
  { feature: 'personal-access-tokens', prefix: '/admin/users', routes: adminPersonalTokenRoutes },
  { feature: 'clients', prefix: '/admin/clients', routes: clientRoutes },
]

export async function registerRoutes(app: FastifyInstance, ctx: Context): Promise<void> {
  for (const { routes, prefix } of ROUTES) await app.register(routes(ctx), { prefix })
}
