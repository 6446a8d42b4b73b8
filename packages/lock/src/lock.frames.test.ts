import { SimulatedClock } from '@latchkey/core'
import { deriveLockKeys, randomSecret, sealCommand, sealFrame } from '@latchkey/protocol'
import { describe, expect, it } from 'vitest'
import { Lock } from './lock.ts'
import { ServerDouble } from './testing/server-double.ts'

const T0 = Date.UTC(2025, 2, 1, 12, 0, 0)

function setup() {
  const server = new ServerDouble()
  const world = new SimulatedClock({ frozenAt: T0 })
  const lock = Lock.open(server.bundle, { world })
  return { server, world, lock }
}

describe('sealed command frames', () => {
  it('answers a command with a sealed reply that echoes its id', () => {
    const { server, lock } = setup()
    server.setTime(lock, T0)
    const { frame, id } = server.seal({ type: 'unlock', notAfter: T0 + 30_000 })
    const up = lock.receiveFrame(frame)
    expect(up).not.toBeNull()
    expect(server.open(up!)).toEqual({ kind: 'reply', id, status: 'ok' })
    expect(server.collectEvents(lock).at(-1)).toEqual({ seq: 2, at: T0, type: 'unlocked', method: 'remote' })
  })

  it('refuses a remote unlock that does not say until when it may open', () => {
    const { server, lock } = setup()
    server.setTime(lock, T0)
    const plaintext = new TextEncoder().encode(
      JSON.stringify({ kind: 'command', id: 'x', command: { type: 'unlock' } }),
    )
    const frame = sealFrame({
      key: server.keys.command,
      lockId: server.lockId,
      direction: 'down',
      counter: 9,
      plaintext,
    })
    expect(lock.receiveFrame(frame)).toBeNull()
    const events = server.collectEvents(lock)
    expect(events.at(-1)).toMatchObject({ type: 'frame_rejected', reason: 'frame_unsupported' })
    expect(events.some((e) => e.type === 'unlocked')).toBe(false)
  })

  it('refuses a remote unlock that a gateway held back past its notAfter, and one it cannot date', () => {
    const { server, world, lock } = setup()
    const notAfter = T0 + 30_000
    const held = server.seal({ type: 'unlock', notAfter })
    // clock unset: the lock cannot tell a fresh command from a stale one
    expect(server.open(lock.receiveFrame(held.frame)!)).toMatchObject({
      status: 'error',
      error: { code: 'lock_clock_not_set' },
    })
    server.ok(lock, { type: 'set_time', nowMs: T0 })
    expect(server.send(lock, { type: 'unlock', notAfter })).toEqual({
      kind: 'reply',
      id: expect.any(String),
      status: 'ok',
    })
    const late = server.seal({ type: 'unlock', notAfter })
    world.advance(30_000 + 2 * 60_000 + 1) // past notAfter and the 2 min grace
    expect(server.open(lock.receiveFrame(late.frame)!)).toMatchObject({
      status: 'error',
      error: { code: 'command_expired' },
    })
    const opened = server.collectEvents(lock).filter((e) => e.type === 'unlocked')
    expect(opened).toHaveLength(1)
  })

  it('refuses a replayed frame, logs it, and still takes the next fresh one', () => {
    const { server, lock } = setup()
    const first = server.seal({ type: 'set_code', codeId: 'c1', pin: '4711', rule: { kind: 'permanent' } })
    expect(lock.receiveFrame(first.frame)).not.toBeNull()
    expect(lock.receiveFrame(first.frame)).toBeNull()
    expect(server.readTable(lock).codes.map((c) => c.codeId)).toEqual(['c1'])
    expect(server.collectEvents(lock).map((e) => e.type === 'frame_rejected' && e.reason)).toEqual([
      false,
      'frame_replayed',
    ])
  })

  it('refuses an older frame delivered after a newer one: the counter never moves back', () => {
    const { server, lock } = setup()
    const older = server.seal({ type: 'set_code', codeId: 'old', pin: '1111', rule: { kind: 'permanent' } })
    const newer = server.seal({ type: 'set_code', codeId: 'new', pin: '2222', rule: { kind: 'permanent' } })
    expect(lock.receiveFrame(newer.frame)).not.toBeNull()
    expect(lock.receiveFrame(older.frame)).toBeNull()
    expect(lock.keypad('1111')).toEqual({ result: 'denied', reason: 'unknown_code' })
    expect(lock.keypad('2222')).toEqual({ result: 'unlocked' })
  })

  it('refuses forged, altered, truncated and foreign frames, and logs each reason', () => {
    const { server, lock } = setup()
    const unlock = {
      kind: 'command' as const,
      id: 'x',
      command: { type: 'unlock' as const, notAfter: T0 + 30_000 },
    }
    // Sealed with a key that is not this lock's: what a gateway could make up.
    const forged = sealCommand(deriveLockKeys(randomSecret()).command, server.lockId, 1, unlock)
    expect(lock.receiveFrame(forged)).toBeNull()
    // Sealed with this lock's key for another lock id.
    const foreign = sealCommand(server.keys.command, 'lock-2', 1, unlock)
    expect(lock.receiveFrame(foreign)).toBeNull()
    // A real frame with one byte of ciphertext flipped.
    const altered = server.seal({ type: 'unlock', notAfter: T0 + 30_000 }).frame.slice()
    altered[12] = altered[12]! ^ 1
    expect(lock.receiveFrame(altered)).toBeNull()
    expect(lock.receiveFrame(new Uint8Array(5))).toBeNull()
    const events = server.collectEvents(lock)
    expect(events.map((e) => (e.type === 'frame_rejected' ? e.reason : e.type))).toEqual([
      'frame_forged',
      'frame_forged',
      'frame_forged',
      'frame_truncated',
    ])
    // None of them opened the door.
    expect(events.some((e) => e.type === 'unlocked')).toBe(false)
  })

  it('refuses a frame the lock sealed itself (wrong direction)', () => {
    const { server, lock } = setup()
    lock.keypad('9999')
    const up = lock.pendingEvents()!
    expect(lock.receiveFrame(up)).toBeNull()
    const events = server.collectEvents(lock)
    expect(events.at(-1)).toMatchObject({ type: 'frame_rejected', reason: 'frame_unsupported' })
  })

  it('refuses an authentic frame that holds no valid command, without moving its counter', () => {
    const { server, lock } = setup()
    server.setTime(lock, T0) // counter 1
    const plaintext = new TextEncoder().encode(
      JSON.stringify({ kind: 'command', id: 'x', command: { type: 'self_destruct' } }),
    )
    const frame = sealFrame({
      key: server.keys.command,
      lockId: server.lockId,
      direction: 'down',
      counter: 50,
      plaintext,
    })
    expect(lock.receiveFrame(frame)).toBeNull()
    // Counter 50 was not taken: the server's next frames (counter 2, 3, …) still open.
    expect(server.send(lock, { type: 'unlock', notAfter: T0 + 30_000 }).status).toBe('ok')
    expect(server.collectEvents(lock).map((e) => (e.type === 'frame_rejected' ? e.reason : e.type))).toEqual([
      'clock_set',
      'frame_unsupported',
      'unlocked',
    ])
  })
})
