import { createDecipheriv } from 'node:crypto'
import { isLatchkeyError } from '@latchkey/core'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { deriveLockKeys, randomSecret } from './crypto.ts'
import {
  FRAME_OVERHEAD_BYTES,
  type FrameDirection,
  openCommand,
  openFrame,
  openLockMessage,
  sealCommand,
  sealFrame,
  sealLockMessage,
} from './frame.ts'
import type { CommandEnvelope, LockMessage } from './messages.ts'
import { arbCommandEnvelope, arbId, arbLockMessage } from './test-arbitraries.ts'

const key = deriveLockKeys(new Uint8Array(32).fill(7)).command
const lockId = 'lock_front_door'
const text = (s: string) => new TextEncoder().encode(s)

function errorCode(fn: () => unknown): string {
  try {
    fn()
  } catch (error) {
    if (isLatchkeyError(error)) return error.code
    throw error
  }
  return 'opened'
}

const open = (
  frame: Uint8Array,
  lastCounter = 0,
  extra: { key?: Uint8Array; lockId?: string; direction?: FrameDirection } = {},
) =>
  openFrame({
    key: extra.key ?? key,
    lockId: extra.lockId ?? lockId,
    direction: extra.direction ?? 'down',
    lastCounter,
    frame,
  })

describe('sealFrame / openFrame', () => {
  it('lays out version, direction, counter, ciphertext and tag as documented (decrypts with the spec alone)', () => {
    const plaintext = text('{"kind":"command"}')
    const frame = sealFrame({ key, lockId, direction: 'up', counter: 0x0102030405, plaintext })
    expect(frame.length).toBe(FRAME_OVERHEAD_BYTES + plaintext.length)
    expect(Buffer.from(frame.subarray(0, 10)).toString('hex')).toBe('01020000000102030405')
    // Independent decryption: nonce = u32be(direction) ‖ u64be(counter), AAD = header ‖ utf8(lockId).
    const nonce = Buffer.from('00000002' + '0000000102030405', 'hex')
    const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: 16 })
    decipher.setAAD(Buffer.concat([frame.subarray(0, 10), Buffer.from(lockId)]))
    decipher.setAuthTag(frame.subarray(frame.length - 16))
    const body = Buffer.concat([decipher.update(frame.subarray(10, frame.length - 16)), decipher.final()])
    expect(body.toString()).toBe('{"kind":"command"}')
  })

  it('round-trips any payload, lock, direction and counter', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        arbId,
        fc.constantFrom<FrameDirection>('down', 'up'),
        fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
        fc.uint8Array({ maxLength: 600 }),
        (k, id, direction, counter, plaintext) => {
          const frame = sealFrame({ key: k, lockId: id, direction, counter, plaintext })
          const opened = openFrame({ key: k, lockId: id, direction, lastCounter: counter - 1, frame })
          expect(opened.counter).toBe(counter)
          expect(opened.plaintext).toEqual(plaintext)
        },
      ),
      { numRuns: 200 },
    )
  })

  it('rejects every single-bit flip: header version/direction as unsupported, everything else as forged', () => {
    for (const plaintext of [
      new Uint8Array(0),
      text('x'),
      text('{"kind":"command","id":"42","command":{"type":"unlock"}}'),
    ]) {
      const frame = sealFrame({ key, lockId, direction: 'down', counter: 9, plaintext })
      let checked = 0
      for (let bit = 0; bit < frame.length * 8; bit++) {
        const flipped = frame.slice()
        flipped[bit >> 3]! ^= 1 << (bit & 7)
        const expected = bit < 16 ? 'frame_unsupported' : 'frame_forged'
        expect({ bit, code: errorCode(() => open(flipped, 8)) }).toEqual({ bit, code: expected })
        checked++
      }
      expect(checked).toBe((FRAME_OVERHEAD_BYTES + plaintext.length) * 8)
      expect(open(frame, 8).plaintext).toEqual(plaintext) // the original still opens
    }
  })

  it('rejects a frame cut at every length: too short as truncated, the rest as forged', () => {
    const frame = sealFrame({
      key,
      lockId,
      direction: 'down',
      counter: 3,
      plaintext: text('{"kind":"command"}'),
    })
    for (let length = 0; length < frame.length; length++) {
      const expected = length < FRAME_OVERHEAD_BYTES ? 'frame_truncated' : 'frame_forged'
      expect({ length, code: errorCode(() => open(frame.subarray(0, length))) }).toEqual({
        length,
        code: expected,
      })
    }
    // Bytes appended at the end move the tag: forged as well.
    expect(errorCode(() => open(new Uint8Array([...frame, 0])))).toBe('frame_forged')
  })

  it('refuses a replay and a stale frame delivered out of order, after authenticating it', () => {
    const frames = [1, 2, 3].map((counter) =>
      sealFrame({ key, lockId, direction: 'down', counter, plaintext: text(`#${counter}`) }),
    )
    let last = 0
    const deliver = (frame: Uint8Array) => {
      const opened = open(frame, last)
      last = opened.counter
      return new TextDecoder().decode(opened.plaintext)
    }
    expect(deliver(frames[0]!)).toBe('#1')
    expect(errorCode(() => deliver(frames[0]!))).toBe('frame_replayed')
    expect(deliver(frames[2]!)).toBe('#3') // a gap is fine: the gateway may drop frames
    expect(errorCode(() => deliver(frames[1]!))).toBe('frame_replayed') // reordered, now stale
    expect(last).toBe(3)
    // An old counter on a forged frame is reported as forged, not as a replay.
    const forged = frames[0]!.slice()
    forged[12]! ^= 0x80
    expect(errorCode(() => open(forged, 3))).toBe('frame_forged')
  })

  it('refuses a frame for another lock, under another key, or sent the other way', () => {
    const frame = sealFrame({ key, lockId, direction: 'down', counter: 5, plaintext: text('open') })
    expect(errorCode(() => open(frame, 0, { lockId: 'lock_back_door' }))).toBe('frame_forged')
    expect(errorCode(() => open(frame, 0, { key: deriveLockKeys(randomSecret()).command }))).toBe(
      'frame_forged',
    )
    expect(errorCode(() => open(frame, 0, { direction: 'up' }))).toBe('frame_unsupported')
    // A lock's own frame reflected back to it, with the direction byte rewritten: forged.
    const up = sealFrame({ key, lockId, direction: 'up', counter: 5, plaintext: text('open') })
    const reflected = up.slice()
    reflected[1] = 1
    expect(errorCode(() => open(reflected))).toBe('frame_forged')
  })

  it('refuses to seal with a bad key or counter', () => {
    const plaintext = text('x')
    expect(
      errorCode(() =>
        sealFrame({ key: new Uint8Array(16), lockId, direction: 'down', counter: 1, plaintext }),
      ),
    ).toBe('validation_failed')
    for (const counter of [-1, 1.5, Number.MAX_SAFE_INTEGER + 1, Number.NaN]) {
      expect(errorCode(() => sealFrame({ key, lockId, direction: 'down', counter, plaintext }))).toBe(
        'validation_failed',
      )
    }
  })
})

