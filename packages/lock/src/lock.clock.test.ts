import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SimulatedClock } from '@latchkey/core'
import { afterEach, describe, expect, it } from 'vitest'
import { Lock } from './lock.ts'
import { ServerDouble } from './testing/server-double.ts'

const MINUTE = 60_000
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR
const YEAR = 365 * DAY
const T0 = Date.UTC(2025, 0, 6, 0, 0, 0)

const dirs: string[] = []
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

function setup() {
  const server = new ServerDouble()
  const world = new SimulatedClock({ frozenAt: T0 })
  const lock = Lock.open(server.bundle, { world })
  return { server, world, lock }
}

describe('the lock’s clock', () => {
  it('is unset when new: time-bound codes fail closed, permanent codes open', () => {
    const { server, lock } = setup()
    server.setCode(lock, 'owner', '730516', { kind: 'permanent' })
    server.setCode(lock, 'visit', '418273', { kind: 'timed', startsAt: T0 - HOUR, endsAt: T0 + HOUR })
    expect(server.readTable(lock).clockMs).toBeNull()
    expect(lock.keypad('730516')).toEqual({ result: 'unlocked' })
    expect(lock.keypad('418273')).toEqual({ result: 'denied', reason: 'clock_not_set' })
    expect(server.setTime(lock, T0)).toEqual({ offsetMs: null })
    expect(lock.keypad('418273')).toEqual({ result: 'unlocked' })
  })

  it('logs every set_time with the offset new − old', () => {
    const { server, lock } = setup()
    server.setTime(lock, T0)
    lock.advanceClock(-4_000) // the lock is 4 s behind
    expect(server.setTime(lock, T0)).toEqual({ offsetMs: 4_000 })
    lock.advanceClock(2_500) // 2.5 s ahead
    expect(server.setTime(lock, T0)).toEqual({ offsetMs: -2_500 })
    expect(server.collectEvents(lock)).toEqual([
      { seq: 1, at: T0, type: 'clock_set', offsetMs: null },
      { seq: 2, at: T0, type: 'clock_set', offsetMs: 4_000 },
      { seq: 3, at: T0, type: 'clock_set', offsetMs: -2_500 },
    ])
  })

  it('drifts 26 min 16.8 s in a year at 50 ppm without syncs: a code is refused inside its window and opens early', () => {
    const { server, world, lock } = setup()
    lock.setDrift(50)
    server.setTime(lock, T0)
    const visit = { startsAt: T0 + YEAR + 30 * MINUTE, endsAt: T0 + YEAR + 2 * HOUR }
    server.setCode(lock, 'visit', '561938', { kind: 'timed', ...visit })
    server.setCode(lock, 'ending', '845172', { kind: 'timed', startsAt: T0, endsAt: T0 + YEAR + 10 * MINUTE })
    world.advance(YEAR)
    expect(server.readTable(lock).clockMs! - world.now()).toBe(1_576_800)
    // True time: 10 min before the end of "ending"; the lock believes it is 16 min past it.
    expect(lock.keypad('845172')).toEqual({ result: 'denied', reason: 'expired' })
    // True time: 25 min before "visit" starts; the lock believes it has started.
    world.advance(5 * MINUTE)
    expect(lock.keypad('561938')).toEqual({ result: 'unlocked' })
  })

  it('refuses a set_time held back longer than drift explains, so an ended window stays closed', () => {
    const { server, world, lock } = setup()
    server.setTime(lock, T0)
    server.setCode(lock, 'visit', '418273', { kind: 'timed', startsAt: T0, endsAt: T0 + HOUR })
    // The server sent the time at T0 + 50 min; the gateway kept the frame 20 minutes.
    world.advance(HOUR + 10 * MINUTE)
    expect(server.send(lock, { type: 'set_time', nowMs: T0 + 50 * MINUTE })).toMatchObject({
      status: 'error',
      error: {
        code: 'command_expired',
        message:
          "the time it carries is 1200 s behind the lock's clock, more than drift explains (at most 300 s): it was held back",
      },
    })
    expect(server.readTable(lock).clockMs).toBe(world.now())
    expect(lock.keypad('418273')).toEqual({ result: 'denied', reason: 'expired' })
    // A time sent now is taken.
    expect(server.setTime(lock, world.now())).toEqual({ offsetMs: 0 })
  })

  it('takes back what a year of drift at 50 ppm put on, 26 min 16.8 s', () => {
    const { server, world, lock } = setup()
    lock.setDrift(50)
    server.setTime(lock, T0)
    world.advance(YEAR)
    expect(server.setTime(lock, world.now())).toEqual({ offsetMs: -1_576_800 })
  })

  it('stays within 1.08 s at 50 ppm when synced every 6 h, so the same codes behave', () => {
    const { server, world, lock } = setup()
    lock.setDrift(50)
    server.setTime(lock, T0)
    const visit = { startsAt: T0 + YEAR + 30 * MINUTE, endsAt: T0 + YEAR + 2 * HOUR }
    server.setCode(lock, 'visit', '561938', { kind: 'timed', ...visit })
    server.setCode(lock, 'ending', '845172', { kind: 'timed', startsAt: T0, endsAt: T0 + YEAR + 10 * MINUTE })
    const offsets = new Set<number | null>()
    for (let sync = 0; sync < YEAR / (6 * HOUR); sync++) {
      world.advance(6 * HOUR)
      offsets.add(server.setTime(lock, world.now()).offsetMs)
    }
    // Every sync found the lock 1.08 s ahead (6 h × 50 ppm) and set it right.
    expect([...offsets]).toEqual([-1_080])
    expect(world.now()).toBe(T0 + YEAR)
    expect(lock.keypad('845172')).toEqual({ result: 'unlocked' })
    world.advance(5 * MINUTE)
    expect(lock.keypad('561938')).toEqual({ result: 'denied', reason: 'outside_schedule' })
    world.advance(6 * HOUR - 5 * MINUTE)
    expect(server.readTable(lock).clockMs! - world.now()).toBe(1_080)
  })

  it('moves only its own clock when told, and a power loss unsets it until the next set_time', () => {
    const { server, world, lock } = setup()
    server.setTime(lock, T0)
    lock.advanceClock(90 * MINUTE)
    expect(server.readTable(lock).clockMs).toBe(T0 + 90 * MINUTE)
    expect(world.now()).toBe(T0)
    server.setCode(lock, 'owner', '730516', { kind: 'permanent' })
    server.setCode(lock, 'visit', '418273', { kind: 'timed', startsAt: T0, endsAt: T0 + DAY })
    lock.advanceClock(-90 * MINUTE)
    lock.powerLoss()
    world.advance(HOUR)
    expect(server.readTable(lock).clockMs).toBeNull()
    expect(lock.keypad('418273')).toEqual({ result: 'denied', reason: 'clock_not_set' })
    expect(lock.keypad('730516')).toEqual({ result: 'unlocked' })
    expect(server.setTime(lock, world.now())).toEqual({ offsetMs: null })
    expect(lock.keypad('418273')).toEqual({ result: 'unlocked' })
    const events = server.collectEvents(lock).slice(3)
    expect(events).toEqual([
      { seq: 4, at: null, type: 'power_restored' },
      { seq: 5, at: null, type: 'access_denied', method: 'keypad', reason: 'clock_not_set', codeId: 'visit' },
      { seq: 6, at: null, type: 'unlocked', method: 'keypad', codeId: 'owner' },
      { seq: 7, at: T0 + HOUR, type: 'clock_set', offsetMs: null },
      { seq: 8, at: T0 + HOUR, type: 'unlocked', method: 'keypad', codeId: 'visit' },
    ])
  })

  it('keeps running while the process is down (battery-backed), drift included', () => {
    const dir = mkdtempSync(join(tmpdir(), 'latchkey-lock-'))
    dirs.push(dir)
    const server = new ServerDouble()
    const world = new SimulatedClock({ frozenAt: T0 })
    const lock = Lock.open(server.bundle, { world, stateDir: dir })
    lock.setDrift(50)
    server.setTime(lock, T0)
    world.advance(10 * HOUR)
    const restarted = Lock.open(server.bundle, { world, stateDir: dir })
    // 10 h × 50 ppm = 1.8 s ahead.
    expect(server.readTable(restarted).clockMs).toBe(T0 + 10 * HOUR + 1_800)
  })

  it('refuses a drift no crystal has', () => {
    const { lock } = setup()
    expect(() => lock.setDrift(Number.NaN)).toThrow(expect.objectContaining({ code: 'validation_failed' }))
    expect(() => lock.setDrift(200_000)).toThrow(expect.objectContaining({ code: 'validation_failed' }))
  })
})
