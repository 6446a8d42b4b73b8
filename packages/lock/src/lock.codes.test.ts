import { SimulatedClock } from '@latchkey/core'
import { deniedPinHash } from '@latchkey/protocol'
import { describe, expect, it } from 'vitest'
import { Lock } from './lock.ts'
import { ServerDouble, type ServerDoubleOptions } from './testing/server-double.ts'

const MINUTE = 60_000
const HOUR = 60 * MINUTE
const T0 = Date.UTC(2025, 2, 3, 8, 0, 0) // Monday 3 March 2025, 09:00 in Berlin

function setup(options: ServerDoubleOptions = {}) {
  const server = new ServerDouble(options)
  const world = new SimulatedClock({ frozenAt: T0 })
  const lock = Lock.open(server.bundle, { world })
  server.setTime(lock, T0)
  return { server, world, lock }
}

/** Moves the world to an instant (the lock's clock, set without drift, follows it). */
function at(world: SimulatedClock, instant: number): void {
  world.advance(instant - world.now())
}

describe('synced codes on the keypad', () => {
  it('a one-time code opens once, then is already_used', () => {
    const { server, lock } = setup()
    expect(server.setCode(lock, 'cleaner', '482913', { kind: 'one_time' }).status).toBe('ok')
    expect(lock.keypad('482913')).toEqual({ result: 'unlocked' })
    expect(lock.keypad('482913')).toEqual({ result: 'denied', reason: 'already_used' })
    const events = server.collectEvents(lock)
    expect(events.slice(-2)).toEqual([
      { seq: 3, at: T0, type: 'unlocked', method: 'keypad', codeId: 'cleaner' },
      { seq: 4, at: T0, type: 'access_denied', method: 'keypad', reason: 'already_used', codeId: 'cleaner' },
    ])
  })

  it('a timed code is refused before its window, accepted inside (with the drift grace), refused after', () => {
    const { server, world, lock } = setup()
    const startsAt = T0 + 2 * HOUR
    const endsAt = T0 + 4 * HOUR
    server.setCode(lock, 'plumber', '739164', { kind: 'timed', startsAt, endsAt })
    at(world, startsAt - 3 * MINUTE)
    expect(lock.keypad('739164')).toEqual({ result: 'denied', reason: 'outside_schedule' })
    at(world, startsAt - MINUTE) // within the 2 min grace
    expect(lock.keypad('739164')).toEqual({ result: 'unlocked' })
    at(world, startsAt + HOUR)
    expect(lock.keypad('739164')).toEqual({ result: 'unlocked' })
    at(world, endsAt + MINUTE)
    expect(lock.keypad('739164')).toEqual({ result: 'unlocked' })
    at(world, endsAt + 3 * MINUTE)
    expect(lock.keypad('739164')).toEqual({ result: 'denied', reason: 'expired' })
  })

  it('a recurring code follows the lock’s local time across a DST change', () => {
    // Tuesdays 09:00–12:00 in Berlin. Summer time starts on Sunday 30 March 2025.
    const { server, world, lock } = setup({ timezone: 'Europe/Berlin' })
    server.setCode(lock, 'cleaner-tue', '526184', {
      kind: 'recurring',
      schedule: { slots: [{ days: [2], start: '09:00', end: '12:00' }] },
    })
    const tries: Array<[string, number]> = [
      ['2025-03-25T07:30:00Z', 0], // 08:30 CET: before the slot
      ['2025-03-25T08:30:00Z', 1], // 09:30 CET
      ['2025-03-25T10:50:00Z', 1], // 11:50 CET
      ['2025-04-01T06:30:00Z', 0], // 08:30 CEST
      ['2025-04-01T07:30:00Z', 1], // 09:30 CEST (would be 08:30 without DST)
      ['2025-04-01T10:30:00Z', 0], // 12:30 CEST (would be 11:30 without DST)
      ['2025-04-02T08:30:00Z', 0], // Wednesday 10:30
    ]
    const results = tries.map(([iso]) => {
      at(world, Date.parse(iso))
      return lock.keypad('526184')
    })
    expect(results).toEqual(
      tries.map(([, open]) =>
        open ? { result: 'unlocked' } : { result: 'denied', reason: 'outside_schedule' },
      ),
    )
  })

  it('a code with maxUses opens that many times, and setting it again does not give its uses back', () => {
    const { server, lock } = setup()
    server.setCode(lock, 'tradie', '318275', { kind: 'permanent', maxUses: 3 })
    expect([1, 2, 3].map(() => lock.keypad('318275').result)).toEqual(['unlocked', 'unlocked', 'unlocked'])
    expect(lock.keypad('318275')).toEqual({ result: 'denied', reason: 'uses_exhausted' })
    expect(server.setCode(lock, 'tradie', '318275', { kind: 'permanent', maxUses: 3 })).toMatchObject({
      status: 'ok',
      data: { replaced: true },
    })
    expect(lock.keypad('318275')).toEqual({ result: 'denied', reason: 'uses_exhausted' })
    expect(server.readTable(lock).codes).toEqual([
      { codeId: 'tradie', pin: '318275', rule: { kind: 'permanent', maxUses: 3 }, uses: 3 },
    ])
  })

  it('a full code table refuses a new code with lock_full, but still replaces an existing one', () => {
    const { server, lock } = setup({ capacity: 3 })
    for (const [id, pin] of [
      ['a', '1357'],
      ['b', '2468'],
      ['c', '9753'],
    ] as const) {
      expect(server.setCode(lock, id, pin, { kind: 'permanent' }).status).toBe('ok')
    }
    expect(server.setCode(lock, 'd', '8642', { kind: 'permanent' })).toMatchObject({
      status: 'error',
      error: { code: 'lock_full' },
    })
    expect(server.setCode(lock, 'c', '9754', { kind: 'permanent' })).toMatchObject({ status: 'ok' })
    expect(lock.keypad('9753')).toEqual({ result: 'denied', reason: 'unknown_code' })
    expect(lock.keypad('9754')).toEqual({ result: 'unlocked' })
    expect(server.ok(lock, { type: 'remove_code', codeId: 'a' })).toEqual({ removed: true })
    expect(server.setCode(lock, 'd', '8642', { kind: 'permanent' })).toMatchObject({ status: 'ok' })
    expect(server.readTable(lock).codes.map((c) => c.codeId)).toEqual(['b', 'c', 'd'])
  })

  it('a PIN already held by another code is refused with duplicate_code_on_lock', () => {
    const { server, lock } = setup()
    server.setCode(lock, 'owner', '250813', { kind: 'permanent' })
    expect(server.setCode(lock, 'guest', '250813', { kind: 'permanent' })).toMatchObject({
      status: 'error',
      error: { code: 'duplicate_code_on_lock' },
    })
    expect(server.readTable(lock).codes.map((c) => c.codeId)).toEqual(['owner'])
  })

  it('removing a code takes effect at once; removing an unknown code is fine and logs nothing', () => {
    const { server, lock } = setup()
    server.setCode(lock, 'x', '604918', { kind: 'permanent' })
    expect(server.ok(lock, { type: 'remove_code', codeId: 'x' })).toEqual({ removed: true })
    expect(server.ok(lock, { type: 'remove_code', codeId: 'x' })).toEqual({ removed: false })
    expect(lock.keypad('604918')).toEqual({ result: 'denied', reason: 'unknown_code' })
    expect(server.collectEvents(lock).map((e) => e.type)).toEqual([
      'clock_set',
      'code_set',
      'code_removed',
      'access_denied',
    ])
  })

  it('names an unknown PIN by a hash the server can check and the gateway cannot read', () => {
    const { server, lock } = setup()
    server.setCode(lock, 'cleaner', '604918', { kind: 'permanent' })
    server.ok(lock, { type: 'remove_code', codeId: 'cleaner' })
    expect(lock.keypad('604918')).toEqual({ result: 'denied', reason: 'unknown_code' })
    const denial = server.collectEvents(lock).at(-1)
    expect(denial).toMatchObject({ type: 'access_denied', reason: 'unknown_code' })
    const pinHash = (denial as { pinHash?: string }).pinHash
    expect(pinHash).toBe(deniedPinHash(server.keys.denied, '604918'))
    expect(pinHash).not.toContain('604918')
    // keyed with the lock's secret: another lock's key gives another hash for the same digits
    expect(pinHash).not.toBe(deniedPinHash(new ServerDouble().keys.denied, '604918'))
  })

  it('refuses a rule that is not valid with invalid_command', () => {
    const { server, lock } = setup()
    const reply = server.setCode(lock, 'bad', '135790', { kind: 'timed', startsAt: T0 + HOUR, endsAt: T0 })
    expect(reply).toMatchObject({ status: 'error', error: { code: 'invalid_command' } })
    expect(server.readTable(lock).codes).toEqual([])
  })

  it('reports its whole table, PINs included, over the sealed channel', () => {
    const { server, lock } = setup({ capacity: 20, ledgerCapacity: 16 })
    server.setCode(lock, 'a', '1357', { kind: 'timed', startsAt: T0, endsAt: T0 + HOUR })
    server.ok(lock, { type: 'set_revocations', keyIds: ['key-9'] })
    lock.keypad('1357')
    expect(server.readTable(lock)).toEqual({
      capacity: 20,
      codes: [
        { codeId: 'a', pin: '1357', rule: { kind: 'timed', startsAt: T0, endsAt: T0 + HOUR }, uses: 1 },
      ],
      ledgerUsed: 0,
      ledgerCapacity: 16,
      revocations: ['key-9'],
      clockMs: T0,
      timezone: 'Europe/Berlin',
    })
  })

  it('changes its time zone and grace when configured', () => {
    const { server, world, lock } = setup()
    server.setCode(lock, 'early', '880211', {
      kind: 'recurring',
      schedule: { slots: [{ days: [1], start: '09:00', end: '10:00' }] },
    })
    // Monday 09:30 in Berlin is 08:30 UTC; in London it is still 08:30.
    at(world, T0 + 30 * MINUTE)
    expect(lock.keypad('880211')).toEqual({ result: 'unlocked' })
    expect(server.ok(lock, { type: 'configure', timezone: 'Europe/London', graceMs: 0 })).toEqual({
      timezone: 'Europe/London',
      graceMs: 0,
    })
    expect(lock.keypad('880211')).toEqual({ result: 'denied', reason: 'outside_schedule' })
    expect(server.send(lock, { type: 'configure', timezone: 'Mars/Olympus' })).toMatchObject({
      status: 'error',
      error: { code: 'invalid_command' },
    })
  })

  it('refuses keypad input that is not 1 to 16 digits', () => {
    const { lock } = setup()
    expect(() => lock.keypad('12a4')).toThrow(expect.objectContaining({ code: 'validation_failed' }))
    expect(() => lock.keypad('')).toThrow(expect.objectContaining({ code: 'validation_failed' }))
    expect(() => lock.keypad('1'.repeat(17))).toThrow(expect.objectContaining({ code: 'validation_failed' }))
  })
})
