/**
 * Sealed frames between the server and one lock (SPEC §2: the gateway is an untrusted relay).
 * AES-256-GCM under the lock's command key (crypto.ts `deriveLockKeys`).
 *
 *   byte 0      version (1)
 *   byte 1      direction: 1 = down (server → lock), 2 = up (lock → server)
 *   bytes 2–9   counter, u64 big-endian, strictly increasing per direction
 *   bytes 10…   ciphertext
 *   last 16     GCM tag
 *
 * Nonce = direction as u32 BE ‖ counter as u64 BE (12 bytes): both sides share one key, and the
 * direction keeps their nonces apart. AAD = the 10 header bytes ‖ utf8(lockId), so a frame sealed for
 * one lock does not open on another. Each sender must never reuse a counter (persist it before sending).
 *
 * The receiver authenticates first and only then compares the counter with the last one it accepted:
 * a forged frame is reported as forged, never as a replay.
 */
import { createCipheriv, createDecipheriv } from 'node:crypto'
import { LatchkeyError } from '@latchkey/core'
import {
  type CommandEnvelope,
  decodeJson,
  type LockMessage,
  parseCommandEnvelope,
  parseLockMessage,
  serializeMessage,
} from './messages.ts'

export const FRAME_VERSION = 1
export const FRAME_HEADER_BYTES = 10
export const FRAME_TAG_BYTES = 16
export const FRAME_OVERHEAD_BYTES = FRAME_HEADER_BYTES + FRAME_TAG_BYTES

export type FrameDirection = 'down' | 'up'
const DIRECTION_BYTE: Record<FrameDirection, number> = { down: 1, up: 2 }

export interface SealFrameInput {
  key: Uint8Array
  lockId: string
  direction: FrameDirection
  /** Strictly greater than every counter sent before in this direction (the first frame may use 1). */
  counter: number
  plaintext: Uint8Array
}

export interface OpenFrameInput {
  key: Uint8Array
  lockId: string
  /** The direction the receiver expects: a lock opens `down` frames, the server `up` frames. */
  direction: FrameDirection
  /** The highest counter already accepted from this sender (0 before the first frame). */
  lastCounter: number
  frame: Uint8Array
}

export interface OpenedFrame {
  counter: number
  plaintext: Uint8Array
}

function checkKey(key: Uint8Array): void {
  if (key.length !== 32)
    throw new LatchkeyError('validation_failed', `a frame key is 32 bytes, got ${key.length}`)
}

function checkCounter(value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new LatchkeyError('validation_failed', `${what} must be a non-negative safe integer, got ${value}`)
  }
}

function nonceFor(directionByte: number, header: Uint8Array): Uint8Array {
  const nonce = new Uint8Array(12)
  new DataView(nonce.buffer).setUint32(0, directionByte)
  nonce.set(header.subarray(2, FRAME_HEADER_BYTES), 4)
  return nonce
}

function aadFor(header: Uint8Array, lockId: string): Uint8Array {
  const id = new TextEncoder().encode(lockId)
  const aad = new Uint8Array(header.length + id.length)
  aad.set(header, 0)
  aad.set(id, header.length)
  return aad
}

export function sealFrame(input: SealFrameInput): Uint8Array {
  checkKey(input.key)
  checkCounter(input.counter, 'counter')
  const directionByte = DIRECTION_BYTE[input.direction]
  if (directionByte === undefined)
    throw new LatchkeyError('validation_failed', `unknown direction ${input.direction}`)
  const header = new Uint8Array(FRAME_HEADER_BYTES)
  header[0] = FRAME_VERSION
  header[1] = directionByte
  new DataView(header.buffer).setBigUint64(2, BigInt(input.counter))
  const cipher = createCipheriv('aes-256-gcm', input.key, nonceFor(directionByte, header), {
    authTagLength: FRAME_TAG_BYTES,
  })
  cipher.setAAD(aadFor(header, input.lockId))
  const body = cipher.update(input.plaintext)
  const final = cipher.final()
  const tag = cipher.getAuthTag()
  const frame = new Uint8Array(FRAME_OVERHEAD_BYTES + body.length + final.length)
  frame.set(header, 0)
  frame.set(body, FRAME_HEADER_BYTES)
  frame.set(final, FRAME_HEADER_BYTES + body.length)
  frame.set(tag, frame.length - FRAME_TAG_BYTES)
  return frame
}

