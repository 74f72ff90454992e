import { deliverDueMail, type MailDeliveryDeps } from './outbox.ts'

/** How often the worker looks for due mail (retries, and mail queued by other instances). */
export const MAIL_POLL_INTERVAL_MS = 10 * 1000

/**
 * Delivers queued mail in the background: at once when a request of this instance queues one,
 * and every `MAIL_POLL_INTERVAL_MS` for retries and mail other instances queued. One delivery
 * run at a time; a doorbell during a run starts another right after it.
 *
 * Returns `stop`, which resolves once the run in flight (if any) has finished, so the database
 * can be closed after it.
 */
export function startMailWorker(
  ctx: MailDeliveryDeps,
  intervalMs = MAIL_POLL_INTERVAL_MS,
): () => Promise<void> {
  let running: Promise<void> | undefined
  let again = false
  let stopped = false

  const run = (): void => {
    if (stopped) return
    if (running) {
      again = true
      return
    }
    running = deliverDueMail(ctx)
      .then(
        () => undefined,
        (error: unknown) => ctx.logger.warn({ err: error }, 'mail delivery run failed'),
      )
      .finally(() => {
        running = undefined
        if (again) {
          again = false
          run()
        }
      })
  }

  // Rung inside a request handler: start after the response is on its way, not before.
  const unsubscribe = ctx.mailQueue.onQueued(() => setImmediate(run))
  const timer = setInterval(run, intervalMs)
  timer.unref()
  run()

  return async () => {
    stopped = true
    clearInterval(timer)
    unsubscribe()
    await running
  }
}
