/**
 * Access codes end to end, as in AUSLOCK's guide to one-time codes for cleaners and service
 * providers: the server over HTTP with its reconciler, a `latchkey sim` process hosting real
 * simulated locks, and a real broker between them. The server runs on a SimulatedClock so that a
 * window can be reached without waiting; when the server's time moves, the locks' clocks are moved
 * by the same amount (what `POST /sim/clock` does on the demo server). What is checked is what a user
 * sees: the API, the keypad, the audit log.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SimulatedClock } from '@latchkey/core'
import type { RunningServer } from '@latchkey/server'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ApiClient, eventually, type SimProcess, startSim, startTestServer } from './harness.ts'

const MINUTE = 60_000
const HOUR = 60 * MINUTE

interface Code {
  id: string
  name: string
  code: string
  status: string
  errors: { code: string; message: string }[]
  warnings: { code: string; message: string }[]
  [key: string]: unknown
}

let clock: SimulatedClock
let server: RunningServer
let cleanup: () => Promise<void>
let owner: ApiClient
let organizationId: string
let gateway: { id: string; token: string }
let stateDir: string
let sim: SimProcess | null = null

/** The server (embedded broker and PGlite, or PostgreSQL and Mosquitto with LATCHKEY_TEST_SERVICES=1) on a simulated clock. */
async function startServerOnClock(): Promise<void> {
  clock = new SimulatedClock()
  const started = await startTestServer({ clock })
  server = started.server
  cleanup = () => started.close()
}

/** Moves the server's time and every lock's clock together. */
async function advance(ms: number, lockIds: string[]): Promise<void> {
  clock.advance(ms)
  for (const id of lockIds) await sim!.api.expect(200, 'POST', `/sim/locks/${id}/clock`, { advanceMs: ms })
}

async function addLock(name: string, timezone: string, model?: string): Promise<string> {
  const lock = await owner.expect(201, 'POST', '/api/v1/locks', {
    name,
    timezone,
    gatewayId: gateway.id,
    ...(model === undefined ? {} : { model }),
  })
  await sim!.api.expect(201, 'POST', '/sim/locks', { bundle: lock.bundle })
  await eventually(`${name} online with its clock set`, async () => {
    const body = await owner.expect(200, 'GET', `/api/v1/locks/${lock.id}`)
    return body.online && body.clockSet
  })
  return lock.id
}

const keypad = (lockId: string, digits: string) =>
  sim!.api.expect<{ result: string; reason?: string }>(200, 'POST', `/sim/locks/${lockId}/keypad`, { digits })

const getCode = (id: string) => owner.expect<Code>(200, 'GET', `/api/v1/access-codes/${id}`)

function waitForStatus(id: string, status: string, timeoutMs = 20_000): Promise<Code> {
  return eventually(
    `code ${id} ${status}`,
    async () => {
      const code = await getCode(id)
      return code.status === status ? code : null
    },
    { timeoutMs },
  )
}

/** The codes the lock itself holds (its own table, as the simulator shows it). */
async function tableOf(lockId: string): Promise<string[]> {
  const view = await sim!.api.expect(200, 'GET', `/sim/locks/${lockId}`)
  return (view.codes as { codeId: string }[]).map((c) => c.codeId).sort()
}

/** The next instant after `fromMs` at which the wall clock in `timezone` shows `hour`:00. */
function nextLocalHour(fromMs: number, timezone: string, hour: number): number {
  const format = new Intl.DateTimeFormat('en-GB', {
    timeZone: timezone,
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  })
  let t = Math.ceil(fromMs / MINUTE) * MINUTE
  for (let i = 0; i < 2 * 24 * 60; i++, t += MINUTE) {
    if (format.format(t) === `${String(hour).padStart(2, '0')}:00`) return t
  }
  throw new Error(`no ${hour}:00 in ${timezone} within two days`)
}

beforeAll(async () => {
  await startServerOnClock()
  const base = new ApiClient(server.url)
  const signup = await base.expect(201, 'POST', '/api/v1/auth/signup', {
    email: `codes-e2e-${process.pid}@example.test`,
    password: 'correct horse battery',
    organizationName: 'Harbour Flats',
  })
  owner = base.withToken(signup.token)
  organizationId = signup.organizationId
  const created = await owner.expect(201, 'POST', '/api/v1/gateways', { name: 'Lobby' })
  gateway = { id: created.id, token: created.mqtt.password }
  stateDir = mkdtempSync(join(tmpdir(), 'latchkey-e2e-codes-'))
  sim = await startSim({
    serverUrl: server.url,
    gatewayId: gateway.id,
    gatewayToken: gateway.token,
    stateDir,
  })
})

afterAll(async () => {
  await sim?.stop()
  await cleanup?.()
  if (stateDir) rmSync(stateDir, { recursive: true, force: true })
})

