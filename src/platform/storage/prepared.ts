import type { Compilable, CompiledQuery, QueryResult } from 'kysely'
import type { Db } from './database.ts'

type Arguments = Record<string, string | null>
type Compiled = { query: CompiledQuery; slots: (string | undefined)[] }

/**
 * A query built and compiled once per SQL dialect, then run with fresh arguments. On the paths every
 * request takes (the user behind a token, logins, refresh-token rotation) building and compiling a
 * Kysely query cost more than SQLite's lookup itself, and the statement is the same every time.
 *
 * `build` is called once, with a placeholder for each argument, and must hand every argument to
 * the query as it is (a value compared or written). A transformation in `build` would run once, on
 * the placeholder, and its result would be reused for every call: transform before calling, or in
 * SQL. So a placeholder is an opaque object on which no string operation works (`key.trim()`,
 * `` `${key}` ``, `identityKey(key)` all throw), and the first run throws a TypeError for a
 * builder that fails on one or leaves an argument out of the query's parameters. What it cannot
 * see is a choice on an argument's value (`key ?? 'x'`, `key || 'x'`): a placeholder is never
 * empty. An argument may be null only where it is written, since `= NULL` matches nothing.
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
    let compiled = compiledFor.get(executor.adapter)
    if (!compiled) {
      // Compiled (and so checked) even where a plugin is installed, so tests with one catch it too.
      compiled = compile(
        db.withoutPlugins(),
        build as (db: Db, args: object) => Compilable,
        Object.keys(args),
      )
      compiledFor.set(executor.adapter, compiled)
    }
    // A plugin transforms each query as it is built: with one installed, build it every time.
    if (executor.plugins.length > 0) return db.executeQuery<Row>(build(db, args))
    const { query, slots } = compiled
    const parameters = query.parameters.map((value, i) => {
      const name = slots[i]
      return name === undefined ? value : args[name]
    })
    return db.executeQuery<Row>({ ...query, parameters })
  }
}

/** An argument's stand-in while its query is compiled: an object that refuses to become a string. */
function placeholderFor(name: string): object {
  const refuse = () => {
    throw new TypeError(`the argument ${name} was converted to a string`)
  }
  return Object.freeze(Object.create(null, { [Symbol.toPrimitive]: { value: refuse } }) as object)
}

function compile(db: Db, build: (db: Db, args: object) => Compilable, names: string[]): Compiled {
  const nameOf = new Map<unknown, string>(names.map((name) => [placeholderFor(name), name]))
  const placeholders = Object.fromEntries([...nameOf].map(([placeholder, name]) => [name, placeholder]))
  let query: CompiledQuery
  try {
    query = build(db, placeholders).compile()
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error)
    throw new TypeError(
      `prepared query (${names.join(', ')}): build it with each argument as it is, never transformed (${reason})`,
      { cause: error },
    )
  }
  const slots = query.parameters.map((value) => nameOf.get(value))
  const missing = names.filter((name) => !slots.includes(name))
  if (missing.length > 0) {
    throw new TypeError(`prepared query: ${missing.join(', ')} not a parameter of ${query.sql}`)
  }
  return { query, slots }
}
