import { Type } from 'typebox'
import { ValidationError } from './errors.ts'

export const DEFAULT_PAGE_SIZE = 20
export const MAX_PAGE_SIZE = 100

export const PageQuery = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_PAGE_SIZE, default: DEFAULT_PAGE_SIZE })),
  cursor: Type.Optional(Type.String({ maxLength: 512, description: '`next_cursor` of the previous page.' })),
}

export const NextCursor = Type.Union([Type.String(), Type.Null()], {
  description: 'Pass as `cursor` for the next page; null on the last page.',
})

/**
 * Keyset pagination: a cursor is the sort key (time and id) of the last item of a page, so a page
 * starts strictly after it — rows inserted meanwhile neither shift nor repeat what follows.
 */
export interface Position {
  at: string
  id: string
}

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

export function encodeCursor(position: Position): string {
  return Buffer.from(JSON.stringify([position.at, position.id])).toString('base64url')
}

/** The position a cursor holds; `idPattern` is what the ids of the list look like (UUIDs by default). */
export function decodeCursor(cursor: string | undefined, idPattern: RegExp = UUID): Position | undefined {
  if (cursor === undefined) return undefined
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
    if (Array.isArray(value) && value.length === 2) {
      const [at, id] = value as unknown[]
      if (typeof at === 'string' && ISO_TIME.test(at) && typeof id === 'string' && idPattern.test(id))
        return { at, id }
    }
  } catch {
    // Falls through to the validation error.
  }
  throw new ValidationError([{ field: 'cursor', message: 'is not a cursor this API returned' }])
}

/** Takes one row more than the page to learn whether another page follows. */
export function toPage<T>(
  rows: T[],
  limit: number,
  positionOf: (row: T) => Position,
): { items: T[]; next_cursor: string | null } {
  const items = rows.slice(0, limit)
  const last = items.at(-1)
  return { items, next_cursor: rows.length > limit && last ? encodeCursor(positionOf(last)) : null }
}
