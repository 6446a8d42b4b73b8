/**
 * A Matter lock end to end (SPEC §12): the server over HTTP with its reconciler and its own Matter
 * controller, and `latchkey sim-matter` (a virtual Matter door lock) as a separate process, over UDP
 * and HTTP on loopback. What is checked is what a user sees: the API, the lock's keypad, the audit log.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SimulatedClock } from '@latchkey/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type ApiClient,
  eventually,
  type SimMatterProcess,
  startSimMatter,
  startTestServer,
  type TestServer,
} from './harness.ts'

const HOUR = 3_600_000

let server: TestServer
let clock: SimulatedClock
let owner: ApiClient
let sim: SimMatterProcess
let stateDir: string

interface Code {
  id: string
  status: string
  code: string
  delivery: string
  errors: { code: string }[]
}

beforeAll(async () => {
  clock = new SimulatedClock()
  server = await startTestServer({ clock })
  ;({ api: owner } = await server.signup())
  stateDir = mkdtempSync(join(tmpdir(), 'latchkey-e2e-matter-'))
  sim = await startSimMatter({ stateDir, passcode: 20202021, discriminator: 3840 })
})

afterAll(async () => {
  // The server first: its controller says goodbye to a lock that is still there to answer.
  await server?.close()
  await sim?.stop()
  if (stateDir) rmSync(stateDir, { recursive: true, force: true })
})

/** Moves the server's time and the lock's clock together. */
async function advance(ms: number): Promise<void> {
  clock.advance(ms)
  await sim.api.expect(200, 'POST', '/sim/lock/clock', { advanceMs: ms })
}

const keypad = (digits: string) => sim.api.expect(200, 'POST', '/sim/lock/keypad', { digits })
const usersOnLock = async () =>
  (await sim.api.expect(200, 'GET', '/sim/lock')).users as { userIndex: number; hasPin: boolean }[]

function waitForStatus(id: string, status: string): Promise<Code> {
  return eventually(`code ${id} ${status}`, async () => {
    const code = await owner.expect<Code>(200, 'GET', `/api/v1/access-codes/${id}`)
    return code.status === status ? code : null
  })
}

