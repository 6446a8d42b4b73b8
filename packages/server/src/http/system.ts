/**
 * Probes and metrics, outside `/api/v1` and outside the OpenAPI document. `/metrics` tells how the
 * service is used (counts of codes, locks, failures): it answers only to `LATCHKEY_METRICS_TOKEN` as
 * a bearer token, and is not there at all without one (SPEC §15); `--metrics-port` serves it on a
 * listener of its own instead.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import { LatchkeyError } from '@latchkey/core'
import type { FastifyInstance, FastifyReply } from 'fastify'
import type { Store } from '../store/index.ts'
import type { MetricsRegistry } from './metrics.ts'

const digest = (text: string) => createHash('sha256').update(text).digest()

/** Whether an Authorization header carries the token (compared in constant time). */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const match = /^Bearer (.+)$/i.exec(header ?? '')
  return match !== null && timingSafeEqual(digest(match[1]!), digest(token))
}

export async function sendMetrics(reply: FastifyReply, metrics: MetricsRegistry): Promise<FastifyReply> {
  return reply.type('text/plain; version=0.0.4; charset=utf-8').send(await metrics.scrape())
}

/** `metricsToken`: the bearer `/metrics` answers to; without one the route is not served here. */
export function registerSystemRoutes(
  app: FastifyInstance,
  store: Store,
  metrics: MetricsRegistry,
  metricsToken?: string,
): void {
  app.get('/healthz', { schema: { hide: true } }, () => ({ status: 'ok' }))

  app.get('/readyz', { schema: { hide: true } }, async () => {
    try {
      await store.ping()
    } catch (cause) {
      throw new LatchkeyError('service_unavailable', 'the database does not answer', { cause })
    }
    return { status: 'ok' }
  })

  if (metricsToken === undefined || metricsToken === '') return
  app.get('/metrics', { schema: { hide: true } }, async (request, reply) => {
    if (!bearerMatches(request.headers.authorization, metricsToken))
      throw new LatchkeyError('unauthorized', 'metrics need the metrics token as a bearer token')
    return sendMetrics(reply, metrics)
  })
}
