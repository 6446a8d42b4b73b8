/**
 * The process behind `latchkey sim`: one gateway with simulated locks, their state in `stateDir`
 * (as locks keep it in flash), driven over the simulator control API on `controlPort` (loopback by
 * default: the API has no authentication). Without an MQTT URL it asks the server for its broker.
 */
import { LatchkeyError, SimulatedClock } from '@latchkey/core'
import Fastify, { type FastifyInstance } from 'fastify'
import { Gateway } from './gateway.ts'
import { simRoutes } from './sim-routes.ts'

export interface RunSimOptions {
  /** The server's base URL, used to find the broker when mqttUrl is not given. */
  server?: string
  gatewayId: string
  gatewayToken: string
  mqttUrl?: string
  /** Certificate authorities to trust for `mqtts://`, beyond the system's (PEM; LATCHKEY_MQTT_CA). */
  mqttCa?: Buffer
  controlPort: number
  /** Default 127.0.0.1. */
  controlHost?: string
  stateDir: string
  syncIntervalMs?: number
  pollIntervalMs?: number
  /** Stop on SIGINT / SIGTERM (default true). */
  handleSignals?: boolean
  log?: (message: string) => void
}

export interface RunningSim {
  gateway: Gateway
  app: FastifyInstance
  /** `http://host:port` of the control API. */
  controlUrl: string
  mqttUrl: string
  close(): Promise<void>
}

/** Asks the server which broker its gateways use: GET {server}/api/v1/broker → {mqttUrl}. */
export async function discoverBroker(server: string, gatewayToken: string): Promise<string> {
  const url = new URL('/api/v1/broker', server.endsWith('/') ? server : `${server}/`)
  let response: Response
  try {
    response = await fetch(url, {
      headers: { accept: 'application/json', authorization: `Bearer ${gatewayToken}` },
      signal: AbortSignal.timeout(10_000),
    })
  } catch (cause) {
    throw new LatchkeyError(
      'service_unavailable',
      `cannot reach the server at ${server} to find its MQTT broker`,
      {
        cause,
      },
    )
  }
  if (response.status === 404) {
    throw new LatchkeyError(
      'service_unavailable',
      `the server at ${server} does not tell its MQTT broker (GET /api/v1/broker: 404); pass --mqtt-url`,
    )
  }
  if (!response.ok) {
    throw new LatchkeyError(
      'service_unavailable',
      `the server at ${server} answered ${response.status} to GET /api/v1/broker; pass --mqtt-url`,
    )
  }
  const body = (await response.json().catch(() => null)) as { mqttUrl?: unknown } | null
  if (typeof body?.mqttUrl !== 'string' || !/^mqtts?:\/\//.test(body.mqttUrl)) {
    throw new LatchkeyError('service_unavailable', `the server at ${server} gave no mqttUrl; pass --mqtt-url`)
  }
  return body.mqttUrl
}

export async function runSim(options: RunSimOptions): Promise<RunningSim> {
  const log = options.log ?? ((message: string) => console.log(`[latchkey sim] ${message}`))
  let mqttUrl = options.mqttUrl
  if (!mqttUrl) {
    if (!options.server) {
      throw new LatchkeyError(
        'validation_failed',
        'give the server URL (--server) or the broker (--mqtt-url)',
      )
    }
    mqttUrl = await discoverBroker(options.server, options.gatewayToken)
  }

  // A real deployment's gateway runs on the system clock; the simulated one can only be moved per lock.
  const world = new SimulatedClock()
  const gateway = new Gateway({
    gatewayId: options.gatewayId,
    token: options.gatewayToken,
    mqttUrl,
    ...(options.mqttCa === undefined ? {} : { tls: { ca: [options.mqttCa] } }),
    world,
    stateDir: options.stateDir,
    ...(options.syncIntervalMs === undefined ? {} : { syncIntervalMs: options.syncIntervalMs }),
    ...(options.pollIntervalMs === undefined ? {} : { pollIntervalMs: options.pollIntervalMs }),
    log,
  })

  const app = Fastify({ logger: false })
  await app.register(simRoutes, { gateway, world, allowWorldClock: false })
  const host = options.controlHost ?? '127.0.0.1'
  let controlUrl: string
  try {
    await app.listen({ host, port: options.controlPort })
    const address = app.server.address()
    const port = typeof address === 'object' && address ? address.port : options.controlPort
    controlUrl = `http://${host.includes(':') ? `[${host}]` : host}:${port}`
  } catch (cause) {
    await app.close()
    const inUse = (cause as NodeJS.ErrnoException).code === 'EADDRINUSE'
    throw new LatchkeyError(
      'service_unavailable',
      inUse
        ? `control port ${host}:${options.controlPort} is already in use; choose another with --control-port`
        : `cannot listen on ${host}:${options.controlPort}`,
      { cause },
    )
  }
  await gateway.start()
  log(
    `gateway ${options.gatewayId} with ${gateway.locks().length} lock(s) from ${options.stateDir}; ` +
      `broker ${mqttUrl}; control API ${controlUrl}/sim`,
  )

  let closing: Promise<void> | null = null
  const onSignal = (signal: NodeJS.Signals) => {
    log(`${signal}: stopping`)
    void close().then(
      () => {
        process.exitCode = 0
      },
      () => {
        process.exitCode = 1
      },
    )
  }
  const close = () => {
    closing ??= (async () => {
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
      await app.close()
      await gateway.stop()
      log('stopped')
    })()
    return closing
  }
  if (options.handleSignals ?? true) {
    process.once('SIGINT', onSignal)
    process.once('SIGTERM', onSignal)
  }
  return { gateway, app, controlUrl, mqttUrl, close }
}
