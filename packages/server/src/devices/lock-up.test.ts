/**
 * Messages of a gateway handled in another order than it sent them (two server processes each take
 * some of them from the shared subscription): what a frame says about the lock's own state is taken
 * only over what an older frame said, and reachability only over an older status or link.
 */
import { randomUUID } from 'node:crypto'
import { encodePayload, type LockMessage, sealLockMessage } from '@latchkey/protocol'
import { describe, expect, it } from 'vitest'
import { lockCommands } from '../store/schema.ts'
import { channelContext, lockOnGateway, useGatewaySetup } from './gateway-test-setup.ts'
import { handleGatewayStatus, handleLockLink } from './link-status.ts'
import { handleLockUp } from './lock-up.ts'

const setup = useGatewaySetup()

const ctx = () => channelContext(setup.app)

/** A lock on the gateway, and a way to answer commands as that lock (with a chosen frame counter). */
async function lockWithFrames() {
  const { lock, key } = await lockOnGateway(setup)
  let sent = 0
  /** A command the server sent (its row), answered by the lock in frame `counter`. */
  const answer = async (type: 'set_time' | 'read_table', data: unknown, counter: number) => {
    const id = randomUUID()
    await setup.t.store.db.insert(lockCommands).values({
      id,
      organizationId: setup.owner.organizationId,
      lockId: lock.id,
      type,
      counter: ++sent,
      command: type === 'set_time' ? { type, nowMs: setup.t.clock.now() } : { type },
      status: 'pending',
      sentAt: new Date(setup.t.clock.now()),
    })
    const message: LockMessage = { kind: 'reply', id, status: 'ok', data }
    return () =>
      handleLockUp(ctx(), setup.gatewayId, lock.id, sealLockMessage(key, lock.id, counter, message))
  }
  const view = async () =>
    (
      await setup.app.inject({ method: 'GET', url: `/api/v1/locks/${lock.id}`, headers: setup.owner.headers })
    ).json()
  return { id: lock.id as string, answer, view }
}

const report = (clockMs: number | null, codes: number) => ({
  capacity: 250,
  codes: Array.from({ length: codes }, (_, i) => ({
    codeId: randomUUID(),
    pin: `50${i}913`,
    rule: { kind: 'permanent' },
    uses: 0,
  })),
  ledgerUsed: 0,
  ledgerCapacity: 64,
  revocations: [],
  clockMs,
  timezone: 'UTC',
})

describe('the lock state a frame reports', () => {
  it('an older table report (clock unset) handled after a newer set_time reply leaves the clock set', async () => {
    const lock = await lockWithFrames()
    // the lock reported its table (frame 1, clock not set yet), then took the time (frame 2)
    const table = await lock.answer('read_table', report(null, 0), 1)
    const time = await lock.answer('set_time', { offsetMs: 1500 }, 2)
    expect(await time()).toBe('accepted')
    expect(await table()).toBe('accepted')
    expect(await lock.view()).toMatchObject({ clockSet: true, clockOffsetMs: -1500 })
  })

  it('an older sync’s reply handled after a newer one’s leaves the newer offset', async () => {
    const lock = await lockWithFrames()
    const older = await lock.answer('set_time', { offsetMs: 1500 }, 1)
    const newer = await lock.answer('set_time', { offsetMs: -300 }, 2)
    expect(await newer()).toBe('accepted')
    setup.t.clock.advance(60_000)
    expect(await older()).toBe('accepted')
    expect(await lock.view()).toMatchObject({
      clockSet: true,
      clockOffsetMs: 300,
      clockSyncedAt: new Date(setup.t.clock.now() - 60_000).toISOString(),
    })
  })

  it('a newer table report is taken: the lock lost its clock, and holds two codes', async () => {
    const lock = await lockWithFrames()
    const time = await lock.answer('set_time', { offsetMs: 0 }, 1)
    const table = await lock.answer('read_table', report(null, 2), 2)
    expect(await time()).toBe('accepted')
    expect(await table()).toBe('accepted')
    expect(await lock.view()).toMatchObject({ clockSet: false, capacity: { used: 2, total: 250 } })
  })

  it('an older table report does not undo the code count of a newer one', async () => {
    const lock = await lockWithFrames()
    const older = await lock.answer('read_table', report(Date.now(), 1), 1)
    const newer = await lock.answer('read_table', report(Date.now(), 3), 2)
    expect(await newer()).toBe('accepted')
    expect(await older()).toBe('accepted')
    expect(await lock.view()).toMatchObject({ clockSet: true, capacity: { used: 3, total: 250 } })
  })
})

