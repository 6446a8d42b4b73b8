import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  addMemberAndLogin,
  buildTestApp,
  signupOwner,
  TEST_EPOCH,
  type TestAccount,
  type TestApp,
} from '../testing.ts'

let t: TestApp
let owner: TestAccount
let other: TestAccount
let member: TestAccount
let gatewayId: string
beforeAll(async () => {
  t = await buildTestApp()
  owner = await signupOwner(t.app)
  other = await signupOwner(t.app)
  member = await addMemberAndLogin(t.app, owner, 'member')
  gatewayId = (await call(owner, 'POST', '/api/v1/gateways', { name: 'Hall' })).json().id
})
afterAll(() => t.close())

function call(
  account: TestAccount,
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
  url: string,
  payload?: unknown,
) {
  return t.app.inject({
    method,
    url,
    headers: account.headers,
    ...(payload === undefined ? {} : { payload: payload as object }),
  })
}

const at = new Date(TEST_EPOCH).toISOString()

describe('registering a lock', () => {
  it('answers the lock with its status and, once, its provisioning bundle', async () => {
    const response = await call(owner, 'POST', '/api/v1/locks', {
      name: ' Front door ',
      timezone: 'Australia/Sydney',
      gatewayId,
    })
    expect(response.statusCode).toBe(201)
    const { bundle, ...lock } = response.json()
    expect(lock).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      name: 'Front door',
      timezone: 'Australia/Sydney',
      model: 'LK-100',
      driver: 'latchkey',
      gatewayId,
      online: false,
      lastSeenAt: null,
      battery: null,
      clockOffsetMs: null,
      clockSyncedAt: null,
      clockSet: false,
      capacity: { used: 0, total: 250 },
      warnings: [],
      createdAt: at,
      updatedAt: at,
    })
    expect(bundle).toEqual({
      v: 1,
      lockId: lock.id,
      name: 'Front door',
      secret: expect.any(String),
      model: 'LK-100',
      capacity: 250,
      ledgerCapacity: 64,
      eventCapacity: 500,
      timezone: 'Australia/Sydney',
      serverPublicKey: t.secrets.serverKeyPair.publicKey,
      gatewayId,
    })
    expect(Buffer.from(bundle.secret, 'base64').byteLength).toBe(32)

    // never shown again
    const read = await call(owner, 'GET', `/api/v1/locks/${lock.id}`)
    expect(read.json()).toEqual(lock)
    expect(JSON.stringify((await call(owner, 'GET', '/api/v1/locks')).json())).not.toContain(bundle.secret)
    expect((await call(owner, 'GET', `/api/v1/gateways/${gatewayId}`)).json().lockCount).toBe(1)
  })

  it('gives every lock its own secret, and a smaller model its capacity', async () => {
    const a = (await call(owner, 'POST', '/api/v1/locks', { name: 'A', timezone: 'UTC' })).json()
    const b = (
      await call(owner, 'POST', '/api/v1/locks', { name: 'B', timezone: 'UTC', model: 'LK-20' })
    ).json()
    expect(a.bundle.secret).not.toBe(b.bundle.secret)
    expect(a.gatewayId).toBe(null)
    expect(a.bundle.gatewayId).toBe(null)
    expect(b.capacity).toEqual({ used: 0, total: 20 })
    expect(b.bundle).toMatchObject({ model: 'LK-20', capacity: 20, ledgerCapacity: 16, eventCapacity: 200 })
  })

  it('refuses an unknown time zone, model or gateway', async () => {
    const zone = await call(owner, 'POST', '/api/v1/locks', { name: 'X', timezone: 'Mars/Olympus' })
    expect(zone.statusCode).toBe(422)
    expect(zone.json()).toMatchObject({
      code: 'invalid_timezone',
      detail: 'Mars/Olympus is not an IANA time zone',
    })
    const model = await call(owner, 'POST', '/api/v1/locks', { name: 'X', timezone: 'UTC', model: 'LK-9000' })
    expect(model.statusCode).toBe(400)
    expect(model.json().code).toBe('validation_failed')
    const othersGateway = (await call(other, 'POST', '/api/v1/gateways', { name: 'Theirs' })).json().id
    const gateway = await call(owner, 'POST', '/api/v1/locks', {
      name: 'X',
      timezone: 'UTC',
      gatewayId: othersGateway,
    })
    expect(gateway.statusCode).toBe(404)
    expect(gateway.json()).toMatchObject({ code: 'not_found', detail: `no gateway ${othersGateway}` })
    const missing = await call(owner, 'POST', '/api/v1/locks', { timezone: 'UTC' })
    expect(missing.statusCode).toBe(400)
  })

  it('refuses a Matter lock on a server without the matter driver, and a malformed pairing', async () => {
    const without = await call(owner, 'POST', '/api/v1/locks', {
      name: 'Gate',
      timezone: 'UTC',
      driver: 'matter',
      matter: { passcode: 20202021, discriminator: 3840, address: '127.0.0.1:5540' },
    })
    expect(without.statusCode).toBe(422)
    expect(without.json()).toMatchObject({
      code: 'not_supported_by_driver',
      detail: 'this server runs without the matter driver',
    })
    const badAddress = await call(owner, 'POST', '/api/v1/locks', {
      name: 'Gate',
      timezone: 'UTC',
      driver: 'matter',
      matter: { passcode: 20202021, discriminator: 3840, address: 'no port' },
    })
    expect(badAddress.statusCode).toBe(400)
    expect(badAddress.json().code).toBe('validation_failed')
    const items = (await call(owner, 'GET', '/api/v1/locks')).json().items as { name: string }[]
    expect(items.filter((l) => l.name === 'Gate')).toEqual([])
  })

  it('is for owners and admins; a member reads locks but changes none', async () => {
    const refused = await call(member, 'POST', '/api/v1/locks', { name: 'M', timezone: 'UTC' })
    expect(refused.statusCode).toBe(403)
    expect(refused.json().detail).toBe('only owner or admin can register locks')
    const admin = await addMemberAndLogin(t.app, owner, 'admin')
    expect(
      (await call(admin, 'POST', '/api/v1/locks', { name: 'By admin', timezone: 'UTC' })).statusCode,
    ).toBe(201)
    const listed = (await call(member, 'GET', '/api/v1/locks')).json().items
    expect(listed.map((l: { name: string }) => l.name).sort()).toEqual(['A', 'B', 'By admin', 'Front door'])
  })
})

