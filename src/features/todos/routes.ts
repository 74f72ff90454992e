import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import type { Context } from '../../context.ts'
import { principalOf } from '../../identity/guard/principal.ts'
import { requireScope, checkRole } from '../../identity/guard/route-guards.ts'
import { DEFAULT_PAGE_SIZE } from '../../platform/http/pagination.ts'
import { BODY_ERRORS, SMALL_BODY_LIMIT_BYTES, errorResponses } from '../../platform/http/schemas.ts'
import { CreateTodoBody, ListTodosQuery, Todo, TodoPage, TodoParams, UpdateTodoBody } from './schemas.ts'
import { createTodo, deleteTodo, getTodo, listTodos, updateTodo } from './service.ts'

/**
 * The worked example of a resource protected by Gatehouse: each route declares the scope it needs,
 * handlers take the caller from `principalOf(request)`, and its service functions only ever touch the caller's rows.
 */
export function todoRoutes(ctx: Context): FastifyPluginAsyncTypebox {
  const common = { tags: ['todos'] }

  return async (app) => {
    app.get(
      '',
      {
        config: { guard: requireScope('todos:read') },
        schema: {
          ...common,
          summary: 'Your todos, newest first',
          description: '`?all=true` lists everyone’s and needs the admin role.',
          querystring: ListTodosQuery,
          response: { 200: TodoPage, ...errorResponses('VALIDATION_ERROR') },
        },
      },
      async (request) => {
        const { userId } = principalOf(request)
        const { all, limit = DEFAULT_PAGE_SIZE, cursor } = request.query
        // Like every admin route, on the user's current record: a demoted admin's token still says admin.
        if (all === true) await checkRole(ctx.db, request, 'admin', 'Listing all todos needs the admin role.')
        return listTodos(ctx, all === true ? 'everyone' : { userId }, limit, cursor)
      },
    )

    app.post(
      '',
      {
        bodyLimit: SMALL_BODY_LIMIT_BYTES,
        config: { guard: requireScope('todos:write') },
        schema: {
          ...common,
          summary: 'Create a todo',
          body: CreateTodoBody,
          response: { 201: Todo, ...errorResponses(...BODY_ERRORS) },
        },
      },
      async (request, reply) =>
        reply.code(201).send(await createTodo(ctx, principalOf(request).userId, request.body)),
    )

    app.get(
      '/:id',
      {
        config: { guard: requireScope('todos:read') },
        schema: {
          ...common,
          summary: 'One of your todos',
          params: TodoParams,
          response: { 200: Todo, ...errorResponses('NOT_FOUND', 'VALIDATION_ERROR') },
        },
      },
      async (request) => getTodo(ctx, principalOf(request).userId, request.params.id),
    )

    app.patch(
      '/:id',
      {
        bodyLimit: SMALL_BODY_LIMIT_BYTES,
        config: { guard: requireScope('todos:write') },
        schema: {
          ...common,
          summary: 'Change the title or done flag of one of your todos',
          params: TodoParams,
          body: UpdateTodoBody,
          response: { 200: Todo, ...errorResponses(...BODY_ERRORS, 'NOT_FOUND') },
        },
      },
      async (request) => updateTodo(ctx, principalOf(request).userId, request.params.id, request.body),
    )

    app.delete(
      '/:id',
      {
        config: { guard: requireScope('todos:write') },
        schema: {
          ...common,
          summary: 'Delete one of your todos',
          params: TodoParams,
          response: {
            204: Type.Null({ description: 'Deleted.' }),
            ...errorResponses('NOT_FOUND', 'VALIDATION_ERROR'),
          },
        },
      },
      async (request, reply) => {
        await deleteTodo(ctx, principalOf(request).userId, request.params.id)
        return reply.code(204).send(null)
      },
    )
  }
}
