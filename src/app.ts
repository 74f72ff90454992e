import cookie from '@fastify/cookie'
import cors from '@fastify/cors'
import formbody from '@fastify/formbody'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import { createGuards } from './auth/guard.ts'
import { PASSWORD_POLICY_CHECK } from './auth/password-policy.ts'
import { authRoutes } from './auth/routes.ts'
import { TokenResponse } from './auth/schemas.ts'
import { registerErrorHandling } from './http/error-handler.ts'
import { registerAccessLog } from './http/logging.ts'
import { registerOpenApi } from './http/openapi.ts'
import { requestIdFor } from './http/request-context.ts'
import { registerResponseHeaders } from './http/security-headers.ts'
import { ErrorEnvelope } from './http/schemas.ts'
import { registerBodyTypeGuard, registerValidation } from './http/validation.ts'
import { keyRoutes } from './keys/routes.ts'
import { operationsRoutes } from './ops/routes.ts'
import type { Services } from './services.ts'
import { NORMALIZED_EMAIL_CHECK } from './users/identity.ts'
import { User } from './users/schemas.ts'
import { userRoutes } from './users/routes.ts'
import { sessionRoutes } from './sessions/routes.ts'
import { todoRoutes } from './todos/routes.ts'
import { adminRoutes } from './admin/routes.ts'
import { accountRoutes } from './account/routes.ts'

export const BODY_LIMIT_BYTES = 64 * 1024

/**
 * Builds the HTTP app on already-open services. It never listens: the server (or a test, through
 * `inject`) decides that. Closing the app does not close the services.
 */
export async function buildApp(services: Services): Promise<FastifyInstance> {
  const { config } = services
  // Fastify's instance type is generic over the logger; pin it to the base type every plugin expects.
  const logger: FastifyBaseLogger = services.logger
  const app = Fastify({
    loggerInstance: logger,
    // Fastify's two lines per request give way to our one access line (http/logging.ts).
    logController: new LogController({ requestIdLogLabel: 'request_id', disableRequestLogging: true }),
    genReqId: requestIdFor,
    bodyLimit: BODY_LIMIT_BYTES,
    trustProxy: trustProxyOption(config.trustProxy),
    // While stopping, requests on open keep-alive connections are still served (with
    // `Connection: close`, see server.ts) rather than refused with a body outside the contract.
    return503OnClosing: false,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
  }).withTypeProvider<TypeBoxTypeProvider>()

  registerResponseHeaders(app, {
    // Swagger UI (/docs) runs its own inline bootstrap; everything else is JSON.
    contentSecurityPolicy: {
      directives: { 'script-src': ["'self'", "'unsafe-inline'"], 'img-src': ["'self'", 'data:'] },
    },
    hsts: config.production,
  })
  registerAccessLog(app)
  services.metrics.register(app)
  registerErrorHandling(app)
  registerValidation(
    app,
    [ErrorEnvelope, User, TokenResponse],
    [PASSWORD_POLICY_CHECK, NORMALIZED_EMAIL_CHECK],
  )
  registerBodyTypeGuard(app)
  await app.register(formbody, { bodyLimit: BODY_LIMIT_BYTES })
  await app.register(cookie)
  // CORS is off unless origins are listed; they may send credentials (the refresh cookie).
  if (config.corsOrigins.length > 0) {
    const allowed = new Set(config.corsOrigins)
    await app.register(cors, {
      delegator: (request, callback) => {
        const origin = request.headers.origin
        callback(
          null,
          origin !== undefined && allowed.has(origin)
            ? { origin, credentials: true, maxAge: 600 }
            : { origin: false },
        )
      },
    })
  }
  await registerOpenApi(app, {
    roleScopes: config.roleScopes,
    serve: config.docs,
    metricsToken: config.metricsToken !== undefined,
  })

  const guards = createGuards(services.accessTokens, services.db)
  await app.register(operationsRoutes(services))
  await app.register(keyRoutes(services.keys))
  await app.register(authRoutes(services))
  await app.register(sessionRoutes(services, guards))
  await app.register(userRoutes(services, guards))
  await app.register(accountRoutes(services, guards))
  await app.register(todoRoutes(services, guards))
  await app.register(adminRoutes(services, guards))
  return app
}

/** A hop count trusts that many proxies nearest to us, as Express and proxy-addr define it. */
function trustProxyOption(
  setting: boolean | number | string[],
): boolean | string[] | ((address: string, hop: number) => boolean) {
  return typeof setting === 'number' ? (_address, hop) => hop < setting : setting
}