describe('a registered lock', () => {
  let lockId: string
  beforeAll(async () => {
    t.clock.advance(60_000)
    lockId = (
      await call(owner, 'POST', '/api/v1/locks', { name: 'Garage', timezone: 'Europe/Berlin', gatewayId })
    ).json().id
  })

  it('is listed by pages', async () => {
    const all = (await call(owner, 'GET', '/api/v1/locks?limit=500')).json()
    expect(all.nextCursor).toBeUndefined()
    const seen: string[] = []
    let cursor: string | undefined
    for (let page = 0; page < 20; page++) {
      const body = (
        await call(owner, 'GET', `/api/v1/locks?limit=2${cursor ? `&after=${cursor}` : ''}`)
      ).json()
      seen.push(...body.items.map((l: { id: string }) => l.id))
      cursor = body.nextCursor
      if (cursor === undefined) break
    }
    expect(seen).toEqual(all.items.map((l: { id: string }) => l.id))
    expect(seen.at(-1)).toBe(lockId)
    const byGateway = (await call(owner, 'GET', `/api/v1/locks?gatewayId=${gatewayId}`)).json().items
    expect(byGateway.map((l: { name: string }) => l.name).sort()).toEqual(['Front door', 'Garage'])
  })

  it('is renamed and moved to another zone; the change is audited', async () => {
    t.clock.advance(1000)
    const response = await call(owner, 'PATCH', `/api/v1/locks/${lockId}`, {
      name: 'Garage door',
      timezone: 'Asia/Tokyo',
    })
    expect(response.statusCode).toBe(200)
    expect(response.json()).toMatchObject({
      id: lockId,
      name: 'Garage door',
      timezone: 'Asia/Tokyo',
      updatedAt: new Date(TEST_EPOCH + 61_000).toISOString(),
    })
    const events = (await call(owner, 'GET', `/api/v1/events?lockId=${lockId}&type=lock.updated`)).json()
      .items
    expect(events).toHaveLength(1)
    expect(events[0]).toMatchObject({
      type: 'lock.updated',
      actorUserId: owner.userId,
      data: {
        lockName: 'Garage door',
        changes: {
          name: { from: 'Garage', to: 'Garage door' },
          timezone: { from: 'Europe/Berlin', to: 'Asia/Tokyo' },
        },
      },
    })
    const bad = await call(owner, 'PATCH', `/api/v1/locks/${lockId}`, { timezone: 'Nowhere/Land' })
    expect(bad.statusCode).toBe(422)
    expect((await call(member, 'PATCH', `/api/v1/locks/${lockId}`, { name: 'Mine' })).statusCode).toBe(403)
  })

  it('cannot be opened or synced remotely while it is not reachable', async () => {
    for (const action of ['unlock', 'sync-time']) {
      const response = await call(owner, 'POST', `/api/v1/locks/${lockId}/${action}`)
      expect(response.statusCode).toBe(409)
      expect(response.json()).toMatchObject({ code: 'lock_offline', status: 409 })
    }
    expect((await call(member, 'POST', `/api/v1/locks/${lockId}/unlock`)).statusCode).toBe(403)
  })

  it('is reconciled on request by owners and admins', async () => {
    const response = await call(owner, 'POST', `/api/v1/locks/${lockId}/reconcile`)
    expect(response.statusCode).toBe(202)
    expect(response.json()).toEqual({ status: 'requested' })
    expect((await call(member, 'POST', `/api/v1/locks/${lockId}/reconcile`)).statusCode).toBe(403)
  })

  it('is invisible to another organization', async () => {
    expect((await call(other, 'GET', '/api/v1/locks')).json()).toEqual({ items: [] })
    for (const [method, url, payload] of [
      ['GET', `/api/v1/locks/${lockId}`],
      ['PATCH', `/api/v1/locks/${lockId}`, { name: 'Stolen' }],
      ['DELETE', `/api/v1/locks/${lockId}`],
      ['POST', `/api/v1/locks/${lockId}/unlock`],
      ['POST', `/api/v1/locks/${lockId}/sync-time`],
      ['POST', `/api/v1/locks/${lockId}/reconcile`],
    ] as const) {
      const response = await call(other, method, url, payload)
      expect(response.statusCode, `${method} ${url}`).toBe(404)
      expect(response.json().code).toBe('not_found')
    }
    expect((await call(owner, 'GET', `/api/v1/locks/${lockId}`)).json().name).toBe('Garage door')
  })

  it('is removed; its audit stays', async () => {
    expect((await call(member, 'DELETE', `/api/v1/locks/${lockId}`)).statusCode).toBe(403)
    const removed = await call(owner, 'DELETE', `/api/v1/locks/${lockId}`)
    expect(removed.statusCode).toBe(204)
    expect((await call(owner, 'GET', `/api/v1/locks/${lockId}`)).statusCode).toBe(404)
    expect((await call(owner, 'DELETE', `/api/v1/locks/${lockId}`)).statusCode).toBe(404)
    const types = (await call(owner, 'GET', `/api/v1/events?lockId=${lockId}&order=asc`))
      .json()
      .items.map((e: { type: string }) => e.type)
    expect(types).toEqual(['lock.created', 'lock.updated', 'lock.deleted'])
  })
})