describe('reachability from messages handled out of order', () => {
  const status = (online: boolean, session: number) =>
    handleGatewayStatus(ctx(), setup.gatewayId, encodePayload('gatewayStatus', { online, at: 0, session }))
  const link = (lockId: string, inRange: boolean, at: number) =>
    handleLockLink(ctx(), setup.gatewayId, lockId, encodePayload('lockLink', { inRange, battery: 90, at }))
  const reachable = async (lockId: string) => {
    const lock = (
      await setup.app.inject({ method: 'GET', url: `/api/v1/locks/${lockId}`, headers: setup.owner.headers })
    ).json()
    const gateway = (
      await setup.app.inject({
        method: 'GET',
        url: `/api/v1/gateways/${setup.gatewayId}`,
        headers: setup.owner.headers,
      })
    ).json()
    return { gateway: gateway.online as boolean, lock: lock.online as boolean }
  }

  it('takes no status of the connection a rotated token ended, and the next connection’s', async () => {
    const made = await setup.app.inject({
      method: 'POST',
      url: '/api/v1/gateways',
      headers: setup.owner.headers,
      payload: { name: 'Porch' },
    })
    const id: string = made.json().id
    const say = (online: boolean, session: number) =>
      handleGatewayStatus(ctx(), id, encodePayload('gatewayStatus', { online, at: 0, session }))
    expect(await say(true, 5_000)).toBe('accepted')
    const rotated = await setup.app.inject({
      method: 'POST',
      url: `/api/v1/gateways/${id}/rotate-token`,
      headers: setup.owner.headers,
    })
    expect(rotated.statusCode).toBe(200)
    // the old connection's retained status, read again (Mosquitto ends it without a last will)
    expect(await say(true, 5_000)).toBe('stale')
    const view = await setup.app.inject({
      method: 'GET',
      url: `/api/v1/gateways/${id}`,
      headers: setup.owner.headers,
    })
    expect(view.json().online).toBe(false)
    expect(await say(true, 5_001)).toBe('accepted')
  })

  it('a lock in range comes online with its gateway, even when its link was handled first', async () => {
    const lock = await lockWithFrames()
    expect(await link(lock.id, true, 1_000)).toBe('accepted')
    expect(await reachable(lock.id)).toEqual({ gateway: false, lock: false })
    expect(await status(true, 100)).toBe('accepted')
    expect(await reachable(lock.id)).toEqual({ gateway: true, lock: true })
  })

  it('a frame handled after the last will does not bring the lock back', async () => {
    const lock = await lockWithFrames()
    await status(true, 200)
    await link(lock.id, true, 2_000)
    const lateFrame = await lock.answer('set_time', { offsetMs: 0 }, 1)
    expect(await status(false, 200)).toBe('accepted')
    expect(await lateFrame()).toBe('accepted')
    expect(await reachable(lock.id)).toEqual({ gateway: false, lock: false })
  })

  it('the will of an older connection, handled after the next one came up, is ignored', async () => {
    const lock = await lockWithFrames()
    await status(true, 300)
    await link(lock.id, true, 3_000)
    expect(await status(true, 301)).toBe('accepted')
    expect(await status(false, 300)).toBe('stale')
    expect(await reachable(lock.id)).toEqual({ gateway: true, lock: true })
    expect(await status(false, 301)).toBe('accepted')
    expect(await reachable(lock.id)).toEqual({ gateway: false, lock: false })
  })

  it('an older link handled after a newer one is ignored', async () => {
    const lock = await lockWithFrames()
    await status(true, 400)
    expect(await link(lock.id, false, 4_200)).toBe('accepted')
    expect(await link(lock.id, true, 4_100)).toBe('stale')
    expect(await reachable(lock.id)).toEqual({ gateway: true, lock: false })
    expect(await link(lock.id, true, 4_300)).toBe('accepted')
    expect(await reachable(lock.id)).toEqual({ gateway: true, lock: true })
  })
})
