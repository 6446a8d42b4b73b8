import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { demoMatter, type RunningDemo, startDemo } from './demo.ts'

const dataDir = mkdtempSync(join(tmpdir(), 'latchkey-demo-matter-'))
const env = {
  LATCHKEY_MASTER_KEY: randomBytes(32).toString('base64'),
  LATCHKEY_DEMO_TIMEZONE: 'Australia/Sydney',
  LATCHKEY_DEMO_PASSWORD: 'demo-matter-password',
  LATCHKEY_DEMO_MATTER: '1',
}
let running: RunningDemo | null = null

afterAll(async () => {
  await running?.close()
  rmSync(dataDir, { recursive: true, force: true })
})

const start = () => startDemo({ port: 0, host: '127.0.0.1', dataDir, mqttPort: 0, logger: false, env })

async function api(demo: RunningDemo, path: string, init: { method?: string; body?: unknown } = {}) {
  const login = await fetch(`${demo.server.url}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'demo@latchkey.local', password: env.LATCHKEY_DEMO_PASSWORD }),
  })
  const { token } = (await login.json()) as { token: string }
  const response = await fetch(`${demo.server.url}/api/v1${path}`, {
    method: init.method ?? 'GET',
    headers: {
      authorization: `Bearer ${token}`,
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  })
  return (await response.json()) as Record<string, unknown> & { items: Array<Record<string, unknown>> }
}

const keypad = async (demo: RunningDemo, lockId: string, digits: string) =>
  (await fetch(`${demo.server.url}/sim/locks/${lockId}/keypad`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ digits }),
  }).then((r) => r.json())) as { result: string; reason?: string }

/** Polls `read` until `done` holds (bounded: 200 rounds of 100 ms). */
async function until<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  let value = await read()
  for (let i = 0; i < 200 && !done(value); i++) {
    await new Promise((resolve) => setTimeout(resolve, 100))
    value = await read()
  }
  return value
}

describe('the demo with its virtual Matter lock', () => {
  it('LATCHKEY_DEMO_MATTER is 1 or 0', () => {
    expect([demoMatter({}), demoMatter({ LATCHKEY_DEMO_MATTER: '0' }), demoMatter(env)]).toEqual([
      false,
      false,
      true,
    ])
    expect(() => demoMatter({ LATCHKEY_DEMO_MATTER: 'yes' })).toThrow(/1 or 0/)
  })

  let lockId: string
  let pin: string
  it('commissions "Side gate" as POST /locks does, online beside the simulated locks; its keypad is under /sim', {
    timeout: 90_000,
  }, async () => {
    running = await start()
    const side = running.matterLock!
    expect(side.name).toBe('Side gate')
    expect(running.onlineLocks.sort()).toEqual(['Back door', 'Front door', 'Garage', 'Side gate'])
    // loopback only, on the port the data directory keeps for it
    expect(side.virtual.address).toMatch(/^127\.0\.0\.1:\d+$/)
    const kept = JSON.parse(readFileSync(join(dataDir, 'sim', 'matter-lock.json'), 'utf8'))
    expect([`127.0.0.1:${kept.port}`, kept.lockId]).toEqual([side.virtual.address, side.id])
    lockId = side.id
    const lock = await api(running, `/locks/${lockId}`)
    expect([lock.driver, lock.timezone, lock.online, lock.gatewayId]).toEqual([
      'matter',
      'Australia/Sydney',
      true,
      null,
    ])
    // heard from when commissioned; it keeps its own time, which the server does not set
    expect([typeof lock.lastSeenAt, lock.clockSet]).toEqual(['string', true])
    const diagnosis = (await api(running, `/locks/${lockId}/diagnosis`)) as unknown as {
      checks: { check: string; result: string; message: string }[]
    }
    expect(diagnosis.checks.filter((c) => c.check === 'link' || c.check === 'clock')).toEqual([
      {
        check: 'link',
        result: 'pass',
        message: expect.stringMatching(
          /^The server’s Matter controller reaches the lock \(last heard from on /,
        ),
      },
      {
        check: 'clock',
        result: 'pass',
        message: 'The Matter lock keeps its own time: the server neither sets nor reads it.',
      },
    ])
    const sync = await api(running, `/locks/${lockId}/sync-time`, { method: 'POST' })
    expect(sync.detail).toBe(
      'a lock on the matter driver has no clock sync: clock sync is a feature of the latchkey driver',
    )

    // a code made through the API reaches the lock and opens it at its keypad, as on a simulated lock
    const code = await api(running, `/locks/${lockId}/access-codes`, {
      method: 'POST',
      body: { name: 'Gardener', kind: 'one_time' },
    })
    pin = code.code as string
    await until(
      () => api(running!, `/locks/${lockId}/access-codes`),
      (page) => page.items.some((c) => c.id === code.id && c.status === 'set'),
    )
    expect(await keypad(running, lockId, pin)).toEqual({ result: 'unlocked' })
    expect(await keypad(running, lockId, pin)).toEqual({ result: 'denied', reason: 'already_used' })
    expect(await keypad(running, lockId, '97531')).toEqual({ result: 'denied', reason: 'unknown_code' })
    expect((await running.matterLock!.virtual.lock.users()).length).toBe(1)
  })

  it('a second start on the same data directory finds the same lock, commissioned, with its users', {
    timeout: 90_000,
  }, async () => {
    await running!.close()
    running = await start()
    expect(running.matterLock?.id).toBe(lockId)
    expect(running.onlineLocks).toContain('Side gate')
    expect((await running.matterLock!.virtual.lock.users()).length).toBe(1)
    // commissioned once: one lock.created for it, and no other Matter lock
    const locks = await api(running, '/locks')
    expect(locks.items.filter((l) => l.driver === 'matter').map((l) => l.id)).toEqual([lockId])
    const created = await api(running, `/events?lockId=${lockId}&type=lock.created`)
    expect(created.items.length).toBe(1)
    expect(await keypad(running, lockId, pin)).toEqual({ result: 'denied', reason: 'already_used' })
  })
})
