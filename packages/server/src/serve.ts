/**
 * `latchkey serve` (SPEC §1, §10): the store (PGlite in the data directory, or DATABASE_URL), the
 * master key, the MQTT broker (embedded, or MQTT_URL), the lock channel, the reconciler, the webhook
 * worker and the HTTP API, started together and closed together (in reverse order; PGlite must be closed or the process
 * does not exit).
 *
 * The demo (packages/cli/src/demo.ts) hosts simulated locks in the same process; the server itself
 * never imports them: it gets a `register` hook, called when everything but HTTP is up, to mount
 * the simulator's routes, and the SimulatedClock it shares with the locks.
 */
import { existsSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { type Clock, LatchkeyError, systemClock } from '@latchkey/core'
import { eq } from 'drizzle-orm'
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import { pino } from 'pino'
import { parseSignupMode, type SignupMode } from './accounts/index.ts'
import { buildApp } from './app.ts'
import { revokedShares } from './app-users/index.ts'
import type { ServerDeps } from './context.ts'
import type { ChannelLogger } from './devices/index.ts'
import {
  connectExternalMqtt,
  type LockChannel,
  lazyMatterChannel,
  matterSettingsFrom,
  type RunningLockChannel,
  routedChannel,
  type ServerMqtt,
  setGatewayOnline,
  setLockOnline,
  startEmbeddedMqtt,
  startLockChannel,
} from './devices/index.ts'
import { allowPrivateTargets, MetricsRegistry, sendMetrics } from './http/index.ts'
import { startPropertyScheduler } from './properties/index.ts'
import { type Reconciler, registerReconcilerLag, startReconciler } from './reconciler/index.ts'
import { loadSecrets } from './secrets.ts'
import { gateways, locks, openStore, type Store } from './store/index.ts'
import { startWebhookWorker } from './webhooks/index.ts'

export const DEFAULT_PORT = 8080
export const DEFAULT_HOST = '127.0.0.1'
/** The server's own login on a real broker (made through dynamic security). */
export const SERVER_MQTT_USERNAME = 'latchkey-server'

export interface StartServerOptions {
  /** HTTP port (default 8080; 0 picks a free one). */
  port?: number
  /** Where HTTP and the embedded broker listen (default 127.0.0.1; 0.0.0.0 for every interface). */
  host?: string
  /** The PGlite database (unless databaseUrl), the master key file (unless LATCHKEY_MASTER_KEY). */
  dataDir: string
  /** A PostgreSQL server instead of PGlite (DATABASE_URL). */
  databaseUrl?: string | undefined
  /** A real broker instead of the embedded one (MQTT_URL, with the server's login). */
  mqttUrl?: string | undefined
  /** Where gateways reach that broker, when not at MQTT_URL's host (LATCHKEY_MQTT_PUBLIC_URL). */
  mqttPublicUrl?: string | undefined
  /** The embedded broker's port (default 1884, or a free one when 1884 is taken). */
  mqttPort?: number | undefined
  /** The embedded broker serves `mqtts://` with this certificate and key (PEM). */
  mqttTls?: { cert: Buffer; key: Buffer } | undefined
  /** Certificate authorities to trust for an `mqtts://` MQTT_URL, beyond the system's (PEM). */
  mqttCa?: Buffer | undefined
  /** The system clock, except in the demo and in tests. */
  clock?: Clock
  /** A pino logger, `true` for one at LOG_LEVEL (default info), `false` for none. */
  logger?: FastifyBaseLogger | boolean
  /** Where LATCHKEY_MASTER_KEY and LOG_LEVEL are read (default process.env). */
  env?: Record<string, string | undefined>
  /** Called when store, broker, channel and app are up, before HTTP listens (the demo mounts /sim here). */
  register?: (server: StartedParts) => Promise<void> | void
  /** Start the reconciler (default true). */
  reconciler?: boolean
  trustProxy?: boolean | number | string
  /** Who may sign up (`--signup`); else LATCHKEY_SIGNUP from `env`, else `first`. */
  signup?: SignupMode
  /** A listener of its own for `/metrics` (on `host`, no token; the API's port then serves none); else LATCHKEY_METRICS_TOKEN guards it. */
  metricsPort?: number | undefined
  /** Told what the server is doing while it starts, one line per step (the CLI prints them). */
  progress?: (step: string) => void
  /** The built portal and app (packages/web/dist). */
  webDir?: string
}

/**
 * Refuses a port someone else listens on before anything is created (data directory, master key,
 * database), so a second start by mistake leaves nothing behind.
 */
export async function assertPortFree(host: string, port: number): Promise<void> {
  if (port === 0) return
  await new Promise<void>((resolvePort, reject) => {
    const probe = createServer()
    probe.once('error', (cause: NodeJS.ErrnoException) =>
      reject(
        new LatchkeyError(
          'service_unavailable',
          cause.code === 'EADDRINUSE'
            ? `cannot listen on ${host}:${port}: the port is in use (is Latchkey running already? choose another with --port)`
            : `cannot listen on ${host}:${port}: ${cause.message}`,
          { cause },
        ),
      ),
    )
    probe.listen({ port, host, exclusive: true }, () => probe.close(() => resolvePort()))
  })
}

export interface StartedParts {
  app: FastifyInstance
  deps: ServerDeps
  mqtt: ServerMqtt
  log: FastifyBaseLogger
}

export interface RunningServer extends StartedParts {
  /** `http://host:port` of the API. */
  url: string
  /** The metrics listener, with --metrics-port. */
  metricsUrl?: string
  /** Where gateways connect. */
  mqttUrl: string
  channel: RunningLockChannel
  close(): Promise<void>
}

/** Runs `steps` in reverse order, each once, all of them even when one fails. */
class Shutdown {
  readonly #steps: Array<{ name: string; run: () => Promise<void> }> = []
  add(name: string, run: () => Promise<void>): void {
    this.#steps.push({ name, run })
  }
  async run(log: FastifyBaseLogger): Promise<void> {
    for (const step of this.#steps.splice(0).reverse()) {
      try {
        await step.run()
      } catch (error) {
        log.error({ err: error }, `closing ${step.name} failed`)
      }
    }
  }
}

function makeLogger(
  option: StartServerOptions['logger'],
  env: Record<string, string | undefined>,
): FastifyBaseLogger {
  if (typeof option === 'object') return option
  return pino({
    level: option === false ? 'silent' : (env.LOG_LEVEL ?? 'info'),
  }) as unknown as FastifyBaseLogger
}

/**
 * The embedded broker runs in this process only: whatever the store says was online was online
 * through a broker that no longer exists. Gateways reconnect and say so again.
 */
async function forgetOnlineState(deps: ServerDeps): Promise<void> {
  const now = new Date(deps.clock.now())
  const online = await deps.db.select({ id: gateways.id }).from(gateways).where(eq(gateways.online, true))
  for (const gateway of online) await setGatewayOnline(deps.db, gateway.id, false, now, 'server_restarted')
  const still = await deps.db.select({ id: locks.id }).from(locks).where(eq(locks.online, true))
  for (const lock of still) await setLockOnline(deps.db, lock.id, false, now, 'server_restarted')
}

function runReconciler(
  deps: ServerDeps,
  channel: LockChannel,
  log: FastifyBaseLogger,
  ownsStore: boolean,
): Reconciler {
  return startReconciler(
    { db: deps.db, secrets: deps.secrets, clock: deps.clock, metrics: deps.metrics },
    channel,
    {
      // eKeys revoked on the server go onto each lock's revocation list
      revocations: (db, lockId, nowMs) => revokedShares(db, lockId, nowMs),
      ...(deps.matter === undefined ? {} : { matterController: deps.matter.controllerId }),
      soleProcess: ownsStore,
      onError: (error, lockId) => log.error({ err: error, lockId }, 'reconciling a lock failed'),
    },
  )
}

/**
 * Where the server's Matter controller keeps its fabric: one storage path per process (matter.js), so
 * a Matter node run beside the server in its process (the demo's virtual lock) keeps its state there too.
 */
export function matterStoragePath(dataDir: string): string {
  return join(dataDir, 'matter')
}

export async function startServer(options: StartServerOptions): Promise<RunningServer> {
  const env = options.env ?? process.env
  // a wrong mode is refused before anything is created
  const signupMode = options.signup ?? parseSignupMode(env.LATCHKEY_SIGNUP)
  const matterSettings = matterSettingsFrom(env)
  const log = makeLogger(options.logger, env)
  const channelLog = log as unknown as ChannelLogger
  const clock = options.clock ?? systemClock
  const host = options.host ?? DEFAULT_HOST
  const shutdown = new Shutdown()
  const progress = options.progress ?? (() => {})
  await assertPortFree(host, options.port ?? DEFAULT_PORT)
  try {
    if (options.databaseUrl) progress('connecting to PostgreSQL (DATABASE_URL) and migrating it')
    else
      progress(
        existsSync(join(options.dataDir, 'pglite'))
          ? `opening the database in ${options.dataDir} and migrating it`
          : `creating the database in ${options.dataDir} (first start)`,
      )
    const secrets = loadSecrets({ env, dataDir: options.dataDir, log: (message) => log.warn(message) })
    const store: Store = await openStore(
      options.databaseUrl
        ? {
            databaseUrl: options.databaseUrl,
            onPoolError: (error) => log.error({ err: error }, 'database connection lost'),
          }
        : { dataDir: options.dataDir },
    )
    shutdown.add('the database', () => store.close())
    const keyFile = join(options.dataDir, 'master.key')
    progress(
      `database ready, migrations applied; master key ${secrets.source === 'env' ? 'from LATCHKEY_MASTER_KEY' : secrets.source === 'generated' ? `created in ${keyFile} (keep a copy)` : `from ${keyFile}`}`,
    )

    const mqtt = options.mqttUrl
      ? await connectExternalMqtt({
          url: options.mqttUrl,
          ...(options.mqttPublicUrl ? { publicUrl: options.mqttPublicUrl } : {}),
          serverLogin: {
            username: SERVER_MQTT_USERNAME,
            password: secrets.deriveKey('mqtt-server-login').toString('base64url'),
          },
          ...(options.mqttCa === undefined ? {} : { ca: options.mqttCa }),
          log: channelLog,
        })
      : await startEmbeddedMqtt({
          db: store.db,
          host,
          ...(options.mqttPort === undefined ? {} : { port: options.mqttPort }),
          ...(options.mqttTls === undefined ? {} : { tls: options.mqttTls }),
          log: channelLog,
        })
    shutdown.add('the MQTT broker', () => mqtt.close())
    progress(`MQTT broker up at ${mqtt.publicUrl()} (${mqtt.kind})`)

    const metrics = new MetricsRegistry()
    registerReconcilerLag({ db: store.db, clock, metrics })
    if (mqtt.kind === 'embedded') {
      await forgetOnlineState({ db: store.db, clock } as ServerDeps)
    }
    const channel = await startLockChannel({
      deps: { db: store.db, secrets, clock, metrics },
      url: mqtt.url,
      username: mqtt.login.username,
      password: mqtt.login.password,
      tls: mqtt.tls,
      sharedGroup: mqtt.sharedGroup,
      log: channelLog,
    })
    shutdown.add('the lock channel', () => channel.close())
    // The Matter controller keeps its fabric in the data directory (docs/ARCHITECTURE.md says why).
    const matter = lazyMatterChannel({
      deps: { db: store.db, secrets, clock, metrics },
      storagePath: matterStoragePath(options.dataDir),
      settings: matterSettings,
      log: channelLog,
    })
    shutdown.add('the Matter controller', () => matter.close())
    await matter.startIfNeeded()
    const drivers = routedChannel(store.db, { latchkey: channel, matter })

    const app = buildApp({
      store,
      secrets,
      clock,
      logger: log,
      metrics,
      channel: drivers,
      broker: mqtt,
      matter,
      ...(options.trustProxy === undefined ? {} : { trustProxy: options.trustProxy }),
      ...(options.webDir === undefined ? {} : { webDir: options.webDir }),
      // with a metrics listener of its own, the API's port serves no /metrics at all
      metricsToken: options.metricsPort === undefined ? env.LATCHKEY_METRICS_TOKEN || undefined : undefined,
      signup: signupMode,
    })
    shutdown.add('HTTP', () => app.close())
    let metricsUrl: string | undefined
    if (options.metricsPort !== undefined) {
      const metricsApp = Fastify({ logger: false })
      metricsApp.get('/metrics', (_request, reply) => sendMetrics(reply, metrics))
      shutdown.add('metrics HTTP', () => metricsApp.close())
      metricsUrl = await metricsApp.listen({ port: options.metricsPort, host })
    }
    const deps = app.deps

    await options.register?.({ app, deps, mqtt, log })
    // Every route is compiled before the background work starts: on a restart with many locks due,
    // the reconciler's first passes would otherwise hold up the app's start past its plugin timeout.
    await app.ready()

    if (options.reconciler ?? true) {
      // one PGlite process owns its store: a claim or a lease left by a killed run is stale
      const reconciler = runReconciler(deps, drivers, log, store.kind === 'pglite')
      shutdown.add('the reconciler', () => reconciler.stop())
      // booking calendars and the stays' code confirmation
      const scheduler = startPropertyScheduler(deps, {
        allowPrivate: allowPrivateTargets(env),
        onError: (error) => log.error({ err: error }, 'the properties scheduler failed'),
      })
      shutdown.add('the properties scheduler', () => scheduler.stop())
      // webhook deliveries
      const webhookWorker = startWebhookWorker(deps, {
        allowPrivate: allowPrivateTargets(env),
        releaseLeasesAtStart: store.kind === 'pglite',
        onError: (error) => log.error({ err: error }, 'the webhook worker failed'),
      })
      shutdown.add('the webhook worker', () => webhookWorker.stop())
    }

    progress(`listening on ${host}:${options.port ?? DEFAULT_PORT}`)
    try {
      await app.listen({ port: options.port ?? DEFAULT_PORT, host })
    } catch (cause) {
      const inUse = (cause as NodeJS.ErrnoException).code === 'EADDRINUSE'
      throw new LatchkeyError(
        'service_unavailable',
        inUse
          ? `cannot listen on ${host}:${options.port ?? DEFAULT_PORT}: the port is in use (choose another with --port)`
          : `cannot listen on ${host}:${options.port ?? DEFAULT_PORT}: ${(cause as Error).message}`,
        { cause },
      )
    }
    const address = app.server.address()
    const port =
      typeof address === 'object' && address !== null ? address.port : (options.port ?? DEFAULT_PORT)
    const shownHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host
    const url = `http://${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${port}`
    const mqttUrl = mqtt.publicUrl()

    let closing: Promise<void> | null = null
    return {
      app,
      deps,
      mqtt,
      log,
      channel,
      url,
      mqttUrl,
      ...(metricsUrl === undefined ? {} : { metricsUrl }),
      close: () => {
        closing ??= shutdown.run(log)
        return closing
      },
    }
  } catch (error) {
    await shutdown.run(log)
    throw error
  }
}
