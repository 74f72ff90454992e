import { Type, type Static } from 'typebox'
import { NextCursor, PageQuery } from '../../platform/http/pagination.ts'

const Title = Type.String({
  minLength: 1,
  maxLength: 500,
  pattern: '^[^\\p{Cc}]*$',
  'x-error-message': 'must be 1 to 500 characters without control characters',
})

export const Todo = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    title: Type.String(),
    done: Type.Boolean(),
    created_at: Type.String({ format: 'date-time' }),
    updated_at: Type.String({ format: 'date-time' }),
  },
  { title: 'Todo' },
)
export type Todo = Static<typeof Todo>

export const TodoPage = Type.Object(
  { items: Type.Array(Todo), next_cursor: NextCursor },
  { title: 'TodoPage' },
)

export const ListTodosQuery = Type.Object({
  ...PageQuery,
  all: Type.Optional(Type.Boolean({ default: false, description: "Admins only: everyone's todos." })),
})
export type ListTodosQuery = Static<typeof ListTodosQuery>

export const CreateTodoBody = Type.Object({ title: Title }, { additionalProperties: false })
export type CreateTodoBody = Static<typeof CreateTodoBody>

export const UpdateTodoBody = Type.Object(
  { title: Type.Optional(Title), done: Type.Optional(Type.Boolean()) },
  { additionalProperties: false },
)
export type UpdateTodoBody = Static<typeof UpdateTodoBody>

export const TodoParams = Type.Object({ id: Type.String({ format: 'uuid' }) })
