import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance } from 'fastify'
import { MEDIA_TYPES } from './validation.ts'

export interface OpenApiOptions {
  /** The OAuth scopes users' tokens can carry, with what each allows. */
  scopes: Readonly<Record<string, string>>
  /** Gatehouse's own scopes of machine clients (which may also have any the deployment names). */
  clientScopes: Readonly<Record<string, string>>
  /** `/docs` (Swagger UI) and `/openapi.json` are served; without, the document is only built (`gatehouse openapi`). */
  serve: boolean
  /** `/metrics` takes `METRICS_TOKEN` as a bearer token. */
  metricsToken: boolean
}

/**
 * OpenAPI 3.1 generated from the route schemas, and Swagger UI at /docs whose Authorize button
 * runs the OAuth2 password flow against /auth/token.
 */
export async function registerOpenApi(
  app: FastifyInstance,
  { scopes, clientScopes, serve, metricsToken }: OpenApiOptions,
): Promise<void> {
  // @fastify/swagger marks every request body required; a `bodyOptional` route's is not.
  const optionalBodies = new Set<string>()
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Gatehouse',
        version: '0.1.0',
        description:
          'Authentication service: signup, login, short-lived JWT access tokens, rotating refresh tokens, JWKS. ' +
          'Every error is `{"error": {"code", "message", "request_id", "details?"}}` except on `/auth/token` (RFC 6749 §5.2).',
      },
      components: {
        securitySchemes: {
          OAuth2PasswordBearer: {
            type: 'oauth2',
            description:
              'Log in with a username (or email) and password; the access token is sent as a bearer token. ' +
              'A registered machine client gets a token of its own with the client-credentials flow (its routes are ' +
              "the OAuth endpoints' and other services': every route here that acts on a user answers it `403`).",
            flows: {
              password: { tokenUrl: '/auth/token', scopes },
              clientCredentials: { tokenUrl: '/auth/token', scopes: clientScopes },
            },
          },
          ...(metricsToken && {
            MetricsToken: {
              type: 'http',
              scheme: 'bearer',
              description: 'The `METRICS_TOKEN` of the configuration, for Prometheus.',
            },
          }),
        },
      },
    },
    // The request body's media types come from the route's `bodyTypes`, the list the body-type guard
    // enforces, so the document cannot offer JSON to a form-only route such as /auth/token; a route's
    // own body limit is named in its description.
    transform: ({ schema, url, route }) => {
      if (schema.body === undefined) return { schema, url }
      if (route.config?.bodyOptional === true) {
        for (const method of [route.method].flat()) optionalBodies.add(operationKey(method, url))
      }
      const bodyTypes = route.config?.bodyTypes
      const limit = route.bodyLimit && `A body over ${route.bodyLimit / 1024} KiB is a \`413\`.`
      const description = [schema.description, limit].filter((text) => text !== undefined).join(' ')
      return {
        schema: {
          ...schema,
          ...(description !== '' && { description }),
          ...(bodyTypes !== undefined && { consumes: bodyTypes.map((type) => MEDIA_TYPES[type]) }),
        },
        url,
      }
    },
    transformObject: (documentObject) => {
      if (!('openapiObject' in documentObject)) return documentObject.swaggerObject
      const document = documentObject.openapiObject
      for (const [url, item] of Object.entries(document.paths ?? {})) {
        for (const [method, operation] of Object.entries(item ?? {})) {
          const body = (operation as { requestBody?: { required?: boolean } } | undefined)?.requestBody
          if (body !== undefined && optionalBodies.has(operationKey(method, url))) body.required = false
        }
      }
      return document
    },
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, index) =>
        typeof json.$id === 'string' ? json.$id : `def-${index}`,
    },
  })
  if (!serve) return
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger())
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    uiConfig: { deepLinking: false, tryItOutEnabled: true, persistAuthorization: false },
  })
}

/** `post /todos/{id}` for Fastify's `POST /todos/:id` and OpenAPI's path alike. */
function operationKey(method: string, url: string): string {
  return `${method.toLowerCase()} ${url.replace(/:(\w+)/g, '{$1}')}`
}