describe('sealed messages', () => {
  it('round-trips every command envelope', () => {
    fc.assert(
      fc.property(arbCommandEnvelope, fc.integer({ min: 1, max: 1_000_000 }), (envelope, counter) => {
        const frame = sealCommand(key, lockId, counter, envelope)
        expect(openCommand(key, lockId, counter - 1, frame)).toEqual({ counter, envelope })
      }),
      { numRuns: 200 },
    )
  })

  it('round-trips every lock message', () => {
    fc.assert(
      fc.property(arbLockMessage, fc.integer({ min: 1, max: 1_000_000 }), (message, counter) => {
        const frame = sealLockMessage(key, lockId, counter, message)
        expect(openLockMessage(key, lockId, counter - 1, frame)).toEqual({ counter, message })
      }),
      { numRuns: 200 },
    )
  })

  it('keeps the two directions apart: a command is not a lock message and vice versa', () => {
    const envelope: CommandEnvelope = {
      kind: 'command',
      id: 'c1',
      command: { type: 'unlock', notAfter: 1_767_225_600_000 },
    }
    const message: LockMessage = { kind: 'reply', id: 'c1', status: 'ok' }
    expect(errorCode(() => openLockMessage(key, lockId, 0, sealCommand(key, lockId, 1, envelope)))).toBe(
      'frame_unsupported',
    )
    expect(errorCode(() => openCommand(key, lockId, 0, sealLockMessage(key, lockId, 1, message)))).toBe(
      'frame_unsupported',
    )
  })

  it('refuses to seal an invalid message, and reports an authentic but malformed one as validation_failed', () => {
    const bad = {
      kind: 'command',
      id: 'c1',
      command: { type: 'set_code', codeId: 'x', pin: '12', rule: { kind: 'permanent' } },
    }
    expect(errorCode(() => sealCommand(key, lockId, 1, bad as CommandEnvelope))).toBe('validation_failed')
    const notJson = sealFrame({ key, lockId, direction: 'down', counter: 1, plaintext: text('{not json') })
    expect(errorCode(() => openCommand(key, lockId, 0, notJson))).toBe('validation_failed')
    const wrongShape = sealFrame({
      key,
      lockId,
      direction: 'up',
      counter: 1,
      plaintext: text('{"kind":"events","events":"x"}'),
    })
    expect(errorCode(() => openLockMessage(key, lockId, 0, wrongShape))).toBe('validation_failed')
  })
})
