/**
 * `latchkey serve --demo` (SPEC §10): the server with a demo organization, its owner, a gateway and
 * three simulated locks hosted in this process by a Gateway, the simulator's routes under /sim, and
 * simulated time shared by the server and the locks (POST /sim/clock moves both). The locks keep
 * their state in `<dataDir>/sim`, so a second start on the same data directory finds the same
 * organization, locks, codes and events. With `matter` (--demo-matter, LATCHKEY_DEMO_MATTER=1) a
 * virtual Matter lock runs beside them (demo-matter.ts), commissioned into the server's fabric as
 * "Side gate", its keypad under /sim like theirs.
 */
import { join } from 'node:path'
import { isValidTimezone, LatchkeyError, SimulatedClock } from '@latchkey/core'
import { Gateway, type KeypadAnswer, simRoutes } from '@latchkey/gateway'
import {
  DEFAULT_HOST,
  DEMO_CALENDAR_PATH,
  type DemoData,
  demoCalendarFeed,
  type RunningServer,
  replaceDemoLock,
  type StartServerOptions,
  seedDemo,
  seedDemoMatterLock,
  seedDemoProperty,
  startServer,
} from '@latchkey/server'
import type { DemoMatterLock } from './demo-matter.ts'
import { webDist } from './web-dist.ts'

export const DEMO_FALLBACK_TIMEZONE = 'Australia/Sydney'

export interface DemoOptions extends Omit<StartServerOptions, 'clock' | 'register'> {
  /** How long to wait for the demo locks to come online before reporting (default 15 s). */
  onlineTimeoutMs?: number
  /** A virtual Matter lock too (default: LATCHKEY_DEMO_MATTER=1 in `env`). */
  matter?: boolean
}

export interface RunningDemo {
  server: RunningServer
  gateway: Gateway
  data: DemoData
  clock: SimulatedClock
  timezone: string
  /** The virtual Matter lock and the id the server knows it by, when the demo runs one. */
  matterLock?: { id: string; name: string; virtual: DemoMatterLock }
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

/** LATCHKEY_DEMO_MATTER: 1 adds the virtual Matter lock, 0 or unset leaves it out. */
export function demoMatter(env: Record<string, string | undefined>): boolean {
  const value = env.LATCHKEY_DEMO_MATTER?.trim() ?? ''
  if (value === '' || value === '0') return false
  if (value === '1') return true
  throw new LatchkeyError('validation_failed', `LATCHKEY_DEMO_MATTER is 1 or 0, not ${value}`)
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
  let matterLock: RunningDemo['matterLock']
  // The lock runs before the server starts, so the controller finds it at once on a second start.
  // matter.js is loaded only for it: it takes most of a start to load.
  const virtual =
    (options.matter ?? demoMatter(env))
      ? await (await import('./demo-matter.ts')).startDemoMatterLock({
          dataDir: options.dataDir,
          clock: () => clock.now(),
          timezone,
        })
      : undefined

  let server: RunningServer
  try {
    server = await startServer({
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
        const keypads = new Map<string, (digits: string) => Promise<KeypadAnswer>>()
        if (virtual !== undefined) {
          const { id, name } = await seedDemoMatterLock(deps, data, {
            lockId: virtual.lockId,
            commissioned: virtual.lock.commissioned,
            target: {
              passcode: virtual.passcode,
              discriminator: virtual.discriminator,
              address: virtual.address,
            },
            timezone,
          })
          virtual.keep(id)
          matterLock = { id, name, virtual }
          keypads.set(id, (digits) => virtual.enterPin(digits))
        }
        await app.register(simRoutes, { gateway: hosted, world: clock, allowWorldClock: true, keypads })
        app.get(DEMO_CALENDAR_PATH, async (_request, reply) =>
          reply.type('text/calendar; charset=utf-8').send(demoCalendarFeed(clock.now())),
        )
        gateway = hosted
      },
    })
  } catch (error) {
    await virtual?.lock.close()
    throw error
  }
  const close = async () => {
    await gateway?.stop()
    await server.close()
    await virtual?.lock.close()
  }
  try {
    if (gateway === undefined || data === undefined) throw new Error('the demo did not start')
    await gateway.start()
    const all = matterLock === undefined ? data.locks : [...data.locks, matterLock]
    const onlineLocks = await waitOnline(server, all, options.onlineTimeoutMs ?? 15_000)
    await seedDemoProperty(server.deps, data, server.url, timezone)
    return {
      server,
      gateway,
      data,
      clock,
      timezone,
      ...(matterLock === undefined ? {} : { matterLock }),
      onlineLocks,
      close,
    }
  } catch (error) {
    await close()
    throw error
  }
}

/** The demo locks that are online, once all are or the time is up (real time, bounded). */
async function waitOnline(
  server: RunningServer,
  demoLocks: { id: string; name: string }[],
  timeoutMs: number,
): Promise<string[]> {
  const deadline = Date.now() + timeoutMs
  const ids = new Set(demoLocks.map((l) => l.id))
  let online: string[] = []
  for (let round = 0; round < Math.ceil(timeoutMs / 100) + 1; round++) {
    online = []
    for (const lock of demoLocks) {
      if (await server.deps.channel.reachable(lock.id)) online.push(lock.name)
    }
    if (online.length === ids.size || Date.now() >= deadline) break
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return online
}
