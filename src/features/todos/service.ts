import { randomUUID } from 'node:crypto'
import type { Selectable } from 'kysely'
import type { Context } from '../../context.ts'
import { isoAt } from '../../platform/clock.ts'
import { notFound } from '../../platform/http/errors.ts'
import { decodeCursor, toPage } from '../../platform/http/pagination.ts'
import type { TodosTable } from '../../platform/storage/schema.ts'
import type { CreateTodoBody, Todo, UpdateTodoBody } from './schemas.ts'

type TodoDeps = Pick<Context, 'db' | 'clock'>

/** Whose todos a call may see: one owner's, or — for an admin asking for all — everyone's. */
export type Owner = { userId: string } | 'everyone'

function toTodo(row: Selectable<TodosTable>): Todo {
  return {
    id: row.id,
    title: row.title,
    done: row.done === 1,
    created_at: row.created_at,
    updated_at: row.updated_at,
  }
}

/** Newest first, keyset-paginated on (created_at, id). */
export async function listTodos(ctx: TodoDeps, owner: Owner, limit: number, cursor: string | undefined) {
  const after = decodeCursor(cursor)
  let query = ctx.db.selectFrom('todos').selectAll()
  if (owner !== 'everyone') query = query.where('user_id', '=', owner.userId)
  if (after) {
    query = query.where((eb) =>
      eb.or([
        eb('created_at', '<', after.at),
        eb.and([eb('created_at', '=', after.at), eb('id', '<', after.id)]),
      ]),
    )
  }
  const rows = await query
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(limit + 1)
    .execute()
  const page = toPage(rows, limit, (row) => ({ at: row.created_at, id: row.id }))
  return { items: page.items.map(toTodo), next_cursor: page.next_cursor }
}

export async function createTodo(ctx: TodoDeps, userId: string, body: CreateTodoBody): Promise<Todo> {
  const now = isoAt(ctx.clock.now())
  const row = await ctx.db
    .insertInto('todos')
    .values({
      id: randomUUID(),
      user_id: userId,
      title: body.title,
      done: 0,
      created_at: now,
      updated_at: now,
    })
    .returningAll()
    .executeTakeFirstOrThrow()
  return toTodo(row)
}

/** Another user's todo is "not found", never "forbidden": its existence is not the caller's business. */
export async function getTodo(ctx: TodoDeps, userId: string, id: string): Promise<Todo> {
  const row = await ctx.db
    .selectFrom('todos')
    .selectAll()
    .where('id', '=', id)
    .where('user_id', '=', userId)
    .executeTakeFirst()
  if (!row) throw notFound('todo')
  return toTodo(row)
}

export async function updateTodo(
  ctx: TodoDeps,
  userId: string,
  id: string,
  body: UpdateTodoBody,
): Promise<Todo> {
  const row = await ctx.db
    .updateTable('todos')
    .set({
      updated_at: isoAt(ctx.clock.now()),
      ...(body.title !== undefined && { title: body.title }),
      ...(body.done !== undefined && { done: body.done ? 1 : 0 }),
    })
    .where('id', '=', id)
    .where('user_id', '=', userId)
    .returningAll()
    .executeTakeFirst()
  if (!row) throw notFound('todo')
  return toTodo(row)
}

export async function deleteTodo(ctx: TodoDeps, userId: string, id: string): Promise<void> {
  const result = await ctx.db
    .deleteFrom('todos')
    .where('id', '=', id)
    .where('user_id', '=', userId)
    .executeTakeFirst()
  if (result.numDeletedRows === 0n) throw notFound('todo')
}
