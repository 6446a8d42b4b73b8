/**
 * Offline codes after their first use (SPEC §6). Nothing is sent to the lock for an offline code;
 * the first time one is typed the lock verifies it from its secret and records it:
 * - a one-time code in the one-time ledger, so a second use is `already_used`;
 * - a timed or permanent code in the activated table, so it keeps working after the 24 h first-use
 *   limit (the verifier only searches start hours up to 24 h back) until its end.
 *
 * Both tables hold a keyed hash of the digits, never the digits, and share the model's ledger
 * capacity each. A full table refuses a new code rather than evict an entry that is still valid:
 * evicting a one-time code would make it open a second time. An entry is purged only once it can no
 * longer be verified at all (past its end and past its first-use limit, with the offline grace).
 */

import type { OfflineKind } from '@latchkey/core'
import { FIRST_USE_LIMIT_MS, OFFLINE_GRACE_MS } from '@latchkey/core'
import { hmacSha256 } from '@latchkey/protocol'
import { sameSecret } from './constant-time.ts'
import type { ActivatedEntry, LedgerEntry, LockState } from './state.ts'

const encoder = new TextEncoder()

/** The key that hashes recorded offline codes: derived from the PIN key, used for nothing else. */
export function recordKey(pinKey: Uint8Array): Uint8Array {
  return hmacSha256(pinKey, encoder.encode('latchkey lock: recorded offline codes v1'))
}

/** Length of a recorded hash: base64 of 32 bytes. */
const HASH_CHARS = 44

export function pinHash(key: Uint8Array, digits: string): string {
  return Buffer.from(hmacSha256(key, encoder.encode(digits))).toString('base64')
}

export interface OfflineCode {
  h: number
  kind: OfflineKind
  startsAt: number
  endsAt: number | null
}

export type Recorded =
  | { table: 'one_time'; entry: LedgerEntry }
  | { table: 'activated'; entry: ActivatedEntry }

/** The recorded entry with this hash, comparing against every entry of both tables. */
export function findRecorded(offline: LockState['offline'], hash: string): Recorded | undefined {
  let found: Recorded | undefined
  for (const entry of offline.oneTime) {
    if (sameSecret(entry.pinHash, hash, HASH_CHARS) && !found) found = { table: 'one_time', entry }
  }
  for (const entry of offline.activated) {
    if (sameSecret(entry.pinHash, hash, HASH_CHARS) && !found) found = { table: 'activated', entry }
  }
  return found
}

/** The instant after which the verifier can no longer match this code (so its record may go). */
function unverifiableAfter(code: { startsAt: number; endsAt: number | null }, kind: OfflineKind): number {
  if (code.endsAt === null) return Number.POSITIVE_INFINITY
  return Math.max(code.endsAt, code.startsAt + FIRST_USE_LIMIT_MS[kind]) + OFFLINE_GRACE_MS
}

/** Drops records that can no longer matter at this lock time. */
export function purgeRecorded(offline: LockState['offline'], nowMs: number): void {
  offline.oneTime = offline.oneTime.filter((e) => nowMs <= unverifiableAfter(e, 'one_time'))
  offline.activated = offline.activated.filter((e) => nowMs <= unverifiableAfter(e, e.kind))
}

/** Records the first use of an offline code. Returns false when the table is full of live entries. */
export function recordFirstUse(
  offline: LockState['offline'],
  capacity: number,
  hash: string,
  code: OfflineCode,
  nowMs: number,
): boolean {
  purgeRecorded(offline, nowMs)
  if (code.kind === 'one_time') {
    if (offline.oneTime.length >= capacity) return false
    offline.oneTime.push({
      pinHash: hash,
      h: code.h,
      startsAt: code.startsAt,
      endsAt: code.endsAt,
      usedAt: nowMs,
    })
    return true
  }
  if (offline.activated.length >= capacity) return false
  offline.activated.push({
    pinHash: hash,
    h: code.h,
    kind: code.kind,
    startsAt: code.startsAt,
    endsAt: code.endsAt,
    firstUsedAt: nowMs,
    uses: 1,
  })
  return true
}

/**
 * Whether an activated code opens at this lock time: its window widened by the offline grace, both
 * ends included (as the offline verifier does).
 */
export function activatedDecision(
  entry: ActivatedEntry,
  nowMs: number | null,
): { allow: true } | { allow: false; reason: 'clock_not_set' | 'outside_schedule' | 'expired' } {
  if (entry.endsAt === null) return { allow: true }
  if (nowMs === null) return { allow: false, reason: 'clock_not_set' }
  if (nowMs < entry.startsAt - OFFLINE_GRACE_MS) return { allow: false, reason: 'outside_schedule' }
  if (nowMs > entry.endsAt + OFFLINE_GRACE_MS) return { allow: false, reason: 'expired' }
  return { allow: true }
}