export function openFrame(input: OpenFrameInput): OpenedFrame {
  checkKey(input.key)
  checkCounter(input.lastCounter, 'lastCounter')
  const { frame } = input
  if (frame.length < FRAME_OVERHEAD_BYTES) {
    throw new LatchkeyError(
      'frame_truncated',
      `a frame has at least ${FRAME_OVERHEAD_BYTES} bytes, got ${frame.length}`,
    )
  }
  const header = frame.subarray(0, FRAME_HEADER_BYTES)
  if (header[0] !== FRAME_VERSION)
    throw new LatchkeyError('frame_unsupported', `frame version ${header[0]} is not supported`)
  const expected = DIRECTION_BYTE[input.direction]
  if (header[1] !== expected) {
    throw new LatchkeyError(
      'frame_unsupported',
      `frame direction ${header[1]} where ${expected} (${input.direction}) was expected`,
    )
  }
  let plaintext: Uint8Array
  try {
    const decipher = createDecipheriv('aes-256-gcm', input.key, nonceFor(expected, header), {
      authTagLength: FRAME_TAG_BYTES,
    })
    decipher.setAAD(aadFor(header, input.lockId))
    decipher.setAuthTag(frame.subarray(frame.length - FRAME_TAG_BYTES))
    const body = Buffer.concat([
      decipher.update(frame.subarray(FRAME_HEADER_BYTES, frame.length - FRAME_TAG_BYTES)),
      decipher.final(),
    ])
    plaintext = new Uint8Array(body.buffer, body.byteOffset, body.byteLength)
  } catch (cause) {
    throw new LatchkeyError(
      'frame_forged',
      'frame failed authentication (wrong key, wrong lock or altered)',
      { cause },
    )
  }
  const counter = new DataView(frame.buffer, frame.byteOffset, FRAME_HEADER_BYTES).getBigUint64(2)
  if (counter <= BigInt(input.lastCounter)) {
    throw new LatchkeyError(
      'frame_replayed',
      `frame counter ${counter} is not above the last accepted ${input.lastCounter}`,
    )
  }
  if (counter > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new LatchkeyError('frame_unsupported', `frame counter ${counter} is out of range`)
  }
  return { counter: Number(counter), plaintext }
}

/** Server side: a command envelope sealed for the lock. */
export function sealCommand(
  key: Uint8Array,
  lockId: string,
  counter: number,
  envelope: CommandEnvelope,
): Uint8Array {
  const plaintext = serializeMessage(parseCommandEnvelope(envelope))
  return sealFrame({ key, lockId, direction: 'down', counter, plaintext })
}

/** Lock side: opens a command frame (frame_* errors), then validates the envelope (validation_failed). */
export function openCommand(
  key: Uint8Array,
  lockId: string,
  lastCounter: number,
  frame: Uint8Array,
): { counter: number; envelope: CommandEnvelope } {
  const { counter, plaintext } = openFrame({ key, lockId, direction: 'down', lastCounter, frame })
  return { counter, envelope: parseCommandEnvelope(decodeJson(plaintext)) }
}

/** Lock side: a reply or an event batch sealed for the server. */
export function sealLockMessage(
  key: Uint8Array,
  lockId: string,
  counter: number,
  message: LockMessage,
): Uint8Array {
  const plaintext = serializeMessage(parseLockMessage(message))
  return sealFrame({ key, lockId, direction: 'up', counter, plaintext })
}

/** Server side: opens a frame from the lock (frame_* errors), then validates the message (validation_failed). */
export function openLockMessage(
  key: Uint8Array,
  lockId: string,
  lastCounter: number,
  frame: Uint8Array,
): { counter: number; message: LockMessage } {
  const { counter, plaintext } = openFrame({ key, lockId, direction: 'up', lastCounter, frame })
  return { counter, message: parseLockMessage(decodeJson(plaintext)) }
}
