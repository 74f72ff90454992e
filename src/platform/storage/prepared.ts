import type { Compilable, CompiledQuery, QueryResult } from 'kysely'
import type { Db } from './database.ts'

type Arguments = Record<string, string | null>
type Compiled = { query: CompiledQuery; slots: (string | undefined)[] }

/**
 * A query built and compiled once per SQL dialect, then run with fresh arguments. On the paths every
 * request takes (the user behind a token, logins, refresh-token rotation) building and compiling a
 * Kysely query cost more than SQLite's lookup itself, and the statement is the same every time.
 *
 * `build` is called once, with a placeholder for each argument; every placeholder must reach the
 * query as a parameter (a value compared or written, never transformed), which the first run checks.
 * An argument may be null only where it is written, since `= NULL` matches nothing.
 *
 * ```ts
 * const selectUser = preparedQuery((db, { id }: { id: string }) => db.selectFrom('users').selectAll().where('id', '=', id))
 * const [user] = (await selectUser(db, { id })).rows
 * ```
 */
export function preparedQuery<Args extends Arguments, Row>(
  build: (db: Db, args: Args) => Compilable<Row>,
): (db: Db, args: Args) => Promise<QueryResult<Row>> {
  // Transactions are Kysely instances of their own, with the same adapter as their database.
  const compiledFor = new WeakMap<object, Compiled>()
  return async (db, args) => {
    const executor = db.getExecutor()
    // A plugin transforms each query as it is built: with one installed, build it every time.
    if (executor.plugins.length > 0) return db.executeQuery<Row>(build(db, args))
    const adapter = executor.adapter
    let compiled = compiledFor.get(adapter)
    if (!compiled) {
      compiled = compile(db, build as (db: Db, args: Arguments) => Compilable, Object.keys(args))
      compiledFor.set(adapter, compiled)
    }
    const { query, slots } = compiled
    const parameters = query.parameters.map((value, i) => {
      const name = slots[i]
      return name === undefined ? value : args[name]
    })
    return db.executeQuery<Row>({ ...query, parameters })
  }
}

function compile(db: Db, build: (db: Db, args: Arguments) => Compilable, names: string[]): Compiled {
  const placeholderOf = (name: string) => `\u0000prepared-query-argument:${name}`
  const query = build(db, Object.fromEntries(names.map((name) => [name, placeholderOf(name)]))).compile()
  const slots = query.parameters.map((value) => names.find((name) => placeholderOf(name) === value))
  const missing = names.filter((name) => !slots.includes(name))
  if (missing.length > 0) {
    throw new Error(`prepared query: ${missing.join(', ')} not a parameter of ${query.sql}`)
  }
  return { query, slots }
}
