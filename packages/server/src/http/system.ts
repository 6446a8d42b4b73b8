/** Probes and metrics, outside `/api/v1` and outside the OpenAPI document. */
import { LatchkeyError } from '@latchkey/core'
import type { FastifyInstance } from 'fastify'
import type { Store } from '../store/index.ts'
import type { MetricsRegistry } from './metrics.ts'

export function registerSystemRoutes(app: FastifyInstance, store: Store, metrics: MetricsRegistry): void {
  app.get('/healthz', { schema: { hide: true } }, () => ({ status: 'ok' }))

  app.get('/readyz', { schema: { hide: true } }, async () => {
    try {
      await store.ping()
    } catch (cause) {
      throw new LatchkeyError('service_unavailable', 'the database does not answer', { cause })
    }
    return { status: 'ok' }
  })

  app.get('/metrics', { schema: { hide: true } }, (_request, reply) =>
    reply.type('text/plain; version=0.0.4; charset=utf-8').send(metrics.render()),
  )
}
