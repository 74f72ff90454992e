#!/usr/bin/env node
import { runCli } from './cli/run.ts'

// Output piped into `head` and the like: a closed pipe means nobody wants the rest.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0)
  throw error
})

process.exitCode = await runCli(
  process.argv.slice(2),
  { out: (text) => process.stdout.write(text) },
  { out: (text) => process.stderr.write(text) },
)
