import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { LatchkeyError, SimulatedClock } from '@latchkey/core'
import { afterEach, describe, expect, it } from 'vitest'
import { ServerDouble } from '../../lock/src/testing/server-double.ts'
import { Gateway } from './gateway.ts'

const T0 = Date.UTC(2025, 5, 2, 9, 0, 0)
// No broker listens here: these tests are about what the gateway does without one.
const NO_BROKER = 'mqtt://127.0.0.1:9'

const dirs: string[] = []
const gateways: Gateway[] = []
afterEach(async () => {
  for (const gateway of gateways.splice(0)) await gateway.stop()
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-gateway-'))
  dirs.push(dir)
  return dir
}

function newGateway(stateDir?: string, world = new SimulatedClock({ frozenAt: T0 })): Gateway {
  const gateway = new Gateway({
    gatewayId: 'gw-1',
    token: 'token',
    mqttUrl: NO_BROKER,
    world,
    reconnectPeriodMs: 60_000,
    ...(stateDir ? { stateDir } : {}),
  })
  gateways.push(gateway)
  return gateway
}

describe('Gateway without a broker', () => {
  it('hosts the same locks, in the same state, after a restart on its state directory', async () => {
    const stateDir = tempDir()
    const server = new ServerDouble()
    const first = newGateway(stateDir)
    const lock = await first.attach(server.bundle)
    server.setCode(lock, 'cleaner', '2468', { kind: 'permanent' })
    expect(first.keypad(server.lockId, '2468')).toEqual({ result: 'unlocked' })
    await first.stop()

    const second = newGateway(stateDir)
    expect(second.locks().map((l) => l.id)).toEqual([server.lockId])
    const again = second.requireLock(server.lockId)
    expect(again.view().codes).toEqual([
      { codeId: 'cleaner', kind: 'permanent', uses: 1, rule: { kind: 'permanent' } },
    ])
    // The events the first process never uploaded are still in the lock, for the server to collect.
    expect(server.collectEvents(again).map((e) => e.type)).toEqual(['code_set', 'unlocked'])
    // The kept bundle is readable by its owner only: it holds the lock's secret.
    const kept = join(stateDir, 'attached', `${server.lockId}.json`)
    expect(statSync(kept).mode & 0o777).toBe(0o600)
  })

  it('keeps working while the broker is unreachable, and holds no event itself', async () => {
    const server = new ServerDouble()
    const gateway = newGateway()
    await gateway.attach(server.bundle)
    await gateway.start()
    expect(gateway.status()).toEqual({
      gatewayId: 'gw-1',
      online: true,
      connected: false,
      locks: [{ id: server.lockId, name: 'Front door', inRange: true }],
    })
    expect(gateway.keypad(server.lockId, '0000')).toEqual({ result: 'denied', reason: 'unknown_code' })
    expect(gateway.requireLock(server.lockId).view().events).toMatchObject({
      unacked: 1,
      firstUnackedSeq: 1,
      lastSeq: 1,
    })
  })

  it('refuses a lock provisioned for another gateway, and a bundle that is not one', async () => {
    const gateway = newGateway()
    const foreign = { ...new ServerDouble().bundle, gatewayId: 'gw-2' }
    const error = await gateway.attach(foreign).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(LatchkeyError)
    expect((error as LatchkeyError).code).toBe('conflict')
    expect(gateway.locks()).toEqual([])
    await expect(gateway.attach({ v: 1, lockId: 'x' })).rejects.toMatchObject({ code: 'validation_failed' })
  })

  it('answers not_found for a lock it does not host', () => {
    const gateway = newGateway()
    expect(() => gateway.keypad('nope', '1234')).toThrow(expect.objectContaining({ code: 'not_found' }))
    expect(() => gateway.setInRange('nope', false)).toThrow(expect.objectContaining({ code: 'not_found' }))
    expect(gateway.lock('nope')).toBeUndefined()
  })

  it('refuses an id that cannot name its topics', () => {
    expect(
      () => new Gateway({ gatewayId: 'a/b', token: 't', mqttUrl: NO_BROKER, world: new SimulatedClock() }),
    ).toThrow(expect.objectContaining({ code: 'validation_failed' }))
  })

  it("never reads a lock's secret: only the Lock object uses it", () => {
    const here = dirname(fileURLToPath(import.meta.url))
    const sources = readdirSync(here).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
    expect(sources.length).toBeGreaterThan(3)
    for (const file of sources) {
      const text = readFileSync(join(here, file), 'utf8')
      expect([
        file,
        /\.secret\b|\[['"]secret['"]\]|deriveLockKeys|openLockMessage|sealCommand/.test(text),
      ]).toEqual([file, false])
    }
  })
})
