import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SimulatedClock } from '@latchkey/core'
import type { LockEvent } from '@latchkey/protocol'
import fc from 'fast-check'
import { afterEach, describe, expect, it } from 'vitest'
import { Lock } from './lock.ts'
import { ServerDouble } from './testing/server-double.ts'

const T0 = Date.UTC(2025, 1, 10, 10, 0, 0)
const PIN = '473920'
/** A remote unlock valid for a minute of the (frozen) world clock. */
const UNLOCK = { type: 'unlock', notAfter: T0 + 60_000 } as const

const dirs: string[] = []
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-lock-'))
  dirs.push(dir)
  return dir
}

function setup(eventCapacity: number, stateDir?: string) {
  const server = new ServerDouble({ eventCapacity })
  const world = new SimulatedClock({ frozenAt: T0 })
  const options = { world, ...(stateDir === undefined ? {} : { stateDir }) }
  const lock = Lock.open(server.bundle, options)
  return { server, world, lock, reopen: () => Lock.open(server.bundle, options) }
}

const seqs = (events: LockEvent[]) => events.map((e) => e.seq)
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)

describe('the event ring', () => {
  it('numbers events from 1, sends the oldest 100 per batch, and forgets only what is acknowledged', () => {
    const { server, lock } = setup(500)
    expect(lock.pendingEvents()).toBeNull()
    server.setTime(lock, T0) // seq 1; a remote unlock needs the clock
    for (let i = 0; i < 150; i++) server.ok(lock, UNLOCK)
    expect(seqs(server.fetchBatch(lock))).toEqual(range(1, 100))
    // Not acknowledged: the same events come again (with a fresh frame counter).
    expect(seqs(server.fetchBatch(lock))).toEqual(range(1, 100))
    server.ok(lock, { type: 'ack_events', upToSeq: 60 })
    expect(seqs(server.fetchBatch(lock))).toEqual(range(61, 151))
    expect(server.ok(lock, { type: 'ack_events', upToSeq: 10_000 })).toEqual({ ackedUpToSeq: 151 })
    expect(lock.pendingEvents()).toBeNull()
    server.ok(lock, UNLOCK)
    expect(seqs(server.fetchBatch(lock))).toEqual([152])
    expect(server.conflicts).toBe(0)
  })

  it('when full of unacknowledged events keeps the oldest, counts the rest, and reports them once there is room', () => {
    const { server, lock } = setup(10)
    server.setCode(lock, 'owner', PIN, { kind: 'permanent' }) // seq 1
    for (let i = 0; i < 14; i++) lock.keypad(PIN) // seqs 2–10 stored, 5 lost
    expect(seqs(server.fetchBatch(lock))).toEqual(range(1, 10))
    server.ok(lock, { type: 'ack_events', upToSeq: 3 })
    lock.keypad(PIN)
    lock.keypad(PIN)
    lock.keypad(PIN) // ring full again: one more lost
    const batch = server.fetchBatch(lock)
    expect(seqs(batch)).toEqual(range(4, 13))
    expect(batch[7]).toEqual({ seq: 11, at: null, type: 'events_lost', count: 5 })
    expect(batch.slice(8).map((e) => e.type)).toEqual(['unlocked', 'unlocked'])
    const rest = server.collectEvents(lock)
    expect(rest.at(-1)).toEqual({ seq: 14, at: null, type: 'events_lost', count: 1 })
  })

  it('re-sends unacknowledged events unchanged after a restart and never reuses a seq', () => {
    const dir = tempDir()
    const { server, lock, reopen } = setup(500, dir)
    server.setCode(lock, 'owner', PIN, { kind: 'permanent' })
    lock.keypad(PIN)
    const before = server.fetchBatch(lock)
    const restarted = reopen()
    expect(server.fetchBatch(restarted)).toEqual(before)
    server.ok(restarted, { type: 'ack_events', upToSeq: 2 })
    restarted.keypad(PIN)
    const again = reopen()
    expect(seqs(server.collectEvents(again))).toEqual([3])
    expect([...server.events.keys()]).toEqual([1, 2, 3])
    expect(server.conflicts).toBe(0)
  })

  it('property: events are never lost while the ring has room, and never stored twice, across restarts', () => {
    type Op =
      | { op: 'unlock' }
      | { op: 'keypad' }
      | { op: 'replay' }
      | { op: 'fetch' }
      | { op: 'ack'; fraction: number }
      | { op: 'restart' }
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.constant({ op: 'unlock' as const }),
      fc.constant({ op: 'keypad' as const }),
      fc.constant({ op: 'replay' as const }),
      fc.constant({ op: 'fetch' as const }),
      fc.record({ op: fc.constant('ack' as const), fraction: fc.double({ min: 0, max: 1, noNaN: true }) }),
      fc.constant({ op: 'restart' as const }),
    )
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), fc.integer({ min: 10, max: 30 }), (ops, capacity) => {
        const dir = tempDir()
        const { server, reopen } = setup(capacity, dir)
        let lock = reopen()
        server.setTime(lock, T0)
        server.setCode(lock, 'owner', PIN, { kind: 'permanent' })
        const replayable = server.seal(UNLOCK).frame
        lock.receiveFrame(replayable) // delivered once: every later copy is a replay
        let generated = 3
        let lastFetched = 0
        for (const step of ops) {
          if (step.op === 'unlock') server.ok(lock, UNLOCK)
          else if (step.op === 'keypad') lock.keypad(PIN)
          else if (step.op === 'replay') lock.receiveFrame(replayable)
          else if (step.op === 'fetch') lastFetched = server.fetchBatch(lock).at(-1)?.seq ?? lastFetched
          else if (step.op === 'ack')
            server.ok(lock, { type: 'ack_events', upToSeq: Math.floor(lastFetched * step.fraction) })
          else lock = reopen()
          if (step.op === 'unlock' || step.op === 'keypad' || step.op === 'replay') generated += 1
        }
        server.collectEvents(lock)
        const stored = [...server.events.values()].sort((a, b) => a.seq - b.seq)
        // Consecutive seqs from 1, each stored once with one content.
        expect(seqs(stored)).toEqual(range(1, stored.length))
        expect(server.conflicts).toBe(0)
        // Every event is there, or counted in an events_lost report.
        const reports = stored.filter((e) => e.type === 'events_lost')
        const lost = reports.reduce((n, e) => n + (e.type === 'events_lost' ? e.count : 0), 0)
        expect(stored.length - reports.length + lost).toBe(generated)
        // Nothing is lost while the lock is drained often enough to keep room.
        if (generated <= capacity) expect(lost).toBe(0)
        rmSync(dir, { recursive: true, force: true })
      }),
      { numRuns: 40 },
    )
  })
})
