import { SimulatedClock } from '@latchkey/core'
import Fastify, { type FastifyInstance } from 'fastify'
import { afterEach, describe, expect, it } from 'vitest'
import { ServerDouble } from '../../lock/src/testing/server-double.ts'
import { Gateway } from './gateway.ts'
import { simRoutes } from './sim-routes.ts'

const HOUR = 60 * 60 * 1000
const T0 = Date.UTC(2025, 8, 2, 7, 0, 0)

const apps: FastifyInstance[] = []
const gateways: Gateway[] = []
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close()
  for (const gateway of gateways.splice(0)) await gateway.stop()
})

async function setup(options: { allowWorldClock?: boolean } = {}) {
  const world = new SimulatedClock({ frozenAt: T0 })
  // Not started: the control API drives the locks with or without a broker.
  const gateway = new Gateway({ gatewayId: 'gw-1', token: 't', mqttUrl: 'mqtt://127.0.0.1:9', world })
  gateways.push(gateway)
  const app = Fastify()
  apps.push(app)
  await app.register(simRoutes, { gateway, world, allowWorldClock: options.allowWorldClock ?? false })
  const server = new ServerDouble()
  return { world, gateway, app, server, lockId: server.lockId }
}

async function attached(options: { allowWorldClock?: boolean } = {}) {
  const ctx = await setup(options)
  const response = await ctx.app.inject({
    method: 'POST',
    url: '/sim/locks',
    payload: { bundle: ctx.server.bundle },
  })
  expect(response.statusCode).toBe(201)
  return { ...ctx, lock: ctx.gateway.requireLock(ctx.lockId) }
}

function problem(code: string, status: number) {
  return {
    type: `urn:latchkey:error:${code}`,
    status,
    code,
    title: expect.any(String),
    detail: expect.any(String),
  }
}

