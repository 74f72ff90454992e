import { Ajv } from 'ajv'
import addFormats from 'ajv-formats'
import type { FastifyInstance, FastifySchema, FastifySchemaCompiler, FastifyRequest } from 'fastify'
import { AppError, ValidationError, type FieldProblem } from './errors.ts'

/**
 * Bodies are validated strictly — JSON types as sent, no coercion — so `{"password": 123}` is a 422
 * rather than silently becoming "123". Query strings and path parameters arrive as text and are
 * coerced to their declared types. Unknown body properties are removed, as FastAPI/pydantic do.
 * A schema may word its own failure with `x-error-message` (instead of quoting a regex at users).
 */
function buildAjv(coerceTypes: boolean): Ajv {
  const ajv = new Ajv({
    allErrors: true,
    verbose: true,
    removeAdditional: true,
    useDefaults: true,
    coerceTypes,
    strict: false,
  })
  addFormats.default(ajv, ['uuid', 'date-time'])
  return ajv
}

export function registerValidation(app: FastifyInstance, sharedSchemas: object[]): void {
  const bodyAjv = buildAjv(false)
  const textAjv = buildAjv(true)
  for (const schema of sharedSchemas) {
    bodyAjv.addSchema(schema)
    textAjv.addSchema(schema)
    app.addSchema(schema)
  }
  const compiler: FastifySchemaCompiler<unknown> = ({ schema, httpPart }) =>
    (httpPart === 'body' ? bodyAjv : textAjv).compile(schema as object)
  app.setValidatorCompiler(compiler)
  app.setSchemaErrorFormatter((errors) => new ValidationError(onePerField(errors.map(toFieldProblem))))
}

interface AjvIssue {
  instancePath: string
  keyword: string
  message?: string | undefined
  params: Record<string, unknown>
  parentSchema?: { 'x-error-message'?: string }
}

function toFieldProblem(issue: AjvIssue): FieldProblem {
  const path = issue.instancePath.split('/').slice(1).map(decodePointer)
  if (issue.keyword === 'required' && typeof issue.params.missingProperty === 'string') {
    return { field: [...path, issue.params.missingProperty].join('.'), message: 'is required' }
  }
  const message = issue.parentSchema?.['x-error-message'] ?? issue.message ?? 'is invalid'
  return { field: path.length > 0 ? path.join('.') : 'body', message }
}

/**
 * A value failing a union (e.g. string-or-null) yields one error per branch plus one for the
 * union; the first — the branch the value was meant for — is the useful one.
 */
function onePerField(problems: FieldProblem[]): FieldProblem[] {
  const byField = new Map<string, FieldProblem>()
  for (const problem of problems) if (!byField.has(problem.field)) byField.set(problem.field, problem)
  return [...byField.values()]
}

function decodePointer(segment: string): string {
  return segment.replace(/~1/g, '/').replace(/~0/g, '~')
}

export type BodyType = 'json' | 'form'
export const MEDIA_TYPES: Record<BodyType, string> = {
  json: 'application/json',
  form: 'application/x-www-form-urlencoded',
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Body media types the route accepts; JSON only when not set. */
    bodyTypes?: BodyType[]
  }
}

/**
 * 415 for a body whose media type the route does not take, before anything parses it. The form
 * parser is registered for the whole app, so without this every JSON route would also take forms.
 */
export function registerBodyTypeGuard(app: FastifyInstance): void {
  app.removeContentTypeParser('text/plain')
  app.addHook('preParsing', (request, _reply, payload, done) => {
    if (!hasBody(request) || !routeTakesBody(request.routeOptions.schema)) {
      done(null, payload)
      return
    }
    const mediaType = (request.headers['content-type'] ?? '').split(';', 1)[0]?.trim().toLowerCase() ?? ''
    const accepted = (request.routeOptions.config.bodyTypes ?? ['json']).map((type) => MEDIA_TYPES[type])
    if (accepted.includes(mediaType)) {
      done(null, payload)
      return
    }
    done(
      new AppError(
        'UNSUPPORTED_MEDIA_TYPE',
        `This route accepts ${accepted.join(' or ')}${mediaType === '' ? '; no Content-Type was sent' : `, not ${mediaType}`}.`,
      ),
    )
  })
}

function hasBody(request: FastifyRequest): boolean {
  const length = request.headers['content-length']
  return request.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0')
}

function routeTakesBody(schema: FastifySchema | undefined): boolean {
  return schema?.body !== undefined
}
