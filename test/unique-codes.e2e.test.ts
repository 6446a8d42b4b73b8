/**
 * Unique codes end to end, step by step as in LockVue's guide (seeds/003): enable unique codes, create
 * a code, share two locks to it at maintenance, hand it over; the end user logs in with Code Login and
 * opens both locks — remotely through the server and with an eKey presented to the lock — and access
 * ends when a share is revoked, when the code is deleted, and when it expires. The server runs over
 * HTTP with its reconciler, a `latchkey sim` process hosts real simulated locks, a real broker is
 * between them, and the server's clock is simulated so that an expiry can be reached without waiting
 * (the locks' clocks are moved by the same amount).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SimulatedClock } from '@latchkey/core'
import type { RunningServer } from '@latchkey/server'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ApiClient, type Body, eventually, type SimProcess, startSim, startTestServer } from './harness.ts'

const MINUTE = 60_000
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR
const CODE = /^[0-9ABCDEFGHJKMNPQRSTVWXYZ]{5}-[0-9ABCDEFGHJKMNPQRSTVWXYZ]{5}$/

let clock: SimulatedClock
let server: RunningServer
let cleanup: () => Promise<void>
let base: ApiClient
let owner: ApiClient
let gateway: { id: string; token: string }
let stateDir: string
let sim: SimProcess | null = null
let front: string
let back: string

/** The server (embedded broker and PGlite, or PostgreSQL and Mosquitto with LATCHKEY_TEST_SERVICES=1) on a simulated clock. */
async function startServerOnClock(): Promise<void> {
  clock = new SimulatedClock()
  const started = await startTestServer({ clock })
  server = started.server
  cleanup = () => started.close()
}

async function addLock(name: string): Promise<string> {
  const lock = await owner.expect(201, 'POST', '/api/v1/locks', {
    name,
    timezone: 'Australia/Sydney',
    gatewayId: gateway.id,
  })
  await sim!.api.expect(201, 'POST', '/sim/locks', { bundle: lock.bundle })
  await eventually(`${name} online with its clock set`, async () => {
    const body = await owner.expect(200, 'GET', `/api/v1/locks/${lock.id}`)
    return body.online && body.clockSet
  })
  return lock.id
}

/** The end user's app: Code Login, then its session. */
const codeLogin = (code: string, deviceId: string) => base.post('/api/v1/app/code-login', { code, deviceId })

const present = (lockId: string, credential: string) =>
  sim!.api.expect<{ result: string; reason?: string }>(200, 'POST', `/sim/locks/${lockId}/ekey`, {
    credential,
  })

/** How many eKeys the lock itself holds as revoked. */
const revokedOnLock = async (lockId: string): Promise<number> =>
  (await sim!.api.expect(200, 'GET', `/sim/locks/${lockId}`)).revocations

async function unlockedEvents(lockId: string, method: string): Promise<Body[]> {
  const body = await owner.expect(200, 'GET', `/api/v1/events?lockId=${lockId}&type=lock.unlocked&order=asc`)
  return body.items.filter((e: Body) => e.data.method === method)
}

beforeAll(async () => {
  await startServerOnClock()
  base = new ApiClient(server.url)
  const signup = await base.expect(201, 'POST', '/api/v1/auth/signup', {
    email: `unique-e2e-${process.pid}@example.test`,
    password: 'correct horse battery',
    organizationName: 'Harbour Flats',
  })
  owner = base.withToken(signup.token)
  const created = await owner.expect(201, 'POST', '/api/v1/gateways', { name: 'Lobby' })
  gateway = { id: created.id, token: created.mqtt.password }
  stateDir = mkdtempSync(join(tmpdir(), 'latchkey-e2e-unique-'))
  sim = await startSim({
    serverUrl: server.url,
    gatewayId: gateway.id,
    gatewayToken: gateway.token,
    stateDir,
  })
  front = await addLock('Front door')
  back = await addLock('Back door')
}, 90_000)

afterAll(async () => {
  await sim?.stop()
  await cleanup?.()
  if (stateDir) rmSync(stateDir, { recursive: true, force: true })
})