describe('a one-time code for a cleaner', () => {
  it('reaches the lock, opens once, is refused the second time, and the audit shows both with its label', async () => {
    const lockId = await addLock('Front door', 'Australia/Sydney')
    const code = await owner.expect<Code>(201, 'POST', `/api/v1/locks/${lockId}/access-codes`, {
      name: 'Cleaner – Tuesday',
      kind: 'one_time',
    })
    expect([code.delivery, code.status, code.code]).toEqual([
      'synced',
      'setting',
      expect.stringMatching(/^\d{6}$/),
    ])
    await waitForStatus(code.id, 'set')
    expect(await tableOf(lockId)).toEqual([code.id])

    expect(await keypad(lockId, code.code)).toEqual({ result: 'unlocked' })
    expect(await keypad(lockId, code.code)).toEqual({ result: 'denied', reason: 'already_used' })

    const events = await eventually('both attempts in the audit', async () => {
      const body = await owner.expect(200, 'GET', `/api/v1/events?accessCodeId=${code.id}&order=asc`)
      const types = body.items.map((e: { type: string }) => e.type)
      return types.includes('lock.unlocked') && types.includes('lock.access_denied') ? body.items : null
    })
    expect(
      events.map((e: { type: string; data: Record<string, unknown> }) => [
        e.type,
        e.data.label,
        e.data.reason,
      ]),
    ).toEqual([
      ['access_code.created', 'Cleaner – Tuesday', undefined],
      ['access_code.set_on_lock', 'Cleaner – Tuesday', undefined],
      ['lock.code_added', 'Cleaner – Tuesday', undefined],
      ['lock.unlocked', 'Cleaner – Tuesday', undefined],
      ['lock.access_denied', 'Cleaner – Tuesday', 'already_used'],
    ])
    const used = await eventually('the use counted', async () => {
      const body = await getCode(code.id)
      return body.uses === 1 ? body : null
    })
    expect(used.status).toBe('set')
  })
})

describe('a timed code, 10:00–12:00 in the lock’s time zone', () => {
  it('goes on the lock a day ahead, is refused before and after its window, opens inside, and comes off after its end', async () => {
    const timezone = 'Europe/Berlin'
    const lockId = await addLock('Back door', timezone)
    const startsAt = nextLocalHour(clock.now() + 30 * HOUR, timezone, 10)
    const endsAt = startsAt + 2 * HOUR
    const code = await owner.expect<Code>(201, 'POST', `/api/v1/locks/${lockId}/access-codes`, {
      name: 'Plumber',
      kind: 'timed',
      code: '604719',
      startsAt: new Date(startsAt).toISOString(),
      endsAt: new Date(endsAt).toISOString(),
    })
    expect(code.status).toBe('scheduled')
    // Not on the lock yet: the lock does not know it.
    expect(await keypad(lockId, '604719')).toEqual({ result: 'denied', reason: 'unknown_code' })

    await advance(startsAt - HOUR - clock.now(), [lockId])
    await waitForStatus(code.id, 'set')
    expect(await keypad(lockId, '604719')).toEqual({ result: 'denied', reason: 'outside_schedule' })

    await advance(90 * MINUTE, [lockId])
    expect(await keypad(lockId, '604719')).toEqual({ result: 'unlocked' })

    await advance(2 * HOUR, [lockId])
    expect((await keypad(lockId, '604719')).result).toBe('denied')
    const removed = await waitForStatus(code.id, 'removed')
    expect(removed.expiredAt).toBe(new Date(endsAt).toISOString())
    expect(await tableOf(lockId)).toEqual([])
    expect(await keypad(lockId, '604719')).toEqual({ result: 'denied', reason: 'unknown_code' })
    const types = (
      await owner.expect(200, 'GET', `/api/v1/events?accessCodeId=${code.id}&order=asc`)
    ).items.map((e: { type: string }) => e.type)
    expect(types.filter((t: string) => t.startsWith('access_code.'))).toEqual([
      'access_code.created',
      'access_code.set_on_lock',
      'access_code.expired',
      'access_code.removed_from_lock',
    ])
  })
})

describe('a code deleted while the gateway is offline', () => {
  it('keeps opening until the gateway is back, is refused within seconds after, and says what happened meanwhile', async () => {
    const lockId = await addLock('Garage', 'Australia/Sydney')
    const code = await owner.expect<Code>(201, 'POST', `/api/v1/locks/${lockId}/access-codes`, {
      name: 'Dog walker',
      kind: 'permanent',
      code: '817364',
    })
    await waitForStatus(code.id, 'set')

    await sim!.api.expect(200, 'POST', '/sim/gateway/link', { online: false })
    try {
      await deletedWhileOffline(lockId, code)
    } finally {
      await sim!.api.expect(200, 'POST', '/sim/gateway/link', { online: true })
    }
    const removed = await waitForStatus(code.id, 'removed', 10_000)
    expect(removed.warnings).toEqual([
      {
        code: 'delay_in_removing_from_lock',
        message: 'removed from the lock 11 minutes after the change: it opened the lock until then',
      },
    ])
    expect(await keypad(lockId, '817364')).toEqual({ result: 'denied', reason: 'unknown_code' })
  })
})

