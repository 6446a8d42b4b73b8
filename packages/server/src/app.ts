/**
 * The HTTP application: `/api/v1` (JSON, problem+json errors), the OpenAPI document and docs,
 * probes and metrics. Built without listening, so tests drive it with `inject()`.
 */
import cookie from '@fastify/cookie'
import { type Clock, systemClock } from '@latchkey/core'
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyServerOptions } from 'fastify'
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod'
import { DEFAULT_LOGIN_THROTTLE, type LoginThrottleConfig } from './accounts/throttle.ts'
import type { ServerDeps } from './context.ts'
import { type BrokerAccess, noBroker } from './devices/broker-access.ts'
import { disconnectedChannel, type LockChannel } from './devices/lock-channel.ts'
import { registerErrorHandling, sendFrameworkError } from './http/errors.ts'
import { registerJsonBody } from './http/json-body.ts'
import { MetricsRegistry, registerHttpMetrics } from './http/metrics.ts'
import { registerNulGuard } from './http/nul-guard.ts'
import { registerOpenApi } from './http/openapi.ts'
import { registerSystemRoutes } from './http/system.ts'
import { apiV1Routes } from './routes/index.ts'
import type { Secrets } from './secrets.ts'
import type { Store } from './store/open-store.ts'

export const API_PREFIX = '/api/v1'
export const API_VERSION = '0.1.0'

export interface BuildAppOptions {
  store: Store
  secrets: Secrets
  /** The system clock unless a demo or a test moves time. */
  clock?: Clock
  /** A pino logger (or `true` for fastify's default one); silent when omitted. */
  logger?: FastifyBaseLogger | boolean
  metrics?: MetricsRegistry
  loginThrottle?: LoginThrottleConfig
  /** The lock channel; without it no lock can be reached (route tests). */
  channel?: LockChannel
  /** The broker gateways use; without it GET /broker answers 503. */
  broker?: BrokerAccess
  /** Behind a reverse proxy: trust its X-Forwarded-For for the client address (login throttling). */
  trustProxy?: boolean | string
}

declare module 'fastify' {
  interface FastifyInstance {
    /** What the routes work with; other parts of the server (broker, reconciler, demo) reach it here. */
    deps: ServerDeps
  }
}

export function buildApp(options: BuildAppOptions): FastifyInstance {
  const deps: ServerDeps = {
    store: options.store,
    db: options.store.db,
    secrets: options.secrets,
    clock: options.clock ?? systemClock,
    metrics: options.metrics ?? new MetricsRegistry(),
    loginThrottle: options.loginThrottle ?? DEFAULT_LOGIN_THROTTLE,
    channel: options.channel ?? disconnectedChannel(),
    broker: options.broker ?? noBroker,
  }
  const logger = options.logger
  const base: FastifyServerOptions = {
    trustProxy: options.trustProxy ?? false,
    frameworkErrors: sendFrameworkError,
  }
  const app = (
    typeof logger === 'object'
      ? Fastify({ ...base, loggerInstance: logger })
      : Fastify({ ...base, logger: logger ?? false })
  ).withTypeProvider<ZodTypeProvider>()
  app.setValidatorCompiler(validatorCompiler)
  app.setSerializerCompiler(serializerCompiler)
  app.decorate('deps', deps)
  app.decorateRequest('auth', null)

  registerErrorHandling(app)
  registerJsonBody(app)
  registerNulGuard(app)
  registerHttpMetrics(app, deps.metrics)
  app.register(cookie)
  registerOpenApi(app, API_VERSION)
  app.register(async (root) => {
    registerSystemRoutes(root, deps.store, deps.metrics)
    await root.register(apiV1Routes, { prefix: API_PREFIX, deps })
  })
  return app
}
