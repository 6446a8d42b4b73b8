import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SimulatedClock } from '@latchkey/core'
import { afterEach, describe, expect, it } from 'vitest'
import { Lock } from './lock.ts'
import { ServerDouble } from './testing/server-double.ts'

const HOUR = 3_600_000
const T0 = Date.UTC(2025, 3, 7, 6, 0, 0)

const dirs: string[] = []
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-lock-'))
  dirs.push(dir)
  return dir
}

describe('the lock’s flash', () => {
  it('a restarted lock finds its codes, uses, ledger, revocations, clock and counters', () => {
    const dir = tempDir()
    const server = new ServerDouble()
    const world = new SimulatedClock({ frozenAt: T0 })
    const lock = Lock.open(server.bundle, { world, stateDir: dir })
    server.setTime(lock, T0)
    server.setCode(lock, 'tradie', '318275', { kind: 'permanent', maxUses: 2 })
    server.ok(lock, { type: 'set_revocations', keyIds: ['k-gone'] })
    server.ok(lock, { type: 'configure', timezone: 'Australia/Sydney' })
    const once = server.issueOffline('one_time', T0)
    expect(lock.keypad(once.pin)).toEqual({ result: 'unlocked' })
    expect(lock.keypad('318275')).toEqual({ result: 'unlocked' })
    const oldFrame = server.seal({ type: 'unlock', notAfter: T0 + 60_000 }).frame
    expect(lock.receiveFrame(oldFrame)).not.toBeNull()
    const table = server.readTable(lock)

    const restarted = Lock.open(server.bundle, { world, stateDir: dir })
    expect(server.readTable(restarted)).toEqual(table)
    expect(table).toMatchObject({ ledgerUsed: 1, revocations: ['k-gone'], timezone: 'Australia/Sydney' })
    expect(restarted.keypad(once.pin)).toEqual({ result: 'denied', reason: 'already_used' })
    expect(restarted.keypad('318275')).toEqual({ result: 'unlocked' })
    expect(restarted.keypad('318275')).toEqual({ result: 'denied', reason: 'uses_exhausted' })
    // The receive counter survived: the old frame is a replay.
    expect(restarted.receiveFrame(oldFrame)).toBeNull()
    expect(server.collectEvents(restarted).at(-1)).toMatchObject({
      type: 'frame_rejected',
      reason: 'frame_replayed',
    })
    expect(server.conflicts).toBe(0)
  })

  it('writes atomically: one file per lock, no temporary file left behind', () => {
    const dir = tempDir()
    const server = new ServerDouble({ lockId: 'door-7' })
    const lock = Lock.open(server.bundle, { world: new SimulatedClock({ frozenAt: T0 }), stateDir: dir })
    server.setCode(lock, 'a', '5820', { kind: 'permanent' })
    lock.keypad('5820')
    expect(readdirSync(dir)).toEqual(['door-7.json'])
    const stored = readFileSync(join(dir, 'door-7.json'), 'utf8')
    expect(stored).not.toContain(server.bundle.secret)
  })

  it('a bundle with a new secret for the same lock id starts a fresh lock', () => {
    const dir = tempDir()
    const world = new SimulatedClock({ frozenAt: T0 })
    const first = new ServerDouble()
    const lock = Lock.open(first.bundle, { world, stateDir: dir })
    first.setCode(lock, 'a', '5820', { kind: 'permanent' })
    const second = new ServerDouble()
    const fresh = Lock.open(second.bundle, { world, stateDir: dir })
    expect(second.readTable(fresh).codes).toEqual([])
    expect(second.collectEvents(fresh).map((e) => e.seq)).toEqual([])
  })

  it('refuses to start from a corrupt state rather than open with a guess', () => {
    const dir = tempDir()
    const server = new ServerDouble()
    writeFileSync(join(dir, `${server.lockId}.json`), '{"v":1,"lockId":')
    expect(() =>
      Lock.open(server.bundle, { world: new SimulatedClock({ frozenAt: T0 }), stateDir: dir }),
    ).toThrow(expect.objectContaining({ code: 'internal' }))
  })

  it('shows its own state for the simulator, without PINs', () => {
    const server = new ServerDouble({ capacity: 20, ledgerCapacity: 16, eventCapacity: 50 })
    const world = new SimulatedClock({ frozenAt: T0 })
    const lock = Lock.open(server.bundle, { world })
    server.setTime(lock, T0)
    lock.setDrift(20)
    server.setCode(lock, 'cleaner', '739164', { kind: 'timed', startsAt: T0, endsAt: T0 + HOUR })
    lock.keypad('739164')
    for (const digits of ['1111', '2222']) lock.keypad(digits)
    const view = lock.view()
    expect(JSON.stringify(view)).not.toContain('739164')
    expect(view).toEqual({
      id: 'lock-1',
      name: 'Front door',
      model: 'LK-100',
      timezone: 'Europe/Berlin',
      graceMs: 120_000,
      capacity: {
        codes: { used: 1, total: 20 },
        ledger: { used: 0, total: 16 },
        activatedOffline: { used: 0, total: 16 },
        events: { used: 5, total: 50 },
      },
      codes: [
        {
          codeId: 'cleaner',
          kind: 'timed',
          uses: 1,
          rule: { kind: 'timed', startsAt: T0, endsAt: T0 + HOUR },
        },
      ],
      ledger: [],
      activatedOffline: [],
      clock: { ms: T0, iso: '2025-04-07T06:00:00.000Z', driftPpm: 20 },
      lockout: { lockedOut: false, remainingMs: 0, wrongAttempts: 2, level: 0 },
      events: { capacity: 50, unacked: 5, firstUnackedSeq: 1, lastSeq: 5, notYetReportedLost: 0 },
      revocations: 0,
      counters: { rx: 2, tx: 2 },
    })
  })

  it('refuses a grace for drift that is negative or over an hour', () => {
    const server = new ServerDouble()
    const world = new SimulatedClock({ frozenAt: T0 })
    for (const graceMs of [-1, 3_600_001, 1.5]) {
      expect(() => Lock.open(server.bundle, { world, graceMs })).toThrow(
        expect.objectContaining({ code: 'validation_failed' }),
      )
    }
    expect(Lock.open(server.bundle, { world, graceMs: 0 }).view().graceMs).toBe(0)
  })
})
