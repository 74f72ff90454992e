#!/usr/bin/env node
import { ConfigError, loadConfig, readEnvironment } from './config/config.ts'
import { startServer, stopOnSignals } from './server.ts'

try {
  const config = loadConfig(readEnvironment())
  const server = await startServer(config)
  stopOnSignals(server)
  server.services.logger.info({ url: server.url, database: config.database.kind }, 'gatehouse listening')
} catch (error) {
  process.stderr.write(`gatehouse: ${error instanceof ConfigError ? error.message : describe(error)}\n`)
  process.exit(1)
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error)
  return error.cause instanceof Error ? `${error.message}: ${describe(error.cause)}` : error.message
}