/** While the gateway is cut off: deleted, still opening, and after a while a warning that says so. */
async function deletedWhileOffline(lockId: string, code: Code): Promise<void> {
  await eventually('the server to see the lock offline', async () => {
    return !(await owner.expect(200, 'GET', `/api/v1/locks/${lockId}`)).online
  })
  const deleted = await owner.expect<Code>(200, 'DELETE', `/api/v1/access-codes/${code.id}`)
  const stillOpens = {
    code: 'still_opens_until_lock_reached',
    message:
      'the lock’s gateway is offline: the code still opens the door until the lock is reached and takes the removal',
  }
  expect([deleted.status, deleted.warnings]).toEqual(['removing', [stillOpens]])
  expect(await keypad(lockId, '817364')).toEqual({ result: 'unlocked' })

  clock.advance(11 * MINUTE)
  const waiting = await eventually('the delay warning', async () => {
    const body = await getCode(code.id)
    return body.warnings.some((w) => w.code === 'delay_in_removing_from_lock') ? body : null
  })
  expect([waiting.status, waiting.warnings]).toEqual([
    'removing',
    [
      stillOpens,
      {
        code: 'delay_in_removing_from_lock',
        message:
          'not yet removed from the lock after 11 minutes (the lock’s gateway is offline): it still opens the lock until the lock is reached',
      },
    ],
  ])
  expect(await keypad(lockId, '817364')).toEqual({ result: 'unlocked' })
}

describe('a full lock', () => {
  it('an LK-20 holding 20 codes gives lock_full to the 21st', async () => {
    const lockId = await addLock('Storage room', 'Australia/Sydney', 'LK-20')
    const ids: string[] = []
    for (let i = 1; i <= 20; i++) {
      const code = await owner.expect<Code>(201, 'POST', `/api/v1/locks/${lockId}/access-codes`, {
        name: `Tenant ${i}`,
        kind: 'permanent',
      })
      ids.push(code.id)
    }
    await eventually('20 codes on the lock', async () => (await tableOf(lockId)).length === 20)
    for (const id of ids) await waitForStatus(id, 'set')

    const extra = await owner.expect<Code>(201, 'POST', `/api/v1/locks/${lockId}/access-codes`, {
      name: 'Tenant 21',
      kind: 'permanent',
    })
    // it waits for a slot: setting, with lock_full
    expect([extra.status, extra.errors]).toEqual([
      'setting',
      [
        {
          code: 'lock_full',
          message:
            'the lock is full: its 20 slots hold codes that must be on it now; this code goes on as soon as a slot frees (delete a code or wait for one to end)',
        },
      ],
    ])
    expect(await keypad(lockId, extra.code)).toEqual({ result: 'denied', reason: 'unknown_code' })
    const diagnosis = await owner.expect(200, 'GET', `/api/v1/access-codes/${extra.id}/diagnosis`)
    expect(diagnosis.checks.find((c: { check: string }) => c.check === 'capacity')).toEqual({
      check: 'capacity',
      result: 'fail',
      message:
        'The lock is full (20 of 20 slots are in use): delete a code on it, or wait for one to end, to make room.',
    })

    await owner.expect(200, 'DELETE', `/api/v1/access-codes/${ids[0]}`)
    await waitForStatus(extra.id, 'set')
    expect(await keypad(lockId, extra.code)).toEqual({ result: 'unlocked' })
  })
})

describe('roles', () => {
  it('a member who is not owner or admin cannot create codes', async () => {
    const lockId = (await owner.expect(200, 'GET', '/api/v1/locks')).items[0].id
    const invitation = await owner.expect(201, 'POST', '/api/v1/invitations', {
      email: `member-${process.pid}@example.test`,
      role: 'member',
    })
    const login = await new ApiClient(server.url).expect(200, 'POST', '/api/v1/auth/accept-invitation', {
      token: invitation.token,
      password: 'member password 1',
    })
    expect(login.organizationId).toBe(organizationId)
    const member = new ApiClient(server.url, login.token)
    const refused = await member.post(`/api/v1/locks/${lockId}/access-codes`, {
      name: 'Sneaky',
      kind: 'permanent',
    })
    expect(refused.status).toBe(403)
    expect(refused.body).toEqual({
      type: 'urn:latchkey:error:forbidden',
      title: 'Forbidden',
      status: 403,
      code: 'forbidden',
      detail: 'only owner or admin can create access codes',
    })
  })
})
