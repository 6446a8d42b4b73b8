import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { isLoopbackHost, type RunningDemo, startDemo } from './demo.ts'
import { trustProxyOption } from './options.ts'

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
    // the simulator's routes are in the demo's OpenAPI document, tagged simulator, with their bodies
    const doc = (await (await fetch(`${running.server.url}/api/openapi.json`)).json()) as {
      paths: Record<
        string,
        Record<string, { tags?: string[]; requestBody?: { content: Record<string, { schema: unknown }> } }>
      >
    }
    const radio = doc.paths['/sim/locks/{id}/radio']?.post
    expect(radio?.tags).toEqual(['simulator'])
    expect(radio?.requestBody?.content['application/json']?.schema).toMatchObject({
      properties: { inRange: { type: 'boolean' } },
      required: ['inRange'],
    })
    expect(
      doc.paths['/sim/gateway/link']?.post?.requestBody?.content['application/json']?.schema,
    ).toMatchObject({
      properties: { online: { type: 'boolean' } },
    })
    expect(
      Object.keys(doc.paths)
        .filter((p) => p.startsWith('/sim'))
        .sort(),
    ).toEqual([
      '/sim/clock',
      '/sim/gateway',
      '/sim/gateway/link',
      '/sim/locks',
      '/sim/locks/{id}',
      '/sim/locks/{id}/clock',
      '/sim/locks/{id}/ekey',
      '/sim/locks/{id}/keypad',
      '/sim/locks/{id}/radio',
    ])
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
  }, 120_000)

  it('never changes an existing user’s password, even to LATCHKEY_DEMO_PASSWORD', async () => {
    await expect(start({ LATCHKEY_DEMO_PASSWORD: 'demo password 42' })).rejects.toThrow(
      'the demo never changes an existing user',
    )
    running = await start()
    expect(await login(running, first.password)).toBe(200)
    expect(await login(running, 'demo password 42')).toBe(401)
    await running.close()
    running = null
  })

  it('takes the owner’s password from LATCHKEY_DEMO_PASSWORD on a new data directory', async () => {
    const fresh = mkdtempSync(join(tmpdir(), 'latchkey-demo-test-'))
    try {
      running = await startDemo({
        port: 0,
        host: '127.0.0.1',
        dataDir: fresh,
        mqttPort: 0,
        logger: false,
        env: { ...env, LATCHKEY_DEMO_PASSWORD: 'demo password 42' },
      })
      expect(running.data.owner.password).toBe('demo password 42')
      expect(await login(running, 'demo password 42')).toBe(200)
      await running.close()
      running = null
    } finally {
      rmSync(fresh, { recursive: true, force: true })
    }
  })

  it('refuses a host that is not loopback, before it listens', async () => {
    for (const host of ['0.0.0.0', '::', '192.0.2.10', 'example.test']) {
      await expect(
        startDemo({ port: 0, host, dataDir, mqttPort: 0, logger: false, env }),
      ).rejects.toMatchObject({
        code: 'validation_failed',
        message: expect.stringContaining('loopback only'),
      })
    }
    expect(['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost'].map(isLoopbackHost)).toEqual([
      true,
      true,
      true,
      true,
      true,
    ])
  })
})

describe('--trust-proxy / LATCHKEY_TRUST_PROXY', () => {
  it('reads a hop count as a number and anything else as a list of addresses', () => {
    expect(['2', ' 1 ', '10.0.0.5, 10.0.0.6', '', undefined].map(trustProxyOption)).toEqual([
      2,
      1,
      '10.0.0.5, 10.0.0.6',
      undefined,
      undefined,
    ])
  })
})
