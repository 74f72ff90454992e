import SerializerSelector from '@fastify/fast-json-stringify-compiler'
import {
  Ajv,
  str,
  type AnySchemaObject,
  type ErrorObject,
  type FuncKeywordDefinition,
  type ValidateFunction,
} from 'ajv'
import addFormats from 'ajv-formats'
import type {
  FastifyInstance,
  FastifyRequest,
  FastifySchema,
  FastifySchemaCompiler,
  preValidationHookHandler,
} from 'fastify'
import type { Static, TSchema } from 'typebox'
import { AppError, ValidationError, type FieldProblem } from './errors.ts'

/** Fastify's own serializer compiler (fast-json-stringify), which `registerValidation` defers. */
const buildSerializers = SerializerSelector()

/**
 * A check of a string that a schema cannot express (e.g. the password policy), run as the keyword
 * `keyword: true` alongside the others, so that a 422 names every invalid field at once.
 */
export interface StringCheck {
  keyword: string
  /** How the value fails, in words for the user; undefined when it passes. */
  problem: (value: string) => string | undefined
}

/**
 * Bodies are validated strictly — JSON types as sent, no coercion — so `{"password": 123}` is a 422
 * rather than silently becoming "123". Query strings and path parameters arrive as text and are
 * coerced to their declared types. Unknown body properties are removed, as FastAPI/pydantic do.
 * A schema may word its own failure with `x-error-message` (instead of quoting a regex at users).
 */
function buildAjv(coerceTypes: boolean, sharedSchemas: object[], checks: readonly StringCheck[]): Ajv {
  const ajv = new Ajv({
    allErrors: true,
    verbose: true,
    removeAdditional: true,
    useDefaults: true,
    coerceTypes,
    strict: false,
  })
  addFormats.default(ajv, ['uuid', 'date-time'])
  ajv.removeKeyword('pattern').addKeyword(patternWithinMaxLength)
  for (const check of checks) ajv.addKeyword(stringCheckKeyword(check))
  for (const schema of sharedSchemas) ajv.addSchema(schema)
  return ajv
}

/**
 * With `allErrors` every keyword of a schema runs, so a 64 KiB value would be matched against its
 * `pattern` although `maxLength` has already refused it. Costly keywords (patterns, string checks)
 * therefore skip a value that `maxLength` refuses; that failure alone is reported. `maxLength`
 * counts code points, as ajv's own does.
 */
function exceedsMaxLength(value: string, parentSchema: AnySchemaObject): boolean {
  const maxLength: unknown = parentSchema.maxLength
  if (typeof maxLength !== 'number' || value.length <= maxLength) return false
  let codePoints = 0
  for (let i = 0; i < value.length; i += 1) {
    const unit = value.charCodeAt(i)
    // A high surrogate followed by a low one is a single code point.
    if (unit >= 0xd800 && unit <= 0xdbff && (value.charCodeAt(i + 1) & 0xfc00) === 0xdc00) i += 1
    if (++codePoints > maxLength) return true
  }
  return false
}

/** JSON Schema's `pattern` (a `u` RegExp, unanchored), skipped for a value over its `maxLength`. */
const patternWithinMaxLength: FuncKeywordDefinition = {
  keyword: 'pattern',
  type: 'string',
  schemaType: 'string',
  errors: false,
  error: {
    message: ({ schemaCode }: { schemaCode: unknown }) => str`must match pattern "${schemaCode as string}"`,
  },
  compile(pattern: string, parentSchema: AnySchemaObject) {
    const regExp = new RegExp(pattern, 'u')
    return (value: string) => exceedsMaxLength(value, parentSchema) || regExp.test(value)
  },
}

function stringCheckKeyword({ keyword, problem }: StringCheck): FuncKeywordDefinition {
  return {
    keyword,
    type: 'string',
    schemaType: 'boolean',
    compile(enabled: boolean, parentSchema: AnySchemaObject) {
      const validate = (value: string): boolean => {
        const message = enabled && !exceedsMaxLength(value, parentSchema) ? problem(value) : undefined
        // Where ajv reads a failing keyword's errors; it adds the field's path to them.
        validate.errors = message === undefined ? undefined : [{ keyword, message, params: {} }]
        return message === undefined
      }
      validate.errors = undefined as Partial<ErrorObject>[] | undefined
      return validate
    },
  }
}

