/**
 * The cryptographic primitives of the protocol, all from node:crypto: HMAC-SHA256 (offline PINs),
 * HKDF-SHA256 (per-purpose keys from a lock's secret), random secrets and constant-time comparison.
 */
import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto'
import { LatchkeyError } from '@latchkey/core'

/** Length of a lock's secret and of every derived key, in bytes. */
export const SECRET_BYTES = 32

/** HKDF salt and info strings: one per purpose, so a key for one purpose says nothing about another. */
const HKDF_SALT = new TextEncoder().encode('latchkey/v1/lock-keys')
const HKDF_INFO = {
  pin: 'latchkey/v1/offline-pin',
  command: 'latchkey/v1/command-channel',
  denied: 'latchkey/v1/denied-pin',
} as const

export interface LockKeys {
  /** K_pin: the HMAC key of offline PINs (SPEC §6). */
  pin: Uint8Array
  /** The AES-256-GCM key of sealed frames in both directions (frame.ts). */
  command: Uint8Array
  /** The HMAC key of `deniedPinHash`: a refused PIN, named to the server without the gateway learning it. */
  denied: Uint8Array
}

function asBytes(buffer: Buffer): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength)
}

export function hmacSha256(key: Uint8Array, message: Uint8Array): Uint8Array {
  return asBytes(createHmac('sha256', key).update(message).digest())
}

/** Derives the lock's keys from its 256-bit secret (the server and the lock compute the same). */
export function deriveLockKeys(secret: Uint8Array): LockKeys {
  if (secret.length !== SECRET_BYTES) {
    throw new LatchkeyError(
      'validation_failed',
      `a lock secret is ${SECRET_BYTES} bytes, got ${secret.length}`,
    )
  }
  const derive = (info: string) => new Uint8Array(hkdfSync('sha256', secret, HKDF_SALT, info, SECRET_BYTES))
  return {
    pin: derive(HKDF_INFO.pin),
    command: derive(HKDF_INFO.command),
    denied: derive(HKDF_INFO.denied),
  }
}

/**
 * The keyed hash a lock reports with a PIN it did not know (`access_denied`, `unknown_code`): the
 * server, which holds the lock's secret, can tell which of its ended or deleted codes it was; the
 * gateway that relays it cannot (base64url of HMAC-SHA256 under `LockKeys.denied`).
 */
export function deniedPinHash(key: Uint8Array, digits: string): string {
  return Buffer.from(hmacSha256(key, new TextEncoder().encode(digits))).toString('base64url')
}

/** 32 bytes from the operating system's CSPRNG. */
export function randomSecret(): Uint8Array {
  return asBytes(randomBytes(SECRET_BYTES))
}

/**
 * Compares two secrets without revealing where they differ. Strings are compared as UTF-8.
 * A length mismatch is `false` (the length of a secret is not itself secret here).
 */
export function constantTimeEqual(a: Uint8Array | string, b: Uint8Array | string): boolean {
  const x = typeof a === 'string' ? Buffer.from(a, 'utf8') : a
  const y = typeof b === 'string' ? Buffer.from(b, 'utf8') : b
  if (x.length !== y.length) return false
  return timingSafeEqual(x, y)
}
