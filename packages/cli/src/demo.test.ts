import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { type RunningDemo, startDemo } from './demo.ts'

const dataDir = mkdtempSync(join(tmpdir(), 'latchkey-demo-test-'))
const env = {
  LATCHKEY_MASTER_KEY: randomBytes(32).toString('base64'),
  LATCHKEY_DEMO_TIMEZONE: 'Australia/Sydney',
}
let running: RunningDemo | null = null

afterAll(async () => {
  await running?.close()
  rmSync(dataDir, { recursive: true, force: true })
})

const start = (extra: Record<string, string> = {}) =>
  startDemo({ port: 0, host: '127.0.0.1', dataDir, mqttPort: 0, logger: false, env: { ...env, ...extra } })

async function login(demo: RunningDemo, password: string): Promise<number> {
  const response = await fetch(`${demo.server.url}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'demo@latchkey.local', password }),
  })
  return response.status
}

describe('the demo', () => {
  let first: { organizationId: string; lockIds: string[]; password: string }

  it('starts an organization with its owner and three simulated locks online', async () => {
    running = await start()
    const { data } = running
    expect(data.created).toBe(true)
    expect(data.owner.email).toBe('demo@latchkey.local')
    expect(running.onlineLocks.sort()).toEqual(['Back door', 'Front door', 'Garage'])
    expect(data.locks.map((l) => l.bundle.timezone)).toEqual([
      'Australia/Sydney',
      'Australia/Sydney',
      'Australia/Sydney',
    ])
    expect(await login(running, data.owner.password)).toBe(200)
    expect(await login(running, 'not the password')).toBe(401)

    // a property on two of the locks, with stays from the demo's own calendar feed
    const token = await (
      await fetch(`${running.server.url}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'demo@latchkey.local', password: data.owner.password }),
      })
    ).json()
    const get = async (path: string) =>
      (await fetch(`${running!.server.url}/api/v1${path}`, {
        headers: { authorization: `Bearer ${(token as { token: string }).token}` },
      }).then((r) => r.json())) as { items: Array<Record<string, unknown>> }
    const [property] = (await get('/properties')).items
    expect([property?.name, (property?.lockIds as string[] | undefined)?.length]).toEqual(['Harbour flat', 2])
    const stays = (await get(`/stays?propertyId=${property!.id}`)).items
    expect(stays.map((s) => [s.source, s.status, (s.locks as unknown[]).length])).toEqual([
      ['calendar', 'upcoming', 2],
      ['calendar', 'upcoming', 2],
    ])
    expect(stays.map((s) => s.codeSource).sort()).toEqual(['phone_last4', 'random'])

    // the simulator's routes are on the server, with the world clock
    const locks = (await (await fetch(`${running.server.url}/sim/locks`)).json()) as {
      items: Array<{ id: string }>
    }
    expect(locks.items.map((l) => l.id).sort()).toEqual(data.locks.map((l) => l.id).sort())
    const moved = await fetch(`${running.server.url}/sim/clock`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ advanceMs: 3_600_000 }),
    })
    expect(((await moved.json()) as { offsetMs: number }).offsetMs).toBe(3_600_000)
    // the server's time moved with it
    expect(running.server.deps.clock.now() - Date.now()).toBeGreaterThan(3_590_000)

    first = {
      organizationId: data.organizationId,
      lockIds: data.locks.map((l) => l.id),
      password: data.owner.password,
    }
    await running.close()
    running = null
  }, 120_000)

  it('finds the same organization, locks and password on the next start', async () => {
    running = await start()
    expect(running.data.created).toBe(false)
    expect(running.data.organizationId).toBe(first.organizationId)
    expect(running.data.locks.map((l) => l.id)).toEqual(first.lockIds)
    expect(running.data.owner.password).toBe(first.password)
    expect(running.onlineLocks).toHaveLength(3)
    expect(await login(running, first.password)).toBe(200)
    await running.close()
    running = null
  })

  it('takes the owner’s password from LATCHKEY_DEMO_PASSWORD', async () => {
    running = await start({ LATCHKEY_DEMO_PASSWORD: 'demo password 42' })
    expect(running.data.owner.password).toBe('demo password 42')
    expect(await login(running, 'demo password 42')).toBe(200)
    expect(await login(running, first.password)).toBe(401)
  })
})
