import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SimulatedClock } from '@latchkey/core'
import type { LockEvent } from '@latchkey/protocol'
import { afterEach, describe, expect, it } from 'vitest'
import { Lock } from './lock.ts'
import { ServerDouble } from './testing/server-double.ts'

const T0 = Date.UTC(2025, 5, 2, 9, 0, 0)
const RIGHT = '620481'
const WRONG = ['111111', '222222', '333333', '444444', '555555', '666666']

const dirs: string[] = []
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

function setup(stateDir?: string) {
  const server = new ServerDouble()
  const world = new SimulatedClock({ frozenAt: T0 })
  const options = { world, ...(stateDir === undefined ? {} : { stateDir }) }
  const lock = Lock.open(server.bundle, options)
  server.setTime(lock, T0)
  server.setCode(lock, 'owner', RIGHT, { kind: 'permanent' })
  return { server, world, lock, reopen: () => Lock.open(server.bundle, options) }
}

function typeWrong(lock: Lock, times: number) {
  return Array.from({ length: times }, (_, i) => lock.keypad(WRONG[i % WRONG.length]!))
}

const lockouts = (events: LockEvent[]) =>
  events.flatMap((e) =>
    e.type === 'locked_out' ? [{ lasts: e.untilMs - e.at!, wrongAttempts: e.wrongAttempts }] : [],
  )

describe('wrong-code lockout', () => {
  it('disables the keypad for 60 s after 5 wrong entries, even for the right code', () => {
    const { server, world, lock } = setup()
    expect(typeWrong(lock, 5)).toEqual(Array(5).fill({ result: 'denied', reason: 'unknown_code' }))
    expect(lock.keypad(RIGHT)).toEqual({ result: 'denied', reason: 'locked_out' })
    world.advance(59_999)
    expect(lock.keypad(RIGHT)).toEqual({ result: 'denied', reason: 'locked_out' })
    world.advance(1)
    expect(lock.keypad(RIGHT)).toEqual({ result: 'unlocked' })
    const events = server.collectEvents(lock).slice(2)
    expect(events.map((e) => (e.type === 'access_denied' ? e.reason : e.type))).toEqual([
      'unknown_code',
      'unknown_code',
      'unknown_code',
      'unknown_code',
      'unknown_code',
      'locked_out',
      'locked_out',
      'locked_out',
      'unlocked',
    ])
    expect(events[5]).toEqual({ seq: 8, at: T0, type: 'locked_out', untilMs: T0 + 60_000, wrongAttempts: 5 })
  })

  it('doubles each further lockout up to one hour, and a success starts again at 60 s', () => {
    const { server, world, lock } = setup()
    for (let round = 0; round < 8; round++) {
      typeWrong(lock, 5)
      world.advance(3_600_000)
    }
    typeWrong(lock, 4)
    expect(lock.keypad(RIGHT)).toEqual({ result: 'unlocked' })
    typeWrong(lock, 5)
    expect(lockouts(server.collectEvents(lock)).map((l) => l.lasts / 1000)).toEqual([
      60, 120, 240, 480, 960, 1920, 3600, 3600, 60,
    ])
  })

  it('does not count entries made while locked out, nor real codes refused for their window', () => {
    const { server, world, lock } = setup()
    server.setCode(lock, 'later', '902734', {
      kind: 'timed',
      startsAt: T0 + 86_400_000,
      endsAt: T0 + 90_000_000,
    })
    typeWrong(lock, 4)
    expect(lock.keypad('902734')).toEqual({ result: 'denied', reason: 'outside_schedule' })
    expect(lock.keypad('902734')).toEqual({ result: 'denied', reason: 'outside_schedule' })
    expect(typeWrong(lock, 1)).toEqual([{ result: 'denied', reason: 'unknown_code' }])
    expect(typeWrong(lock, 3)).toEqual(Array(3).fill({ result: 'denied', reason: 'locked_out' }))
    world.advance(60_000)
    // The lockout is over and the count started again: four wrong entries do not lock the keypad.
    expect(typeWrong(lock, 4)).toEqual(Array(4).fill({ result: 'denied', reason: 'unknown_code' }))
    expect(lock.keypad(RIGHT)).toEqual({ result: 'unlocked' })
    expect(lockouts(server.collectEvents(lock))).toEqual([{ lasts: 60_000, wrongAttempts: 5 }])
  })

  it('keeps the count and the lockout across a restart', () => {
    const dir = mkdtempSync(join(tmpdir(), 'latchkey-lock-'))
    dirs.push(dir)
    const { server, world, lock, reopen } = setup(dir)
    typeWrong(lock, 3)
    let restarted = reopen()
    typeWrong(restarted, 2)
    restarted = reopen()
    expect(restarted.keypad(RIGHT)).toEqual({ result: 'denied', reason: 'locked_out' })
    world.advance(60_000)
    // Second lockout after another restart: doubled.
    restarted = reopen()
    typeWrong(restarted, 5)
    restarted = reopen()
    world.advance(119_999)
    expect(restarted.keypad(RIGHT)).toEqual({ result: 'denied', reason: 'locked_out' })
    world.advance(1)
    expect(restarted.keypad(RIGHT)).toEqual({ result: 'unlocked' })
    expect(lockouts(server.collectEvents(restarted)).map((l) => l.lasts)).toEqual([60_000, 120_000])
  })

  it('keeps a lockout across a power loss; the event then gives its length (the clock is unset)', () => {
    const { server, world, lock } = setup()
    lock.powerLoss()
    typeWrong(lock, 5)
    expect(lock.keypad(RIGHT)).toEqual({ result: 'denied', reason: 'locked_out' })
    world.advance(60_000)
    expect(lock.keypad(RIGHT)).toEqual({ result: 'unlocked' })
    const lockout = server.collectEvents(lock).find((e) => e.type === 'locked_out')
    expect(lockout).toMatchObject({ at: null, untilMs: 60_000, wrongAttempts: 5 })
  })
})