describe('simulator control API', () => {
  it('attaches a lock from its bundle and shows its own state', async () => {
    const { app, server, lockId } = await setup()
    const created = await app.inject({
      method: 'POST',
      url: '/sim/locks',
      payload: { bundle: server.bundle },
    })
    expect(created.statusCode).toBe(201)
    const view = created.json()
    expect(view).toMatchObject({
      id: lockId,
      name: 'Front door',
      inRange: true,
      codes: [],
      ledger: [],
      clock: { ms: null, iso: null, driftPpm: 0 },
      lockout: { lockedOut: false, remainingMs: 0, wrongAttempts: 0, level: 0 },
      events: { unacked: 0, lastSeq: 0 },
    })
    expect(JSON.stringify(view)).not.toContain(server.bundle.secret)

    const got = await app.inject({ method: 'GET', url: `/sim/locks/${lockId}` })
    expect(got.statusCode).toBe(200)
    expect(got.json()).toEqual(view)
    expect((await app.inject({ method: 'GET', url: '/sim/locks' })).json()).toEqual({ items: [view] })
  })

  it('answers 404 not_found for an unknown lock and 400 validation_failed for a bad body', async () => {
    const { app } = await attached()
    const unknown = await app.inject({ method: 'GET', url: '/sim/locks/no-such-lock' })
    expect(unknown.statusCode).toBe(404)
    expect(unknown.headers['content-type']).toContain('application/problem+json')
    expect(unknown.json()).toEqual(problem('not_found', 404))
    const keypadUnknown = await app.inject({
      method: 'POST',
      url: '/sim/locks/no-such-lock/keypad',
      payload: { digits: '1234' },
    })
    expect(keypadUnknown.json()).toEqual(problem('not_found', 404))

    const badBundle = await app.inject({ method: 'POST', url: '/sim/locks', payload: { bundle: { v: 1 } } })
    expect(badBundle.statusCode).toBe(400)
    expect(badBundle.headers['content-type']).toContain('application/problem+json')
    expect(badBundle.json()).toMatchObject({ code: 'validation_failed', status: 400 })
    expect(badBundle.json().errors).toContainEqual({
      in: 'body',
      field: 'bundle.lockId',
      message: expect.any(String),
    })

    const notJson = await app.inject({
      method: 'POST',
      url: '/sim/locks',
      headers: { 'content-type': 'application/json' },
      payload: '{"bundle":',
    })
    expect(notJson.statusCode).toBe(400)
    expect(notJson.json()).toEqual(problem('validation_failed', 400))
  })

  it('types PINs on the keypad', async () => {
    const { app, server, lock, lockId } = await attached()
    server.setCode(lock, 'cleaner', '2468', { kind: 'permanent' })
    const typed = (digits: unknown) =>
      app.inject({ method: 'POST', url: `/sim/locks/${lockId}/keypad`, payload: { digits } })
    expect((await typed('2468')).json()).toEqual({ result: 'unlocked' })
    expect((await typed('1357')).json()).toEqual({ result: 'denied', reason: 'unknown_code' })
    const letters = await typed('12ab')
    expect(letters.statusCode).toBe(400)
    expect(letters.json().errors).toEqual([{ in: 'body', field: 'digits', message: 'digits 0-9 only' }])
    expect((await typed(1234)).statusCode).toBe(400)
    expect(server.collectEvents(lock).map((e) => (e.type === 'access_denied' ? e.reason : e.type))).toEqual([
      'code_set',
      'unlocked',
      'unknown_code',
    ])
  })

  it('presents an eKey over the radio link', async () => {
    const { app, server, lock, lockId } = await attached()
    server.setTime(lock, T0)
    const presented = (credential: string) =>
      app.inject({ method: 'POST', url: `/sim/locks/${lockId}/ekey`, payload: { credential } })
    expect((await presented(server.eKey(T0 - HOUR))).json()).toEqual({ result: 'unlocked' })
    expect((await presented('not-a-key')).json()).toEqual({ result: 'denied', reason: 'unknown_code' })
    expect((await presented('')).statusCode).toBe(400)
  })

  it("moves, skews and resets a lock's clock", async () => {
    const { app, server, lock, lockId } = await attached()
    server.setTime(lock, T0)
    const clock = (payload: Record<string, unknown>) =>
      app.inject({ method: 'POST', url: `/sim/locks/${lockId}/clock`, payload })
    expect((await clock({ advanceMs: -90_000 })).json().clock).toEqual({
      ms: T0 - 90_000,
      iso: new Date(T0 - 90_000).toISOString(),
      driftPpm: 0,
    })
    expect((await clock({ driftPpm: 40 })).json().clock.driftPpm).toBe(40)
    expect((await clock({ driftPpm: 1e9 })).json()).toMatchObject(problem('validation_failed', 400))
    expect((await clock({})).json()).toMatchObject({
      ...problem('validation_failed', 400),
      errors: [{ in: 'body', field: '', message: 'give advanceMs, driftPpm or powerLoss' }],
    })
    const reset = await clock({ powerLoss: true })
    expect(reset.statusCode).toBe(200)
    expect(reset.json().clock).toEqual({ ms: null, iso: null, driftPpm: 40 })
  })

  it('cuts a lock off its gateway and the gateway off the server', async () => {
    const { app, gateway, lockId } = await attached()
    const radio = await app.inject({
      method: 'POST',
      url: `/sim/locks/${lockId}/radio`,
      payload: { inRange: false },
    })
    expect(radio.json()).toEqual({ id: lockId, inRange: false })
    expect((await app.inject({ method: 'GET', url: `/sim/locks/${lockId}` })).json().inRange).toBe(false)
    expect(gateway.isInRange(lockId)).toBe(false)

    const link = await app.inject({ method: 'POST', url: '/sim/gateway/link', payload: { online: false } })
    expect(link.json()).toEqual({
      gatewayId: 'gw-1',
      online: false,
      connected: false,
      locks: [{ id: lockId, name: 'Front door', inRange: false }],
    })
    expect(
      (await app.inject({ method: 'POST', url: '/sim/gateway/link', payload: { online: 'yes' } })).statusCode,
    ).toBe(400)
  })

  it('moves the world clock, and every lock clock with it, only where allowed', async () => {
    const off = await attached()
    expect((await off.app.inject({ method: 'GET', url: '/sim/clock' })).json()).toEqual(
      problem('not_found', 404),
    )
    expect(
      (await off.app.inject({ method: 'POST', url: '/sim/clock', payload: { advanceMs: 1000 } })).statusCode,
    ).toBe(404)

    const { app, server, lock, lockId } = await attached({ allowWorldClock: true })
    server.setTime(lock, T0)
    expect((await app.inject({ method: 'GET', url: '/sim/clock' })).json()).toEqual({
      nowMs: T0,
      iso: new Date(T0).toISOString(),
      offsetMs: 0,
    })
    const moved = await app.inject({ method: 'POST', url: '/sim/clock', payload: { advanceMs: 26 * HOUR } })
    expect(moved.json()).toEqual({
      nowMs: T0 + 26 * HOUR,
      iso: new Date(T0 + 26 * HOUR).toISOString(),
      offsetMs: 26 * HOUR,
    })
    expect((await app.inject({ method: 'GET', url: `/sim/locks/${lockId}` })).json().clock.ms).toBe(
      T0 + 26 * HOUR,
    )
    expect(
      (await app.inject({ method: 'POST', url: '/sim/clock', payload: { advanceMs: -1 } })).json(),
    ).toMatchObject({ ...problem('validation_failed', 400), errors: [{ in: 'body', field: 'advanceMs' }] })
  })
})
