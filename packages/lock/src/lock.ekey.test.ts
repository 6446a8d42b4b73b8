import { SimulatedClock } from '@latchkey/core'
import { generateServerKeyPair, shareRevocationId, signEKey } from '@latchkey/protocol'
import { describe, expect, it } from 'vitest'
import { Lock } from './lock.ts'
import { ServerDouble } from './testing/server-double.ts'

const MINUTE = 60_000
const HOUR = 60 * MINUTE
const T0 = Date.UTC(2025, 8, 2, 7, 0, 0) // Tuesday 2 September 2025, 09:00 in Berlin

function setup() {
  const server = new ServerDouble({ timezone: 'Europe/Berlin' })
  const world = new SimulatedClock({ frozenAt: T0 })
  const lock = Lock.open(server.bundle, { world })
  server.setTime(lock, T0)
  return { server, world, lock }
}

describe('eKeys presented by the app', () => {
  it('opens with a valid eKey and logs it with method app and the keyId', () => {
    const { server, lock } = setup()
    expect(lock.presentEKey(server.eKey(T0 - HOUR, { keyId: 'k-anna' }))).toEqual({ result: 'unlocked' })
    expect(server.collectEvents(lock).at(-1)).toEqual({
      seq: 2,
      at: T0,
      type: 'unlocked',
      method: 'app',
      keyId: 'k-anna',
    })
  })

  it('refuses an eKey outside its window (widened by the grace)', () => {
    const { server, world, lock } = setup()
    const key = server.eKey(T0 + HOUR, { notAfter: T0 + 2 * HOUR })
    world.advance(HOUR - 3 * MINUTE)
    expect(lock.presentEKey(key)).toEqual({ result: 'denied', reason: 'outside_schedule' })
    world.advance(2 * MINUTE)
    expect(lock.presentEKey(key)).toEqual({ result: 'unlocked' })
    world.advance(HOUR + 2 * MINUTE) // notAfter + 1 min
    expect(lock.presentEKey(key)).toEqual({ result: 'unlocked' })
    world.advance(MINUTE) // notAfter + 2 min: the window is closed
    expect(lock.presentEKey(key)).toEqual({ result: 'denied', reason: 'expired' })
  })

  it('refuses an eKey for another lock, one signed by another key, and a malformed one', () => {
    const { server, lock } = setup()
    expect(lock.presentEKey(server.eKey(T0, { lockId: 'lock-2' }))).toEqual({
      result: 'denied',
      reason: 'unknown_code',
    })
    const stranger = generateServerKeyPair()
    const forged = signEKey(stranger.privateKeyPem, {
      keyId: 'k-1',
      shareId: 'share-1',
      lockId: server.lockId,
      level: 'owner',
      notBefore: T0 - HOUR,
      notAfter: T0 + HOUR,
    })
    expect(lock.presentEKey(forged)).toEqual({ result: 'denied', reason: 'unknown_code' })
    expect(lock.presentEKey('not-a-key')).toEqual({ result: 'denied', reason: 'unknown_code' })
    const events = server.collectEvents(lock).slice(1)
    expect(events.map((e) => e.type === 'access_denied' && [e.method, e.reason, e.keyId])).toEqual([
      ['app', 'unknown_code', 'key-1'],
      ['app', 'unknown_code', undefined],
      ['app', 'unknown_code', undefined],
    ])
  })

  it('refuses every eKey of a revoked share once the lock has the revocation list, whatever their keyIds', () => {
    const { server, lock } = setup()
    const keys = ['k-bob-1', 'k-bob-2', 'k-bob-3'].map((keyId) =>
      server.eKey(T0 - HOUR, { keyId, shareId: 'share-bob' }),
    )
    const other = server.eKey(T0 - HOUR, { keyId: 'k-eve', shareId: 'share-eve' })
    expect(lock.presentEKey(keys[0]!)).toEqual({ result: 'unlocked' })
    server.ok(lock, { type: 'set_revocations', keyIds: [shareRevocationId('share-bob')] })
    for (const key of keys) expect(lock.presentEKey(key)).toEqual({ result: 'denied', reason: 'revoked' })
    expect(lock.presentEKey(other)).toEqual({ result: 'unlocked' })
    // a key id on the list names no share
    server.ok(lock, { type: 'set_revocations', keyIds: ['k-bob-1'] })
    expect(lock.presentEKey(keys[0]!)).toEqual({ result: 'unlocked' })
    server.ok(lock, { type: 'set_revocations', keyIds: [] })
    expect(lock.presentEKey(keys[1]!)).toEqual({ result: 'unlocked' })
  })

  it('opens once with a one-time eKey (flag or level)', () => {
    const { server, lock } = setup()
    const flagged = server.eKey(T0 - HOUR, { keyId: 'once-a', oneTime: true })
    const level = server.eKey(T0 - HOUR, { keyId: 'once-b', level: 'one_time' })
    expect([flagged, flagged, level, level].map((k) => lock.presentEKey(k))).toEqual([
      { result: 'unlocked' },
      { result: 'denied', reason: 'already_used' },
      { result: 'unlocked' },
      { result: 'denied', reason: 'already_used' },
    ])
  })

  it('follows an eKey’s weekly schedule in the lock’s time zone', () => {
    const { server, world, lock } = setup()
    const key = server.eKey(T0 - HOUR, {
      notAfter: T0 + 30 * 24 * HOUR,
      schedule: { slots: [{ days: [2], start: '09:00', end: '12:00' }] },
    })
    world.advance(HOUR) // Tuesday 10:00
    expect(lock.presentEKey(key)).toEqual({ result: 'unlocked' })
    world.advance(3 * HOUR) // Tuesday 13:00
    expect(lock.presentEKey(key)).toEqual({ result: 'denied', reason: 'outside_schedule' })
  })

  it('refuses every eKey while the clock is unset, and ignores the keypad lockout', () => {
    const { server, lock } = setup()
    for (const digits of ['1111', '2222', '3333', '4444', '5555']) lock.keypad(digits)
    expect(lock.keypad('6666')).toEqual({ result: 'denied', reason: 'locked_out' })
    expect(lock.presentEKey(server.eKey(T0 - HOUR))).toEqual({ result: 'unlocked' })
    lock.powerLoss()
    expect(lock.presentEKey(server.eKey(T0 - HOUR))).toEqual({ result: 'denied', reason: 'clock_not_set' })
  })
})
