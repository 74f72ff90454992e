import { parseArgs, type ParseArgsConfig } from 'node:util'
import { ConfigError, loadConfig, readEnvironment } from '../platform/config/config.ts'
import { readFileSync } from 'node:fs'
import {
  CommandError,
  clientsCreate,
  clientsDelete,
  clientsList,
  clientsRotateSecret,
  clientsSetDisabled,
  keysList,
  keysRevoke,
  keysRotate,
  migrate,
  openapi,
  serve,
  usersCreate,
  usersList,
  usersSetDisabled,
  usersSetRole,
  type Output,
} from './commands.ts'

interface Command {
  usage: string
  summary: string
  options: NonNullable<ParseArgsConfig['options']>
  positionals?: string[]
  run(values: Record<string, unknown>, positionals: string[], output: Output): Promise<void>
}

const env = () => readEnvironment()
const config = () => loadConfig(env())

const COMMANDS: Record<string, Command> = {
  serve: {
    usage: 'serve',
    summary: 'Start the HTTP server (configured by the environment and .env)',
    options: {},
    run: () => serve(config()),
  },
  migrate: {
    usage: 'migrate',
    summary: 'Apply database migrations (they also run at every start)',
    options: {},
    run: (_values, _positionals, output) => migrate(config(), output),
  },
  'users create': {
    usage:
      'users create --email EMAIL --password PASSWORD [--role ROLE]... [--username NAME] [--full-name NAME]',
    summary: 'Create an account; every account has the user role, --role adds more (e.g. admin)',
    options: {
      email: { type: 'string' },
      password: { type: 'string' },
      role: { type: 'string', multiple: true },
      username: { type: 'string' },
      'full-name': { type: 'string' },
    },
    run: (values, _positionals, output) => {
      const { email, password } = values
      if (typeof email !== 'string' || typeof password !== 'string')
        throw new UsageError('--email and --password are required')
      return usersCreate(config(), output, {
        email,
        password,
        role: values.role as string[] | undefined,
        username: values.username as string | undefined,
        fullName: values['full-name'] as string | undefined,
      })
    },
  },
  'users list': {
    usage: 'users list [--q TEXT] [--limit N] [--json]',
    summary: 'List users, oldest first, optionally matching TEXT',
    options: {
      q: { type: 'string' },
      limit: { type: 'string', default: '100' },
      json: { type: 'boolean', default: false },
    },
    run: (values, _positionals, output) => {
      const limit = Number(values.limit)
      if (!Number.isInteger(limit) || limit < 1 || limit > 100)
        throw new UsageError('--limit takes a whole number from 1 to 100')
      return usersList(config(), output, {
        q: values.q as string | undefined,
        limit,
        json: values.json === true,
      })
    },
  },
  'users set-role': {
    usage: 'users set-role USER --role ROLE [--role ROLE]...',
    summary: 'Set the roles of USER (an id or email); the user role is always kept',
    options: { role: { type: 'string', multiple: true } },
    positionals: ['USER'],
    run: (values, [user], output) => {
      if (!Array.isArray(values.role)) throw new UsageError('--role is required')
      return usersSetRole(config(), output, user ?? '', values.role as string[])
    },
  },
  'users disable': {
    usage: 'users disable USER',
    summary: 'Disable USER (an id or email) and end every session at once',
    options: {},
    positionals: ['USER'],
    run: (_values, [user], output) => usersSetDisabled(config(), output, user ?? '', true),
  },
  'users enable': {
    usage: 'users enable USER',
    summary: 'Enable USER (an id or email) again',
    options: {},
    positionals: ['USER'],
    run: (_values, [user], output) => usersSetDisabled(config(), output, user ?? '', false),
  },
  'keys list': {
    usage: 'keys list [--json]',
    summary: 'List signing keys: signing, published (retired, still verifying), expired or revoked',
    options: { json: { type: 'boolean', default: false } },
    run: (values, _positionals, output) => keysList(config(), output, { json: values.json === true }),
  },
  'keys rotate': {
    usage: 'keys rotate',
    summary: 'Start signing with a new key; the old one stays in the JWKS until its tokens expire',
    options: {},
    run: (_values, _positionals, output) => keysRotate(config(), output),
  },
  'keys revoke': {
    usage: 'keys revoke KID',
    summary:
      'Revoke a compromised key: every instance stops verifying it and drops it from the JWKS within seconds',
    options: {},
    positionals: ['KID'],
    run: (_values, [kid], output) => keysRevoke(config(), output, kid ?? ''),
  },
  'clients create': {
    usage:
      'clients create --name NAME [--scope SCOPE]... [--method client_secret_basic|client_secret_post|private_key_jwt] [--jwks FILE] [--json]',
    summary:
      'Register a machine client; prints its id and, for the secret methods, its secret (shown this once)',
    options: {
      name: { type: 'string' },
      scope: { type: 'string', multiple: true },
      method: { type: 'string', default: 'client_secret_basic' },
      jwks: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
    run: (values, _positionals, output) => {
      if (typeof values.name !== 'string') throw new UsageError('--name is required')
      const scopes = ((values.scope as string[] | undefined) ?? []).flatMap((scope) =>
        scope.split(/[\s,]+/).filter((name) => name !== ''),
      )
      return clientsCreate(config(), output, {
        name: values.name,
        scopes,
        method: String(values.method),
        jwks: typeof values.jwks === 'string' ? readJwks(values.jwks) : undefined,
        json: values.json === true,
      })
    },
  },
  'clients list': {
    usage: 'clients list [--json]',
    summary: 'List machine clients, oldest first (never a secret)',
    options: { json: { type: 'boolean', default: false } },
    run: (values, _positionals, output) => clientsList(config(), output, { json: values.json === true }),
  },
  'clients rotate-secret': {
    usage: 'clients rotate-secret CLIENT_ID',
    summary: "Replace a client's secret: prints the new one (shown this once); the old one stops working",
    options: {},
    positionals: ['CLIENT_ID'],
    run: (_values, [id], output) => clientsRotateSecret(config(), output, id ?? ''),
  },
  'clients disable': {
    usage: 'clients disable CLIENT_ID',
    summary: 'Disable a client: every token it holds is revoked on every instance',
    options: {},
    positionals: ['CLIENT_ID'],
    run: (_values, [id], output) => clientsSetDisabled(config(), output, id ?? '', true),
  },
  'clients enable': {
    usage: 'clients enable CLIENT_ID',
    summary: 'Enable a client again (the tokens revoked when it was disabled stay revoked)',
    options: {},
    positionals: ['CLIENT_ID'],
    run: (_values, [id], output) => clientsSetDisabled(config(), output, id ?? '', false),
  },
  'clients delete': {
    usage: 'clients delete CLIENT_ID',
    summary: 'Delete a client: every token it holds is revoked on every instance',
    options: {},
    positionals: ['CLIENT_ID'],
    run: (_values, [id], output) => clientsDelete(config(), output, id ?? ''),
  },
  openapi: {
    usage: 'openapi',
    summary: 'Print the OpenAPI 3.1 document',
    options: {},
    run: (_values, _positionals, output) => openapi(env(), output),
  },
}

class UsageError extends Error {}

/** A JWK Set from a file; checked in full by the same rules as `POST /admin/clients`. */
function readJwks(file: string): unknown {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    throw new CommandError(`cannot read ${file}: ${(error as Error).message}`)
  }
  try {
    return JSON.parse(text) as unknown
  } catch {
    throw new CommandError(`${file} is not JSON: give a JWK Set, {"keys": [...]}`)
  }
}

