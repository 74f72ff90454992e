import assert from 'node:assert/strict'
import { describe, it, mock } from 'node:test'
import { Ajv } from 'ajv'
import Fastify, { type FastifyInstance } from 'fastify'
import { registerValidation } from '../../../src/platform/http/validation.ts'

/*
 * Validators and serializers are compiled at a route's first use (not at start-up, where compiling
 * them all cost a third of it), and then kept: these tests fail if they are compiled eagerly again,
 * or afresh on every request.
 */

const Item = {
  $id: 'Item',
  type: 'object',
  properties: { id: { type: 'string' }, name: { type: 'string' } },
  required: ['id', 'name'],
}

/** A response schema that counts how often it is read: the serializer compiler reads it to compile. */
function countingSchema(schema: object): { schema: object; reads: () => number } {
  let reads = 0
  const counted = new Proxy(schema, {
    get: (target, property, receiver) => {
      reads += 1
      return Reflect.get(target, property, receiver) as unknown
    },
  })
  return { schema: counted, reads: () => reads }
}

async function appWithRoutes(response: object): Promise<FastifyInstance> {
  const app = Fastify()
  registerValidation(app, [Item])
  app.post(
    '/items/:id',
    {
      schema: {
        params: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] },
        querystring: { type: 'object', properties: { verbose: { type: 'boolean' } } },
        body: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] },
        response: { 200: response },
      },
    },
    (request) => ({ id: (request.params as { id: string }).id, name: 'x', secret: 'not declared' }),
  )
  app.get(
    '/items',
    { schema: { querystring: { type: 'object', properties: { limit: { type: 'integer' } } } } },
    () => [],
  )
  await app.ready()
  return app
}

describe('Validation: compiled at first use, once', () => {
  it('compiles no validator at start-up, each once at its route’s first request, none after', async () => {
    const compile = mock.method(Ajv.prototype, 'compile')
    // Every Ajv adds its keywords as it is built, and registerValidation adds its own.
    const addKeyword = mock.method(Ajv.prototype, 'addKeyword')
    try {
      const app = await appWithRoutes({ $ref: 'Item#' })
      assert.equal(compile.mock.callCount(), 0, 'nothing compiled before the first request')
      assert.equal(addKeyword.mock.callCount(), 0, 'no Ajv built before the first request')
      const post = (url: string, payload: object) => app.inject({ method: 'POST', url, payload })
      assert.equal((await post('/items/1?verbose=true', { name: 'a' })).statusCode, 200)
      const perRoute = compile.mock.callCount()
      assert.equal(perRoute, 3, 'params, query string and body')
      const keywordsAtFirstUse = addKeyword.mock.callCount()
      for (let i = 0; i < 10; i += 1) {
        assert.equal((await post(`/items/${i}?verbose=false`, { name: 'b' })).statusCode, 200)
        assert.notEqual((await post(`/items/${i}`, { name: 7 })).statusCode, 200)
      }
      assert.equal(compile.mock.callCount(), perRoute, 'no request compiled anything again')
      assert.equal((await app.inject({ method: 'GET', url: '/items?limit=5' })).statusCode, 200)
      assert.equal(compile.mock.callCount(), perRoute + 1, 'another route: its own validator')
      assert.equal(addKeyword.mock.callCount(), keywordsAtFirstUse, 'the same two Ajvs serve every route')
      await app.close()
    } finally {
      compile.mock.restore()
      addKeyword.mock.restore()
    }
  })

  it('compiles a response serializer at its first use, once', async () => {
    const { schema, reads } = countingSchema({
      type: 'object',
      properties: { id: { type: 'string' }, name: { type: 'string' } },
    })
    const app = await appWithRoutes(schema)
    const readsAtStart = reads()
    const post = async () => {
      const response = await app.inject({ method: 'POST', url: '/items/1', payload: { name: 'a' } })
      assert.deepEqual(response.json(), { id: '1', name: 'x' }, 'the schema filters the output')
    }
    await post()
    const readsAtFirstUse = reads()
    assert.ok(readsAtFirstUse > readsAtStart, 'compiled at the first response, not at start-up')
    for (let i = 0; i < 10; i += 1) await post()
    assert.equal(reads(), readsAtFirstUse, 'no response compiled its serializer again')
    await app.close()
  })
})
