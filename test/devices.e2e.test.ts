/**
 * Gateways, locks and their events end to end: the server over HTTP, a `latchkey sim` process
 * hosting a real simulated lock, and a real broker between them (the embedded one, or Mosquitto with
 * LATCHKEY_TEST_SERVICES=1). Nothing here reaches into the server: what is checked is what a user
 * sees through the API.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type ApiClient,
  type Body,
  eventually,
  type SimProcess,
  startSim,
  startTestServer,
  type TestServer,
} from './harness.ts'

interface LockEventView {
  id: string
  type: string
  lockId: string
  accessCodeId: string | null
  actorUserId: string | null
  data: Record<string, Body>
}

let t: TestServer
let owner: { api: ApiClient; userId: string; organizationId: string }
let gateway: { id: string; token: string }
let lockId: string
let bundle: unknown
let stateDir: string
let sim: SimProcess | null = null

async function lockEvents(type?: string): Promise<LockEventView[]> {
  const query = `lockId=${lockId}&order=asc&limit=500${type ? `&type=${type}` : ''}`
  return (await owner.api.expect(200, 'GET', `/api/v1/events?${query}`)).items
}

beforeAll(async () => {
  t = await startTestServer()
  owner = await t.signup()
  const created = await owner.api.expect(201, 'POST', '/api/v1/gateways', { name: 'Lobby' })
  gateway = { id: created.id, token: created.mqtt.password }
  const lock = await owner.api.expect(201, 'POST', '/api/v1/locks', {
    name: 'Front door',
    timezone: 'Australia/Sydney',
    gatewayId: gateway.id,
  })
  lockId = lock.id
  bundle = lock.bundle
  stateDir = mkdtempSync(join(tmpdir(), 'latchkey-e2e-sim-'))
  sim = await startSim({ serverUrl: t.url, gatewayId: gateway.id, gatewayToken: gateway.token, stateDir })
})

afterAll(async () => {
  await sim?.stop()
  await t?.close()
  if (stateDir) rmSync(stateDir, { recursive: true, force: true })
})

describe('a lock attached to a gateway process', () => {
  it('comes online, with its gateway, its battery and a synced clock', async () => {
    const attached = await sim!.api.expect(201, 'POST', '/sim/locks', { bundle })
    expect(attached).toMatchObject({ id: lockId, name: 'Front door', inRange: true })

    const lock = await eventually('the lock online with its clock set', async () => {
      const body = await owner.api.expect(200, 'GET', `/api/v1/locks/${lockId}`)
      return body.online && body.clockSet ? body : null
    })
    expect(lock).toMatchObject({ online: true, battery: 100, clockSet: true, gatewayId: gateway.id })
    expect(lock.lastSeenAt).not.toBe(null)
    expect((await owner.api.expect(200, 'GET', `/api/v1/gateways/${gateway.id}`)).online).toBe(true)
    // The lock's own record of the sync comes up with its next batch of events, after its reply.
    const types = await eventually('the sync in the audit', async () => {
      const found = (await lockEvents()).map((e) => e.type)
      return found.includes('lock.clock_synced') ? found : null
    })
    expect(types).toContain('lock.online')
  })

  it('opens on a remote unlock, audited with method remote and who asked', async () => {
    const response = await owner.api.post(`/api/v1/locks/${lockId}/unlock`)
    expect(response.status).toBe(200)
    expect(response.body).toEqual({ commandId: expect.any(String), status: 'done' })
    const [event] = await eventually('lock.unlocked in the audit', async () => {
      const found = await lockEvents('lock.unlocked')
      return found.length > 0 ? found : null
    })
    expect(event).toMatchObject({
      type: 'lock.unlocked',
      lockId,
      actorUserId: owner.userId,
      data: { method: 'remote', lockName: 'Front door' },
    })
  })

  it('refuses a wrong PIN on its keypad, audited with the reason', async () => {
    const entered = await sim!.api.expect(200, 'POST', `/sim/locks/${lockId}/keypad`, { digits: '97531' })
    expect(entered).toEqual({ result: 'denied', reason: 'unknown_code' })
    const [denied] = await eventually('lock.access_denied in the audit', async () => {
      const found = await lockEvents('lock.access_denied')
      return found.length > 0 ? found : null
    })
    expect(denied).toMatchObject({
      type: 'lock.access_denied',
      accessCodeId: null,
      data: { method: 'keypad', reason: 'unknown_code', lockName: 'Front door' },
    })
  })

  it('opens with a code set through the API, audited with the code’s label', async () => {
    const code = await owner.api.expect(201, 'POST', `/api/v1/locks/${lockId}/access-codes`, {
      name: 'Cleaner – Tuesday',
      kind: 'permanent',
      code: '482916',
      delivery: 'synced',
    })
    await eventually('the code set on the lock', async () => {
      const body = await owner.api.expect(200, 'GET', `/api/v1/access-codes/${code.id}`)
      return body.status === 'set'
    })
    expect(await sim!.api.expect(200, 'POST', `/sim/locks/${lockId}/keypad`, { digits: '482916' })).toEqual({
      result: 'unlocked',
    })
    const [opened] = await eventually('the keypad unlock in the audit', async () => {
      const found = (await lockEvents('lock.unlocked')).filter((e) => e.data.method === 'keypad')
      return found.length > 0 ? found : null
    })
    expect(opened).toMatchObject({
      accessCodeId: code.id,
      data: { method: 'keypad', label: 'Cleaner – Tuesday' },
    })
    const byCode = (
      await owner.api.expect(200, 'GET', `/api/v1/events?accessCodeId=${code.id}&type=lock.unlocked`)
    ).items
    expect(byCode.map((e: LockEventView) => e.id)).toEqual([opened!.id])
  })

  it('has its clock drift corrected by a sync, and the offset shows on the lock', async () => {
    const before = await sim!.api.expect(200, 'GET', `/sim/locks/${lockId}`)
    await sim!.api.expect(200, 'POST', `/sim/locks/${lockId}/clock`, { advanceMs: 90_000 })
    const synced = await owner.api.post(`/api/v1/locks/${lockId}/sync-time`)
    expect(synced.status).toBe(200)
    expect(synced.body.status).toBe('done')

    const lock = await owner.api.expect(200, 'GET', `/api/v1/locks/${lockId}`)
    // 90 s fast, give or take the moments frames spent on their way (real time on loopback)
    expect(Math.abs(lock.clockOffsetMs - 90_000)).toBeLessThan(2_000)
    expect(lock.clockSet).toBe(true)
    const after = await sim!.api.expect(200, 'GET', `/sim/locks/${lockId}`)
    expect(Math.abs(after.clock.ms - Date.now())).toBeLessThan(2_000)
    expect(before.clock.ms).not.toBe(null)

    const drifts = await eventually('the sync in the audit', async () => {
      const found = (await lockEvents('lock.clock_synced')).filter((e) => (e.data.offsetMs ?? 0) > 88_000)
      return found.length > 0 ? found : null
    })
    expect(drifts[0]!.data).toMatchObject({ clockWasSet: true })
  })

  it('stores every event once across a crash and restart of the gateway process', async () => {
    // keypad entries the server has not acknowledged yet when the process dies
    for (const digits of ['1111', '2222', '3333']) {
      await sim!.api.expect(200, 'POST', `/sim/locks/${lockId}/keypad`, { digits })
    }
    await sim!.kill()
    sim = await startSim({ serverUrl: t.url, gatewayId: gateway.id, gatewayToken: gateway.token, stateDir })

    const view = await eventually('the lock to have no unacknowledged events', async () => {
      const body = await sim!.api.expect(200, 'GET', `/sim/locks/${lockId}`)
      return body.events.unacked === 0 ? body : null
    })
    const events = await lockEvents()
    const seqs = events.flatMap((e) => (typeof e.data.lockSeq === 'number' ? [e.data.lockSeq as number] : []))
    // each seq the lock ever logged, exactly once
    expect(seqs).toEqual(Array.from({ length: view.events.lastSeq }, (_, i) => i + 1))
    const denials = events.filter((e) => e.type === 'lock.access_denied')
    expect(denials).toHaveLength(4)
    expect(new Set(denials.map((e) => e.data.lockSeq)).size).toBe(4)
    await eventually('the lock online again', async () => {
      const body = await owner.api.expect(200, 'GET', `/api/v1/locks/${lockId}`)
      return body.online
    })
  })

  it('is invisible to another organization, and its gateway token opens nothing else', async () => {
    const other = await t.signup()
    expect((await other.api.get(`/api/v1/locks/${lockId}`)).status).toBe(404)
    expect((await other.api.get(`/api/v1/events?lockId=${lockId}`)).body).toEqual({ items: [] })
    expect((await other.api.post(`/api/v1/locks/${lockId}/unlock`)).status).toBe(404)
    const withGatewayToken = owner.api.withToken(gateway.token)
    expect((await withGatewayToken.get('/api/v1/locks')).status).toBe(401)
    expect((await withGatewayToken.get('/api/v1/broker')).body).toEqual({ mqttUrl: t.server.mqttUrl })
  })
})
