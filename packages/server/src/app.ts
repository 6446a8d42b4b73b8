/**
 * The HTTP application: `/api/v1` (JSON, problem+json errors), the OpenAPI document and docs,
 * probes and metrics. Built without listening, so tests drive it with `inject()`.
 */
import cookie from '@fastify/cookie'
import { type Clock, systemClock } from '@latchkey/core'
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyServerOptions } from 'fastify'
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod'
import {
  DEFAULT_LOGIN_THROTTLE,
  DEFAULT_SIGNUP_MODE,
  DEFAULT_SIGNUP_THROTTLE,
  type LoginThrottleConfig,
  type SignupMode,
  type ThrottleRule,
} from './accounts/index.ts'
import type { ServerDeps } from './context.ts'
import {
  type BrokerAccess,
  disconnectedChannel,
  type LockChannel,
  type MatterDriver,
  noBroker,
} from './devices/index.ts'
import {
  MetricsRegistry,
  registerErrorHandling,
  registerHttpMetrics,
  registerJsonBody,
  registerNulGuard,
  registerOpenApi,
  registerSystemRoutes,
  registerWeb,
  sendFrameworkError,
} from './http/index.ts'
import { apiV1Routes } from './routes/index.ts'
import type { Secrets } from './secrets.ts'
import type { Store } from './store/index.ts'

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
  /** LATCHKEY_SIGNUP: `first` (default), `open` or `closed`. */
  signup?: SignupMode
  /** Sign-ups per client network (default DEFAULT_SIGNUP_THROTTLE). */
  signupThrottle?: ThrottleRule
  /** The lock channel; without it no lock can be reached (route tests). */
  channel?: LockChannel
  /** The broker gateways use; without it GET /broker answers 503. */
  broker?: BrokerAccess
  /** The Matter driver (commissioning); without it `POST /locks {driver:'matter'}` is refused. */
  matter?: MatterDriver
  /** LATCHKEY_METRICS_TOKEN: `/metrics` answers only with it as bearer, and is absent without it. */
  metricsToken?: string | undefined
  /** Behind a reverse proxy: trust its X-Forwarded-For for the client address (login throttling). */
  trustProxy?: boolean | number | string
  /** The built portal and app (packages/web/dist), served at `/` and `/app`; none when omitted. */
  webDir?: string
}

declare module 'fastify' {
  interface FastifyInstance {
    /** What the routes work with; other parts of the server (broker, reconciler, demo) reach it here. */
    deps: ServerDeps
  }
}

/**
 * `--trust-proxy`: a hop count trusts that many proxies nearest the server (X-Forwarded-For is read
 * from the right); a list trusts those addresses or ranges; nothing trusts no header.
 */
function trustProxySetting(
  value: boolean | number | string | undefined,
): boolean | string | ((address: string, hop: number) => boolean) {
  if (typeof value === 'number') return (_address, hop) => hop < value
  return value ?? false
}

export function buildApp(options: BuildAppOptions): FastifyInstance {
  const deps: ServerDeps = {
    store: options.store,
    db: options.store.db,
    secrets: options.secrets,
    clock: options.clock ?? systemClock,
    metrics: options.metrics ?? new MetricsRegistry(),
    loginThrottle: options.loginThrottle ?? DEFAULT_LOGIN_THROTTLE,
    signup: {
      mode: options.signup ?? DEFAULT_SIGNUP_MODE,
      throttle: options.signupThrottle ?? DEFAULT_SIGNUP_THROTTLE,
    },
    channel: options.channel ?? disconnectedChannel(),
    broker: options.broker ?? noBroker,
    ...(options.matter === undefined ? {} : { matter: options.matter }),
  }
  const logger = options.logger
  const base: FastifyServerOptions = {
    trustProxy: trustProxySetting(options.trustProxy),
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
  if (options.webDir !== undefined) registerWeb(app, options.webDir)
  registerOpenApi(app, API_VERSION)
  app.register(async (root) => {
    registerSystemRoutes(root, deps.store, deps.metrics, options.metricsToken)
    await root.register(apiV1Routes, { prefix: API_PREFIX, deps })
  })
  return app
}