/**
 * Validators and serializers are compiled at a route's first use rather than at start-up, where
 * compiling every route's schemas (and each error response's) took a third of the start-up time.
 * The route tests reach every schema, so a broken one still fails the suite, not production.
 * Each is compiled once and kept: validation-compilation.test.ts counts the compilations.
 */
export function registerValidation(
  app: FastifyInstance,
  sharedSchemas: object[],
  checks: readonly StringCheck[] = [],
): void {
  let ajvs: { body: Ajv; text: Ajv } | undefined
  const ajvFor = (httpPart: string | undefined): Ajv => {
    ajvs ??= { body: buildAjv(false, sharedSchemas, checks), text: buildAjv(true, sharedSchemas, checks) }
    return httpPart === 'body' ? ajvs.body : ajvs.text
  }
  for (const schema of sharedSchemas) app.addSchema(schema)
  const compiler: FastifySchemaCompiler<unknown> = ({ schema, httpPart }) => {
    let compiled: ValidateFunction | undefined
    const validate = (data: unknown) => {
      compiled ??= ajvFor(httpPart).compile(schema as object)
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
 * Checks a body outside HTTP (the CLI) against a route's schema, as the route would: the same
 * keywords and messages, unknown properties removed, and a `ValidationError` naming each field.
 */
export function checkBody<S extends TSchema>(schema: S, value: unknown): Static<S> {
  let validate = standaloneValidators.get(schema)
  if (validate === undefined) {
    standaloneAjv ??= buildAjv(false, [], [])
    validate = standaloneAjv.compile(schema)
    standaloneValidators.set(schema, validate)
  }
  if (!validate(value))
    throw new ValidationError(onePerField(((validate.errors ?? []) as AjvIssue[]).map(toFieldProblem)))
  return value as Static<S>
}

let standaloneAjv: Ajv | undefined
const standaloneValidators = new WeakMap<object, ValidateFunction>()

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
    /**
     * The body may be left out: no body at all, or an empty one labelled `application/json`, is
     * taken as `{}` (e.g. `fetch(url, {method: 'POST', credentials: 'include'})` to `/auth/refresh`).
     */
    bodyOptional?: boolean
  }
}

/** The media type of the request's `Content-Type`, lower case and without parameters; '' for none. */
export function mediaTypeOf(request: FastifyRequest): string {
  return (request.headers['content-type'] ?? '').split(';', 1)[0]?.trim().toLowerCase() ?? ''
}

/** The request's body is labelled a form (empty or not): what a cross-site HTML `<form>` sends. */
export function sendsForm(request: FastifyRequest): boolean {
  return mediaTypeOf(request) === MEDIA_TYPES.form
}

/**
 * 415 for a body whose media type the route does not take, before anything parses it. The form
 * parser is registered for the whole app, so without this every JSON route would also take forms.
 * An empty body is judged by its `Content-Type` too: an empty form is still a form, and on a JSON
 * route it must not pass as "no body" (a cross-site `<form>` with no fields sends exactly that).
 */
export function registerBodyTypeGuard(app: FastifyInstance): void {
  app.removeContentTypeParser('text/plain')
  registerOptionalBodies(app)
  app.addHook('preParsing', (request, _reply, payload, done) => {
    if (!routeTakesBody(request.routeOptions.schema)) {
      done(null, payload)
      return
    }
    const mediaType = mediaTypeOf(request)
    if (!hasBody(request) && mediaType === '') {
      done(null, payload)
      return
    }
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

/**
 * `bodyOptional` routes: Fastify's JSON parser refuses an empty body (FST_ERR_CTP_EMPTY_JSON_BODY)
 * and a request without one reaches validation as `undefined`; both become `{}` there. Every other
 * route keeps Fastify's parser as it is (prototype poisoning refused) and its 400 for an empty body.
 */
function registerOptionalBodies(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error')
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body: string, done) => {
    if (body.length === 0 && request.routeOptions.config.bodyOptional === true) done(null, undefined)
    else void parseJson(request, body, done)
  })
  // On those routes only, so that no other request pays for the hook.
  app.addHook('onRoute', (route) => {
    if (route.config?.bodyOptional !== true) return
    const noBodyAsEmpty: preValidationHookHandler = (request, _reply, done) => {
      if (request.body === undefined) request.body = {}
      done()
    }
    route.preValidation = [noBodyAsEmpty, ...[route.preValidation ?? []].flat()]
  })
}

function hasBody(request: FastifyRequest): boolean {
  const length = request.headers['content-length']
  return request.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0')
}

function routeTakesBody(schema: FastifySchema | undefined): boolean {
  return schema?.body !== undefined
}
