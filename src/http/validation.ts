import { Ajv, type ValidateFunction } from 'ajv'
import addFormats from 'ajv-formats'
import SerializerSelector from '@fastify/fast-json-stringify-compiler'
import type { FastifyInstance, FastifySchema, FastifySchemaCompiler, FastifyRequest } from 'fastify'
import { AppError, ValidationError, type FieldProblem } from './errors.ts'

/** Fastify's own serializer compiler (fast-json-stringify), which `registerValidation` defers. */
const buildSerializers = SerializerSelector()

/**
 * Bodies are validated strictly — JSON types as sent, no coercion — so `{"password": 123}` is a 422
 * rather than silently becoming "123". Query strings and path parameters arrive as text and are
 * coerced to their declared types. Unknown body properties are removed, as FastAPI/pydantic do.
 * A schema may word its own failure with `x-error-message` (instead of quoting a regex at users).
 */
function buildAjv(coerceTypes: boolean, sharedSchemas: object[]): Ajv {
  const ajv = new Ajv({
    allErrors: true,
    verbose: true,
    removeAdditional: true,
    useDefaults: true,
    coerceTypes,
    strict: false,
  })
  addFormats.default(ajv, ['uuid', 'date-time'])
  for (const schema of sharedSchemas) ajv.addSchema(schema)
  return ajv
}

/**
 * Validators and serializers are compiled at a route's first use rather than at start-up, where
 * compiling every route's schemas (and each error response's) took a third of the start-up time.
 * The route tests reach every schema, so a broken one still fails the suite, not production.
 */
export function registerValidation(app: FastifyInstance, sharedSchemas: object[]): void {
  let ajvs: { body: Ajv; text: Ajv } | undefined
  const ajvFor = (httpPart: string | undefined): Ajv => {
    ajvs ??= { body: buildAjv(false, sharedSchemas), text: buildAjv(true, sharedSchemas) }
    return httpPart === 'body' ? ajvs.body : ajvs.text
  }
  for (const schema of sharedSchemas) app.addSchema(schema)
  const compiler: FastifySchemaCompiler<unknown> = ({ schema, httpPart }) => {
    let compiled: ValidateFunction | undefined
    const validate = (data: unknown) => {
      compiled ??= ajvFor(httpPart).compile(lengthBeforePattern(schema))
      const valid = compiled(data)
      validate.errors = compiled.errors // where Fastify reads a failure's details
      return valid
    }
    validate.errors = undefined as ValidateFunction['errors']
    return validate
  }
  app.setValidatorCompiler(compiler)
  const serializers = buildSerializers(
    Object.fromEntries(sharedSchemas.map((schema) => [String((schema as { $id?: unknown }).$id), schema])),
    {},
  )
  app.setSerializerCompiler(({ method, url, httpStatus, schema }) => {
    let serialize: ((data: unknown) => string) | undefined
    return (data) => (serialize ??= serializers({ method, url, httpStatus: httpStatus ?? '', schema }))(data)
  })
  app.setSchemaErrorFormatter((errors) => new ValidationError(onePerField(errors.map(toFieldProblem))))
}

/**
 * With `allErrors` ajv runs every keyword, so a 64 KiB string refused by `maxLength` would still
 * be matched against its `pattern`. Each pattern moves under `if: {length bounds}, then:`, so it
 * runs only on strings of an acceptable length; its `x-error-message` goes with it. (Patterns are
 * linear anyway: this bounds their input too.)
 */
export function lengthBeforePattern(schema: unknown): object {
  return rewrite(schema) as object
  function rewrite(node: unknown): unknown {
    if (Array.isArray(node)) return node.map(rewrite)
    if (node === null || typeof node !== 'object') return node
    const copy: Record<string, unknown> = {}
    for (const [key, value] of Object.entries(node)) copy[key] = rewrite(value)
    const { pattern, maxLength, minLength } = copy
    if (typeof pattern !== 'string' || (maxLength === undefined && minLength === undefined)) return copy
    delete copy.pattern
    const bounds = {
      ...(maxLength !== undefined && { maxLength }),
      ...(minLength !== undefined && { minLength }),
    }
    const message = copy['x-error-message']
    return {
      ...copy,
      if: bounds,
      then: { pattern, ...(message !== undefined && { 'x-error-message': message }) },
    }
  }
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