describe('a unique code for a plumber, as in LockVue’s workflow', () => {
  let code: { id: string; code: string }
  let app: ApiClient
  const keys: Record<string, { credential: string; keyId: string }> = {}

  it('1. unique codes are enabled in the settings (refused before)', async () => {
    const before = await owner.post('/api/v1/unique-codes', {
      description: 'Plumber',
      expiresAt: new Date(clock.now() + DAY).toISOString(),
    })
    expect([before.status, before.body.code]).toEqual([403, 'unique_codes_disabled'])
    const settings = await owner.expect(200, 'PATCH', '/api/v1/organization/settings', {
      uniqueCodesEnabled: true,
    })
    expect(settings.uniqueCodesEnabled).toBe(true)
  })

  it('2. a code is created with a description and an expiry, and listed as active', async () => {
    const expiresAt = new Date(clock.now() + 7 * DAY).toISOString()
    code = await owner.expect(201, 'POST', '/api/v1/unique-codes', {
      description: 'Plumber – flat 3',
      expiresAt,
    })
    expect(code).toMatchObject({
      code: expect.stringMatching(CODE),
      status: 'active',
      boundDevice: false,
      expiresAt,
    })
    const active = await owner.expect(200, 'GET', '/api/v1/unique-codes?status=active')
    expect(active.items.map((c: Body) => c.id)).toEqual([code.id])
  })

  it('3. two locks are shared to it at maintenance', async () => {
    const shared = await owner.expect(201, 'POST', '/api/v1/permissions', {
      lockIds: [front, back],
      grantee: { type: 'unique_code', uniqueCodeId: code.id },
      level: 'maintenance',
    })
    expect(shared.items.map((p: Body) => [p.lockName, p.level, p.status])).toEqual([
      ['Front door', 'maintenance', 'active'],
      ['Back door', 'maintenance', 'active'],
    ])
  })

  it('4. the end user logs in with the code typed in lower case, the dash left out', async () => {
    const typed = code.code.replace('-', '').toLowerCase()
    const login = await codeLogin(typed, 'plumbers-phone')
    expect(login.status).toBe(200)
    expect(login.body.locks.map((l: Body) => [l.name, l.level])).toEqual([
      ['Back door', 'maintenance'],
      ['Front door', 'maintenance'],
    ])
    app = base.withToken(login.body.token)
    const listed = await app.expect(200, 'GET', '/api/v1/app/locks')
    expect(listed.items.map((l: Body) => l.id).sort()).toEqual([front, back].sort())
  })

  it('5. opens both locks remotely, and the audit names the code', async () => {
    for (const lockId of [front, back]) {
      const opened = await app.request('POST', `/api/v1/app/locks/${lockId}/unlock`)
      expect(opened.status).toBe(200)
      expect(opened.body).toEqual({ commandId: expect.any(String), status: 'done' })
      const [event] = await eventually('the lock’s remote unlock in the audit', async () => {
        const events = await unlockedEvents(lockId, 'remote')
        return events.length > 0 ? events : null
      })
      expect(event).toMatchObject({
        uniqueCodeId: code.id,
        data: { method: 'remote', label: 'Plumber – flat 3' },
      })
    }
  })

  it('6. opens both locks with eKeys presented to the locks over the radio', async () => {
    for (const lockId of [front, back]) {
      const key = await app.expect(201, 'POST', `/api/v1/app/locks/${lockId}/ekey`)
      expect(Date.parse(key.notBefore)).toBeLessThanOrEqual(clock.now())
      expect(Date.parse(key.notAfter) - Date.parse(key.notBefore)).toBe(DAY)
      keys[lockId] = key
      expect(await present(lockId, key.credential)).toEqual({ result: 'unlocked' })
      const [event] = await eventually('the eKey unlock in the audit', async () => {
        const events = await unlockedEvents(lockId, 'app')
        return events.length > 0 ? events : null
      })
      expect(event).toMatchObject({ uniqueCodeId: code.id, data: { method: 'app', keyId: key.keyId } })
    }
  })

  it('7. a second device is refused', async () => {
    const other = await codeLogin(code.code, 'someone-elses-phone')
    expect(other.status).toBe(409)
    expect(other.body.code).toBe('code_bound_to_other_device')
  })

  it('8. revoking one lock: the app can no longer open it, and the lock refuses the old eKey once reached', async () => {
    const [permission] = (
      await owner.expect(200, 'GET', `/api/v1/permissions?lockId=${back}&uniqueCodeId=${code.id}`)
    ).items
    const revokedBefore = await revokedOnLock(back)
    expect(await owner.request('DELETE', `/api/v1/permissions/${permission.id}`)).toMatchObject({
      status: 204,
    })

    expect((await app.expect(200, 'GET', '/api/v1/app/locks')).items.map((l: Body) => l.id)).toEqual([front])
    const unlock = await app.request('POST', `/api/v1/app/locks/${back}/unlock`)
    expect([unlock.status, unlock.body.code]).toEqual([404, 'not_found'])
    expect((await app.request('POST', `/api/v1/app/locks/${back}/ekey`)).status).toBe(404)

    await eventually(
      'the back door holding the revoked eKey',
      async () => (await revokedOnLock(back)) > revokedBefore,
    )
    expect(await present(back, keys[back]!.credential)).toEqual({ result: 'denied', reason: 'revoked' })
    // the other lock still opens with its key
    expect(await present(front, keys[front]!.credential)).toEqual({ result: 'unlocked' })
  })

  it('9. deleting the code while a lock is out of reach: refused at once through the server, on the lock once reached', async () => {
    const revokedBefore = await revokedOnLock(front)
    await sim!.api.expect(200, 'POST', `/sim/locks/${front}/radio`, { inRange: false })
    await eventually('the front door offline', async () => {
      const lock = await owner.expect(200, 'GET', `/api/v1/locks/${front}`)
      return lock.online === false
    })
    expect(await owner.request('DELETE', `/api/v1/unique-codes/${code.id}`)).toMatchObject({ status: 204 })
    const login = await codeLogin(code.code, 'plumbers-phone')
    expect([login.status, login.body.code]).toEqual([401, 'invalid_code'])
    const unlock = await app.request('POST', `/api/v1/app/locks/${front}/unlock`)
    expect([unlock.status, unlock.body.code]).toEqual([401, 'unauthorized'])
    expect(await revokedOnLock(front)).toBe(revokedBefore)
    await sim!.api.expect(200, 'POST', `/sim/locks/${front}/radio`, { inRange: true })
    await eventually(
      'the front door holding the revoked eKey',
      async () => (await revokedOnLock(front)) > revokedBefore,
    )
    expect(await present(front, keys[front]!.credential)).toEqual({ result: 'denied', reason: 'revoked' })
  })

  it('10. a code’s expiry (simulated time) ends access through the server and on the lock', async () => {
    const expiring = await owner.expect(201, 'POST', '/api/v1/unique-codes', {
      description: 'Electrician',
      expiresAt: new Date(clock.now() + 2 * HOUR).toISOString(),
    })
    await owner.expect(201, 'POST', '/api/v1/permissions', {
      lockIds: [front],
      grantee: { type: 'unique_code', uniqueCodeId: expiring.id },
      level: 'maintenance',
    })
    const login = await codeLogin(expiring.code, 'electricians-phone')
    expect(login.status).toBe(200)
    expect(login.body.expiresAt).toBe(expiring.expiresAt)
    const session = base.withToken(login.body.token)
    const key = await session.expect(201, 'POST', `/api/v1/app/locks/${front}/ekey`)
    expect(key.notAfter).toBe(expiring.expiresAt)
    expect(await present(front, key.credential)).toEqual({ result: 'unlocked' })

    // two hours and a bit later, on the server and on the lock
    const later = 2 * HOUR + 10 * MINUTE
    clock.advance(later)
    await sim!.api.expect(200, 'POST', `/sim/locks/${front}/clock`, { advanceMs: later })

    expect((await session.request('GET', '/api/v1/app/locks')).status).toBe(401)
    expect((await session.request('POST', `/api/v1/app/locks/${front}/unlock`)).status).toBe(401)
    const again = await codeLogin(expiring.code, 'electricians-phone')
    expect([again.status, again.body.code]).toEqual([401, 'invalid_code'])
    expect(await present(front, key.credential)).toEqual({ result: 'denied', reason: 'expired' })
    const listed = await owner.expect(200, 'GET', '/api/v1/unique-codes?status=expired')
    expect(listed.items.map((c: Body) => c.id)).toEqual([expiring.id])
  })
})