describe('a Matter lock', () => {
  let lockId: string

  it('is commissioned through POST /locks and comes online', async () => {
    const lock = await owner.expect(201, 'POST', '/api/v1/locks', {
      name: 'Side gate',
      timezone: 'UTC',
      driver: 'matter',
      matter: { passcode: sim.passcode, discriminator: sim.discriminator, address: sim.address },
    })
    expect(lock).toMatchObject({ driver: 'matter', gatewayId: null, capacity: { used: 0, total: 20 } })
    expect(lock.bundle).toBeUndefined()
    lockId = lock.id
    expect((await sim.api.expect(200, 'GET', '/sim/lock')).commissioned).toBe(true)
    await eventually(
      'the lock online',
      async () => (await owner.expect(200, 'GET', `/api/v1/locks/${lockId}`)).online,
    )
    // the lock's diagnosis speaks of the Matter controller, not of a gateway it never had
    const diagnosis = await owner.expect(200, 'GET', `/api/v1/locks/${lockId}/diagnosis`)
    expect(diagnosis.checks.find((c: { check: string }) => c.check === 'link')).toMatchObject({
      result: 'pass',
      message: expect.stringMatching(/^The server’s Matter controller reaches the lock/),
    })
  })

  it('takes a one-time code, opens once, refuses it the second time, and the audit shows both with its label', async () => {
    const code = await owner.expect<Code>(201, 'POST', `/api/v1/locks/${lockId}/access-codes`, {
      name: 'Cleaner',
      kind: 'one_time',
    })
    expect([code.delivery, code.status]).toEqual(['synced', 'setting'])
    await waitForStatus(code.id, 'set')
    expect(await usersOnLock()).toMatchObject([{ hasPin: true }])

    expect(await keypad(code.code)).toMatchObject({ result: 'unlocked' })
    expect(await keypad(code.code)).toMatchObject({ result: 'denied' })

    const events = await eventually(
      'both attempts in the audit',
      async () => {
        const body = await owner.expect(200, 'GET', `/api/v1/events?accessCodeId=${code.id}&order=asc`)
        const types = body.items.map((e: { type: string }) => e.type)
        return types.includes('lock.unlocked') && types.includes('lock.access_denied') ? body.items : null
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    )
    expect(
      events
        .filter((e: { type: string }) => e.type.startsWith('lock.'))
        .map((e: { type: string; data: Record<string, unknown> }) => [e.type, e.data.label, e.data.reason]),
    ).toEqual([
      ['lock.unlocked', 'Cleaner', undefined],
      ['lock.access_denied', 'Cleaner', 'already_used'],
    ])

    await owner.expect(200, 'DELETE', `/api/v1/access-codes/${code.id}`)
    await waitForStatus(code.id, 'removed')
    expect(await usersOnLock()).toEqual([])
    expect(await keypad(code.code)).toMatchObject({ result: 'denied', reason: 'unknown_code' })
  }, 90_000)

  it('opens with a timed code only inside its window', async () => {
    const startsAt = clock.now() + 2 * HOUR
    const code = await owner.expect<Code>(201, 'POST', `/api/v1/locks/${lockId}/access-codes`, {
      name: 'Plumber',
      kind: 'timed',
      code: '604719',
      startsAt: new Date(startsAt).toISOString(),
      endsAt: new Date(startsAt + HOUR).toISOString(),
    })
    await waitForStatus(code.id, 'set')
    expect(await keypad('604719')).toMatchObject({ result: 'denied', reason: 'outside_schedule' })
    await advance(2.5 * HOUR)
    expect(await keypad('604719')).toMatchObject({ result: 'unlocked' })
    await advance(HOUR)
    expect(await keypad('604719')).toMatchObject({ result: 'denied' })
    await waitForStatus(code.id, 'removed')
    expect(await usersOnLock()).toEqual([])
  })

  it('finds a PIN changed at the lock by read-back, and puts the code back', async () => {
    const code = await owner.expect<Code>(201, 'POST', `/api/v1/locks/${lockId}/access-codes`, {
      name: 'Family',
      kind: 'permanent',
      code: '739152',
    })
    await waitForStatus(code.id, 'set')
    const [user] = await usersOnLock()
    await sim.api.expect(200, 'POST', `/sim/lock/users/${user!.userIndex}`, { pin: '111999' })
    expect(await keypad('739152')).toMatchObject({ result: 'denied', reason: 'unknown_code' })

    await owner.expect(202, 'POST', `/api/v1/locks/${lockId}/reconcile`)
    await eventually(
      'the code back on the lock',
      async () => (await keypad('739152')).result === 'unlocked',
      {
        intervalMs: 500,
      },
    )
    expect(await keypad('111999')).toMatchObject({ result: 'denied', reason: 'unknown_code' })
    await owner.expect(200, 'DELETE', `/api/v1/access-codes/${code.id}`)
    await waitForStatus(code.id, 'removed')
  })

  it('gone: codes wait with the warnings of SPEC §3; back with its users: they converge by themselves', async () => {
    const kept = await owner.expect<Code>(201, 'POST', `/api/v1/locks/${lockId}/access-codes`, {
      name: 'Neighbour',
      kind: 'permanent',
      code: '520864',
    })
    const leaving = await owner.expect<Code>(201, 'POST', `/api/v1/locks/${lockId}/access-codes`, {
      name: 'Gardener',
      kind: 'permanent',
      code: '604172',
    })
    await waitForStatus(kept.id, 'set')
    await waitForStatus(leaving.id, 'set')
    await sim.stop()

    // a code made while the lock is gone: the command it does not answer in time tells the server
    const next = await owner.expect<Code>(201, 'POST', `/api/v1/locks/${lockId}/access-codes`, {
      name: 'Courier',
      kind: 'permanent',
      code: '318406',
    })
    await eventually(
      'the lock offline',
      async () => !(await owner.expect(200, 'GET', `/api/v1/locks/${lockId}`)).online,
      { timeoutMs: 60_000, intervalMs: 250 },
    )
    // a delete while it is gone says at once that the PIN still opens the door until the lock is reached
    const deleted = await owner.expect<Code & { warnings: { code: string; message: string }[] }>(
      200,
      'DELETE',
      `/api/v1/access-codes/${leaving.id}`,
    )
    expect(deleted.status).toBe('removing')
    expect(deleted.warnings).toContainEqual({
      code: 'still_opens_until_lock_reached',
      message: expect.stringMatching(/^the lock cannot be reached: the code still opens the door/),
    })
    // ten minutes on, the waiting code says it is late, and why
    clock.advance(11 * 60_000)
    const late = await eventually('the courier code late', async () => {
      const code = await owner.expect<Code & { warnings: { code: string; message: string }[] }>(
        200,
        'GET',
        `/api/v1/access-codes/${next.id}`,
      )
      return code.warnings.some((w) => w.code === 'delay_in_setting_on_lock') ? code : null
    })
    expect(late.status).toBe('setting')
    expect(late.warnings.find((w) => w.code === 'delay_in_setting_on_lock')?.message).toMatch(
      /^not yet set on the lock after \d+ minutes \(the lock cannot be reached\): it does not open the lock yet$/,
    )

    // back on the same address, with the users it had
    sim = await startSimMatter({
      stateDir,
      passcode: sim.passcode,
      discriminator: sim.discriminator,
      port: sim.port,
    })
    expect(await keypad('520864')).toMatchObject({ result: 'unlocked' })
    expect(await keypad('604172')).toMatchObject({ result: 'unlocked' })

    // The controller subscribes again by itself (matter.js's own backoff); then the lock converges.
    await eventually(
      'the lock online again, the courier code set and the gardener code removed',
      async () => {
        const lock = await owner.expect(200, 'GET', `/api/v1/locks/${lockId}`)
        const statuses = await Promise.all(
          [kept, next, leaving].map(
            async (c) => (await owner.expect<Code>(200, 'GET', `/api/v1/access-codes/${c.id}`)).status,
          ),
        )
        return lock.online && statuses.join() === 'set,set,removed'
      },
      { timeoutMs: 180_000, intervalMs: 500 },
    )
    expect(await keypad('318406')).toMatchObject({ result: 'unlocked' })
    expect(await keypad('604172')).toMatchObject({ result: 'denied', reason: 'unknown_code' })
    expect(await keypad('520864')).toMatchObject({ result: 'unlocked' })
  }, 400_000)

  it('refuses what only the latchkey driver has, naming the driver', async () => {
    const offline = await owner.expect(422, 'POST', `/api/v1/locks/${lockId}/access-codes`, {
      name: 'Backup',
      kind: 'one_time',
      delivery: 'offline',
    })
    expect(offline).toMatchObject({ code: 'not_supported_by_driver' })
    expect(offline.detail).toContain('matter driver')
    const sync = await owner.expect(422, 'POST', `/api/v1/locks/${lockId}/sync-time`)
    expect(sync).toMatchObject({ code: 'not_supported_by_driver' })
  })

  it('is removed: it leaves the server’s fabric', async () => {
    await owner.expect(204, 'DELETE', `/api/v1/locks/${lockId}`)
    // The lock, its last fabric gone, resets itself (its control API says so meanwhile).
    await eventually('the lock out of the fabric', async () => {
      const view = await sim.api.expect(200, 'GET', '/sim/lock')
      return view.commissioned === false && view.users.length === 0
    })
  })
})
