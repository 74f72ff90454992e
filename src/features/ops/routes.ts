import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import type { Context } from '../../context.ts'
import { requireSecretBearer } from '../../identity/guard/route-guards.ts'
import { AppError } from '../../platform/http/errors.ts'
import { errorResponses } from '../../platform/http/schemas.ts'
import { pingDatabase } from '../../platform/storage/database.ts'

const READY_TIMEOUT_MS = 2000

async function withTimeout(check: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms)
  })
  try {
    await Promise.race([check, timeout])
  } finally {
    clearTimeout(timer)
  }
}

export function opsRoutes(ctx: Context): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/health',
      {
        schema: {
          tags: ['operations'],
          summary: 'Liveness: the process answers; touches no dependency',
          response: { 200: Type.Object({ status: Type.Literal('ok') }) },
        },
      },
      async () => ({ status: 'ok' as const }),
    )

    app.get(
      '/ready',
      {
        schema: {
          tags: ['operations'],
          summary: 'Readiness: every dependency answers',
          response: {
            200: Type.Object({
              status: Type.Literal('ready'),
              checks: Type.Record(Type.String(), Type.Literal('ok')),
            }),
            ...errorResponses('UNAVAILABLE'),
          },
        },
      },
      async () => {
        const { revocationChannel } = ctx
        const checks: [string, () => Promise<void>][] = [['database', () => pingDatabase(ctx.db)]]
        if (revocationChannel) checks.push(['redis', () => revocationChannel.ping()])
        const results = await Promise.allSettled(
          checks.map(([, check]) => withTimeout(check(), READY_TIMEOUT_MS)),
        )
        const failing = checks
          .filter((_check, index) => results[index]?.status === 'rejected')
          .map(([name]) => name)
        if (failing.length > 0) {
          throw new AppError('UNAVAILABLE', `Not ready: ${failing.join(' and ')} not reachable.`, {
            details: failing.map((field) => ({ field, message: 'not reachable' })),
          })
        }
        return {
          status: 'ready' as const,
          checks: Object.fromEntries(checks.map(([name]) => [name, 'ok' as const])),
        }
      },
    )

    const { metricsToken } = ctx.config
    app.get(
      '/metrics',
      {
        ...(metricsToken !== undefined && {
          config: { guard: requireSecretBearer(metricsToken, 'METRICS_TOKEN', 'MetricsToken') },
        }),
        schema: {
          tags: ['operations'],
          summary: 'Prometheus metrics',
          description: metricsToken
            ? 'Needs `Authorization: Bearer <METRICS_TOKEN>`.'
            : 'Open to anyone who reaches it: `METRICS_TOKEN` is not set.',
          produces: ['text/plain'],
          response: {
            200: Type.String({ description: 'Prometheus text exposition format' }),
          },
        },
      },
      async (_request, reply) =>
        reply
          .header('content-type', ctx.metrics.registry.contentType)
          .send(await ctx.metrics.registry.metrics()),
    )
  }
}
