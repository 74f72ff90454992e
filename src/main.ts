#!/usr/bin/env node
import { runCli } from './cli/run.ts'

// `npm start`: the same as `gatehouse serve`.
process.exitCode = await runCli(
  ['serve'],
  { out: (text) => process.stdout.write(text) },
  { out: (text) => process.stderr.write(text) },
)