function helpText(): string {
  const names = Object.entries(COMMANDS).map(([name, command]) =>
    [name, ...(command.positionals ?? [])].join(' '),
  )
  const width = Math.max(...names.map((name) => name.length))
  const lines = Object.values(COMMANDS).map(
    (command, i) => `  ${(names[i] ?? '').padEnd(width)}  ${command.summary}`,
  )
  return `Usage: gatehouse COMMAND [OPTIONS]\n\nCommands:\n${lines.join('\n')}\n\nRun gatehouse COMMAND --help for its options. Configuration comes from the environment and .env.\n`
}

function commandHelp(command: Command): string {
  return `Usage: gatehouse ${command.usage}\n\n${command.summary}.\n`
}

/** Runs one command line; returns the exit code (0 done, 1 failed, 2 wrong usage). */
export async function runCli(argv: string[], output: Output, errors: Output): Promise<number> {
  const words = argv.filter((arg) => !arg.startsWith('-'))
  const name = [`${words[0] ?? ''} ${words[1] ?? ''}`, words[0] ?? ''].find((candidate) =>
    Object.hasOwn(COMMANDS, candidate),
  )
  const command = name === undefined ? undefined : COMMANDS[name]
  if (name === undefined || command === undefined) {
    const asked = argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help'
    ;(asked ? output : errors).out(
      asked ? helpText() : `gatehouse: unknown command "${argv.join(' ')}"\n\n${helpText()}`,
    )
    return asked ? 0 : 2
  }
  const rest = argv.slice(name.split(' ').length)
  try {
    const { values, positionals } = parseArgs({
      args: rest,
      options: { ...command.options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    })
    if (values.help === true) {
      output.out(commandHelp(command))
      return 0
    }
    const expected = command.positionals ?? []
    if (positionals.length !== expected.length) {
      throw new UsageError(
        expected.length === 0
          ? `unexpected argument ${positionals[0] ?? ''}`
          : `expected ${expected.join(' ')}`,
      )
    }
    await command.run(values, positionals, output)
    return 0
  } catch (error) {
    if (
      error instanceof UsageError ||
      (error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS'))
    ) {
      errors.out(`gatehouse ${name}: ${error.message}\n\n${commandHelp(command)}`)
      return 2
    }
    if (error instanceof CommandError || error instanceof ConfigError) {
      errors.out(`gatehouse ${name}: ${error.message}\n`)
      return 1
    }
    errors.out(`gatehouse ${name}: ${describe(error)}\n`)
    return 1
  }
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error)
  return error.cause instanceof Error ? `${error.message}: ${describe(error.cause)}` : error.message
}
