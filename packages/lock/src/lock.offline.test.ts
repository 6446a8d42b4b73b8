import { SimulatedClock } from '@latchkey/core'
import { offlineRevocationId } from '@latchkey/protocol'
import { describe, expect, it } from 'vitest'
import { Lock } from './lock.ts'
import { ServerDouble, type ServerDoubleOptions } from './testing/server-double.ts'

const MINUTE = 60_000
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR
const T0 = Date.UTC(2025, 6, 14, 8, 0, 0)

function setup(options: ServerDoubleOptions = {}) {
  const server = new ServerDouble(options)
  const world = new SimulatedClock({ frozenAt: T0 })
  const lock = Lock.open(server.bundle, { world })
  server.setTime(lock, T0)
  return { server, world, lock }
}

describe('offline codes on the keypad', () => {
  it('a one-time offline code opens once, then is already_used; the log names it without its digits', () => {
    const { server, world, lock } = setup()
    const code = server.issueOffline('one_time', T0)
    world.advance(HOUR)
    expect(lock.keypad(code.pin)).toEqual({ result: 'unlocked' })
    world.advance(MINUTE)
    expect(lock.keypad(code.pin)).toEqual({ result: 'denied', reason: 'already_used' })
    const events = server.collectEvents(lock).slice(1)
    const offline = { h: code.h, startsAt: T0 }
    expect(events).toEqual([
      { seq: 2, at: T0 + HOUR, type: 'unlocked', method: 'keypad', offline },
      {
        seq: 3,
        at: T0 + HOUR + MINUTE,
        type: 'access_denied',
        method: 'keypad',
        reason: 'already_used',
        offline,
      },
    ])
    expect(JSON.stringify(events)).not.toContain(code.pin.slice(2))
    expect(server.readTable(lock).ledgerUsed).toBe(1)
  })

  it('a timed offline code used once keeps working after the 24 h first-use limit, until its end', () => {
    const { server, world, lock } = setup()
    const code = server.issueOffline('timed', T0, T0 + 7 * DAY)
    world.advance(2 * HOUR)
    expect(lock.keypad(code.pin)).toEqual({ result: 'unlocked' })
    world.advance(3 * DAY)
    expect(lock.keypad(code.pin)).toEqual({ result: 'unlocked' })
    world.advance(4 * DAY - 2 * HOUR + HOUR) // end + 1 h grace: still accepted
    expect(lock.keypad(code.pin)).toEqual({ result: 'unlocked' })
    world.advance(1)
    expect(lock.keypad(code.pin)).toEqual({ result: 'denied', reason: 'expired' })
  })

  it('a timed offline code first typed after its 24 h first-use limit does not open', () => {
    const { server, world, lock } = setup()
    const code = server.issueOffline('timed', T0, T0 + 7 * DAY)
    world.advance(26 * HOUR)
    expect(lock.keypad(code.pin)).toEqual({ result: 'denied', reason: 'unknown_code' })
  })

  it('a one-time offline code opens only within 6 h of its start', () => {
    const { server, world, lock } = setup()
    const early = server.issueOffline('one_time', T0 + 3 * HOUR)
    expect(lock.keypad(early.pin)).toEqual({ result: 'denied', reason: 'unknown_code' })
    const code = server.issueOffline('one_time', T0)
    world.advance(8 * HOUR)
    expect(lock.keypad(code.pin)).toEqual({ result: 'denied', reason: 'unknown_code' })
  })

  it('a full one-time ledger refuses a new code rather than forget a used one, and makes room once they expire', () => {
    const { server, world, lock } = setup({ ledgerCapacity: 2 })
    const codes = [0, 1, 2].map((i) => server.issueOffline('one_time', T0 + i * HOUR))
    world.advance(2 * HOUR)
    expect(codes.map((c) => lock.keypad(c.pin))).toEqual([
      { result: 'unlocked' },
      { result: 'unlocked' },
      { result: 'denied', reason: 'uses_exhausted' },
    ])
    // The used codes are still remembered: neither opens a second time.
    expect(lock.keypad(codes[0]!.pin)).toEqual({ result: 'denied', reason: 'already_used' })
    expect(lock.keypad(codes[1]!.pin)).toEqual({ result: 'denied', reason: 'already_used' })
    expect(server.readTable(lock).ledgerUsed).toBe(2)
    // 6 h validity + 1 h grace after the later start, the first two can no longer open anyway.
    world.advance(6 * HOUR + 1)
    const next = server.issueOffline('one_time', T0 + 8 * HOUR)
    expect(lock.keypad(next.pin)).toEqual({ result: 'unlocked' })
    expect(lock.keypad(codes[0]!.pin)).toEqual({ result: 'denied', reason: 'unknown_code' })
    expect(lock.keypad(next.pin)).toEqual({ result: 'denied', reason: 'already_used' })
  })

  it('needs the clock for a first use; once recorded, a permanent offline code opens without it', () => {
    const { server, world, lock } = setup()
    const permanent = server.issueOffline('permanent', T0)
    const timed = server.issueOffline('timed', T0, T0 + DAY)
    world.advance(HOUR)
    expect(lock.keypad(permanent.pin)).toEqual({ result: 'unlocked' })
    lock.powerLoss()
    expect(lock.keypad(permanent.pin)).toEqual({ result: 'unlocked' })
    expect(lock.keypad(timed.pin)).toEqual({ result: 'denied', reason: 'clock_not_set' })
  })

  it('refuses an offline code revoked when the lock is next reached', () => {
    const { server, world, lock } = setup()
    const code = server.issueOffline('timed', T0, T0 + 3 * DAY)
    const other = server.issueOffline('timed', T0, T0 + 2 * DAY)
    world.advance(HOUR)
    expect(lock.keypad(code.pin)).toEqual({ result: 'unlocked' })
    server.ok(lock, {
      type: 'set_revocations',
      keyIds: [offlineRevocationId(code.h, code.startsAt), offlineRevocationId(other.h, other.startsAt)],
    })
    expect(lock.keypad(code.pin)).toEqual({ result: 'denied', reason: 'revoked' })
    expect(lock.keypad(other.pin)).toEqual({ result: 'denied', reason: 'revoked' })
  })

  it('a random 10-digit entry is an unknown code and counts toward the lockout', () => {
    const { server, lock } = setup()
    const wrong = ['9900000000', '9912345678', '0000000001', '5512345678', '2712345678']
    expect(wrong.map((digits) => lock.keypad(digits).result)).toEqual(Array(5).fill('denied'))
    const events = server.collectEvents(lock)
    expect(events.at(-1)).toMatchObject({ type: 'locked_out', wrongAttempts: 5 })
  })
})
