import type { FastifyInstance } from 'fastify'
import { buildApp } from './app.ts'
import { closeContext, ensureAdmin, openContext, type ContextOverrides } from './compose.ts'
import type { Context } from './context.ts'
import { startMaintenance } from './features/ops/maintenance.ts'
import type { Config } from './platform/config/config.ts'
import { startMailWorker } from './platform/mail/worker.ts'

export interface RunningServer {
  app: FastifyInstance
  ctx: Context
  url: string
  /** Stops accepting connections, lets in-flight requests finish, then closes the database. */
  stop(): Promise<void>
}

export async function startServer(config: Config, overrides: ContextOverrides = {}): Promise<RunningServer> {
  const ctx = await openContext(config, overrides)
  // Only the server ensures ADMIN_EMAIL: a CLI command (users list, keys list…) must never
  // change accounts as a side effect.
  await ensureAdmin(ctx).catch(async (error: unknown) => {
    await closeContext(ctx)
    throw error
  })
  const app = await buildApp(ctx)
  let stopping: Promise<void> | undefined
  // Node's server.close() only closes connections idle at that moment: one whose request was in
  // flight would stay open after its response until keepAliveTimeout (72 s), holding up the exit.
  // So a response sent while stopping tells the client, and Node, to close it (RFC 9112 §9.6).
  app.addHook('onSend', async (_request, reply) => {
    if (stopping) void reply.header('connection', 'close')
  })
  const url = await app.listen({ port: config.port, host: config.host })
  ctx.mailQueue.listeningOn(url)
  const stopMaintenance = startMaintenance(ctx)
  const stopMailWorker = startMailWorker(ctx)
  const stop = () => {
    stopMaintenance()
    // A delivery in flight finishes (or fails and is retried later) before the database closes.
    const mailStopped = stopMailWorker()
    stopping ??= app
      .close()
      .then(() => mailStopped)
      .then(() => closeContext(ctx))
    return stopping
  }
  return { app, ctx, url, stop }
}

/** Stops gracefully on SIGTERM or SIGINT; a second signal exits at once. */
export function stopOnSignals(server: RunningServer): void {
  const signals: NodeJS.Signals[] = ['SIGTERM', 'SIGINT']
  const onSignal = (signal: NodeJS.Signals) => {
    server.ctx.logger.info({ signal }, 'shutting down: finishing in-flight requests')
    for (const next of signals) {
      process.removeListener(next, onSignal)
      process.once(next, () => process.exit(1))
    }
    server.stop().then(
      () => {
        server.ctx.logger.info('stopped')
        server.ctx.logger.flush()
        process.exitCode = 0
      },
      (error: unknown) => {
        server.ctx.logger.error({ err: error }, 'shutdown failed')
        process.exit(1)
      },
    )
  }
  for (const signal of signals) process.once(signal, onSignal)
}
