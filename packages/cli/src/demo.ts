/**
 * `latchkey serve --demo` (SPEC §10): the server with a demo organization, its owner, a gateway and
 * three simulated locks hosted in this process by a Gateway, the simulator's routes under /sim, and
 * simulated time shared by the server and the locks (POST /sim/clock moves both). The locks keep
 * their state in `<dataDir>/sim`, so a second start on the same data directory finds the same
 * organization, locks, codes and events.
 */
import { join } from 'node:path'
import { isValidTimezone, LatchkeyError, SimulatedClock } from '@latchkey/core'
import { Gateway, simRoutes } from '@latchkey/gateway'
import {
  DEFAULT_HOST,
  DEMO_CALENDAR_PATH,
  type DemoData,
  demoCalendarFeed,
  type RunningServer,
  replaceDemoLock,
  type StartServerOptions,
  seedDemo,
  seedDemoProperty,
  startServer,
} from '@latchkey/server'
import { webDist } from './web-dist.ts'

export const DEMO_FALLBACK_TIMEZONE = 'Australia/Sydney'

export interface DemoOptions extends Omit<StartServerOptions, 'clock' | 'register'> {
  /** How long to wait for the demo locks to come online before reporting (default 15 s). */
  onlineTimeoutMs?: number
}

export interface RunningDemo {
  server: RunningServer
  gateway: Gateway
  data: DemoData
  clock: SimulatedClock
  timezone: string
  /** Names of the demo locks online when the demo was ready. */
  onlineLocks: string[]
  close(): Promise<void>
}

/** LATCHKEY_DEMO_TIMEZONE, else the host's zone (schedules then read as the user's local time), else Sydney. */
export function demoTimezone(env: Record<string, string | undefined>): string {
  const candidates = [env.LATCHKEY_DEMO_TIMEZONE, Intl.DateTimeFormat().resolvedOptions().timeZone]
  return candidates.find((zone) => isValidTimezone(zone)) ?? DEMO_FALLBACK_TIMEZONE
}

/** 127.0.0.0/8, ::1 and localhost: the only hosts a demo (a known owner, simulated time) may listen on. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase()
  return bare === 'localhost' || bare === '::1' || /^127(\.\d{1,3}){3}$/.test(bare)
}

export async function startDemo(options: DemoOptions): Promise<RunningDemo> {
  if (!isLoopbackHost(options.host ?? DEFAULT_HOST))
    throw new LatchkeyError(
      'validation_failed',
      `the demo listens on loopback only (127.0.0.1, ::1, localhost), not ${options.host}: its owner and simulated time are for this machine`,
    )
  // the demo's calendar is served by the demo itself, on loopback
  const env: Record<string, string | undefined> = {
    LATCHKEY_WEBHOOK_ALLOW_PRIVATE: '1',
    ...(options.env ?? process.env),
  }
  const clock = new SimulatedClock()
  const stateDir = join(options.dataDir, 'sim')
  const timezone = demoTimezone(env)
  let gateway: Gateway | undefined
  let data: DemoData | undefined

  const server = await startServer({
    webDir: webDist(),
    ...options,
    env,
    clock,
    register: async ({ app, deps, mqtt, log }) => {
      data = await seedDemo(deps, {
        email: env.LATCHKEY_DEMO_EMAIL || undefined,
        password: env.LATCHKEY_DEMO_PASSWORD || undefined,
        timezone,
        stateDir,
      })
      const hosted = new Gateway({
        gatewayId: data.gateway.id,
        token: data.gateway.token,
        mqttUrl: mqtt.publicUrl(),
        tls: mqtt.tls,
        world: clock,
        stateDir,
        log: (message) => log.debug(`demo gateway: ${message}`),
      })
      for (const [i, lock] of data.locks.entries()) {
        if (hosted.lock(lock.id)) continue
        // a lock the server knows but whose simulated flash is gone is registered anew
        const current = lock.created ? lock : await replaceDemoLock(deps, data, lock)
        data.locks[i] = current
        await hosted.attach(current.bundle)
      }
      await app.register(simRoutes, { gateway: hosted, world: clock, allowWorldClock: true })
      app.get(DEMO_CALENDAR_PATH, async (_request, reply) =>
        reply.type('text/calendar; charset=utf-8').send(demoCalendarFeed(clock.now())),
      )
      gateway = hosted
    },
  })
  const close = async () => {
    await gateway?.stop()
    await server.close()
  }
  try {
    if (gateway === undefined || data === undefined) throw new Error('the demo did not start')
    await gateway.start()
    const onlineLocks = await waitOnline(server, data, options.onlineTimeoutMs ?? 15_000)
    await seedDemoProperty(server.deps, data, server.url, timezone)
    return { server, gateway, data, clock, timezone, onlineLocks, close }
  } catch (error) {
    await close()
    throw error
  }
}

/** The demo locks that are online, once all are or the time is up (real time, bounded). */
async function waitOnline(server: RunningServer, data: DemoData, timeoutMs: number): Promise<string[]> {
  const deadline = Date.now() + timeoutMs
  const ids = new Set(data.locks.map((l) => l.id))
  let online: string[] = []
  for (let round = 0; round < Math.ceil(timeoutMs / 100) + 1; round++) {
    online = []
    for (const lock of data.locks) {
      if (await server.deps.channel.reachable(lock.id)) online.push(lock.name)
    }
    if (online.length === ids.size || Date.now() >= deadline) break
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return online
}
