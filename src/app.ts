import cookie from '@fastify/cookie'
import cors from '@fastify/cors'
import formbody from '@fastify/formbody'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import type { Context } from './context.ts'
import { accessTokenAuthenticator } from './identity/guard/authenticators/access-token.ts'
import { personalAccessTokenAuthenticator } from './identity/guard/authenticators/personal-access-token.ts'
import { CLIENT_SCOPE_DESCRIPTIONS } from './identity/clients/scopes.ts'
import { installRouteGuards } from './identity/guard/route-guards.ts'
import { describeScopes } from './identity/tokens/scopes.ts'
import { TokenResponse } from './identity/tokens/token-response.ts'
import { NORMALIZED_EMAIL_CHECK } from './identity/users/login-names.ts'
import { PASSWORD_POLICY_CHECK } from './identity/users/password-policy.ts'
import { User } from './identity/users/schemas.ts'
import { registerErrorHandling } from './platform/http/error-handler.ts'
import { registerAccessLog } from './platform/http/logging.ts'
import { registerOpenApi } from './platform/http/openapi.ts'
import { requestIdFor } from './platform/http/request-context.ts'
import { ErrorEnvelope } from './platform/http/schemas.ts'
import { registerResponseHeaders } from './platform/http/security-headers.ts'
import { registerBodyTypeGuard, registerValidation } from './platform/http/validation.ts'
import { registerRoutes } from './routes.ts'

export const BODY_LIMIT_BYTES = 64 * 1024

/**
 * Builds the HTTP app on an already-open context. It never listens: the server (or a test, through
 * `inject`) decides that. Closing the app does not close the context.
 */
export async function buildApp(ctx: Context): Promise<FastifyInstance> {
  const { config } = ctx
  // Fastify's instance type is generic over the logger; pin it to the base type every plugin expects.
  const logger: FastifyBaseLogger = ctx.logger
  const app = Fastify({
    loggerInstance: logger,
    // Fastify's two lines per request give way to our one access line (platform/http/logging.ts).
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
  ctx.metrics.register(app)
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
  installRouteGuards(app, {
    db: ctx.db,
    limits: ctx.limits,
    // The access-token authenticator recognizes any token, so it goes last.
    authenticators: [
      personalAccessTokenAuthenticator({
        db: ctx.db,
        clock: ctx.clock,
        revocations: ctx.revocations,
        roleScopes: config.roleScopes,
      }),
      accessTokenAuthenticator(ctx.accessTokens),
    ],
  })
  await registerOpenApi(app, {
    scopes: describeScopes(config.roleScopes),
    clientScopes: CLIENT_SCOPE_DESCRIPTIONS,
    serve: config.docs,
    metricsToken: config.metricsToken !== undefined,
  })

  await registerRoutes(app, ctx)
  return app
}

/** A hop count trusts that many proxies nearest to us, as Express and proxy-addr define it. */
function trustProxyOption(
  setting: boolean | number | string[],
): boolean | string[] | ((address: string, hop: number) => boolean) {
  return typeof setting === 'number' ? (_address, hop) => hop < setting : setting
}
