/**
 * Offline PIN scheme v1 (SPEC §6). A 10-digit code `H‖T`:
 *   H (2 digits) indexes OFFLINE_TABLE: (kind × duration class × nonce);
 *   T (8 digits) = HMAC-SHA256(K_pin, utf8(lockId) ‖ byte(H) ‖ uint32be(startHour)) mod 10^8,
 *   startHour = hours since the Unix epoch of the code's start (UTC, hour precision).
 * The lock tries each start hour s with  now − firstUseLimit − grace ≤ s·1h ≤ now + grace
 * (firstUseLimit: 24 h, one-time 6 h), so it needs no message from the server.
 *
 * HMAC is injected (`Hmac`) so this module stays free of Node APIs: the lock and the server pass
 * node:crypto's HMAC (see @latchkey/protocol `hmacSha256`).
 *
 * OFFLINE_TABLE (index = H, 0..99; entries not in use are null), `issueOfflinePin` (throws
 * LatchkeyError) and `verifyOfflinePin`.
 */

import { LatchkeyError } from './errors.ts'

export type Hmac = (key: Uint8Array, message: Uint8Array) => Uint8Array

export type OfflineKind = 'one_time' | 'timed' | 'permanent'

export interface OfflineClass {
  h: number
  kind: OfflineKind
  /** Validity after the start hour in ms; null for permanent. */
  durationMs: number | null
  nonce: number
}

export const HOUR_MS = 3_600_000
/** First use must fall within this time of the start. */
export const FIRST_USE_LIMIT_MS: Record<OfflineKind, number> = {
  one_time: 6 * HOUR_MS,
  timed: 24 * HOUR_MS,
  permanent: 24 * HOUR_MS,
}
/** Grace for drift on both sides of an offline window (the lock's clock may be off by this much). */
export const OFFLINE_GRACE_MS = HOUR_MS

export interface IssueOfflinePinInput {
  hmac: Hmac
  pinKey: Uint8Array
  lockId: string
  kind: OfflineKind
  /** Requested start; floored to the hour. */
  startsAt: number
  /** Requested end (timed only); the smallest duration class that covers it is used. */
  endsAt?: number
  /** Every PIN currently live on this lock (synced PINs and offline codes): the new one must differ. */
  livePins: ReadonlySet<string>
}

export interface IssuedOfflinePin {
  pin: string
  h: number
  kind: OfflineKind
  /** Effective window (hour precision). endsAt is null for permanent. */
  startsAt: number
  endsAt: number | null
  /** The code must be typed for the first time before this instant. */
  firstUseBy: number
  /** How many nonces were tried because of collisions (0 = the first one). */
  collisionsAvoided: number
}

export interface VerifyOfflinePinInput {
  hmac: Hmac
  pinKey: Uint8Array
  lockId: string
  digits: string
  nowMs: number
  graceMs?: number
}

export type OfflineVerification =
  | {
      result: 'match'
      code: { h: number; kind: OfflineKind; startsAt: number; endsAt: number | null }
      hmacs: number
    }
  | {
      result: 'expired'
      code: { h: number; kind: OfflineKind; startsAt: number; endsAt: number | null }
      hmacs: number
    }
  | { result: 'no_match'; hmacs: number }

/** SPEC §6: the lock never computes more than this many HMACs for one typed code. */
export const MAX_OFFLINE_HMACS = 32
/** The largest grace that keeps a 24 h search within MAX_OFFLINE_HMACS start hours. */
export const MAX_OFFLINE_GRACE_MS = 3.5 * HOUR_MS

const DAY_MS = 24 * HOUR_MS
/** One-time codes open at most once, within 6 h of their start. */
export const OFFLINE_ONE_TIME_DURATION_MS = 6 * HOUR_MS
/** Duration classes of timed offline codes, shortest first. */
export const OFFLINE_TIMED_DURATIONS_MS: readonly number[] = Object.freeze([
  ...[1, 2, 3, 4, 6, 8, 12].map((h) => h * HOUR_MS),
  ...[1, 2, 3, 5, 7, 14, 30, 60, 90, 180, 365].map((d) => d * DAY_MS),
])
/** How many nonces (alternative codes for the same start) each class has. */
export const OFFLINE_NONCES: Readonly<Record<OfflineKind, number>> = Object.freeze({
  one_time: 10,
  permanent: 10,
  timed: 4,
})

const MAX_START_HOUR = 2 ** 32 - 1
const T_MODULUS = 100_000_000

function buildTable(): readonly (OfflineClass | null)[] {
  const entries: (OfflineClass | null)[] = []
  const add = (kind: OfflineKind, durationMs: number | null) => {
    for (let nonce = 0; nonce < OFFLINE_NONCES[kind]; nonce++) {
      entries.push(Object.freeze({ h: entries.length, kind, durationMs, nonce }))
    }
  }
  add('one_time', OFFLINE_ONE_TIME_DURATION_MS)
  add('permanent', null)
  for (const durationMs of OFFLINE_TIMED_DURATIONS_MS) add('timed', durationMs)
  while (entries.length < 100) entries.push(null)
  if (entries.length !== 100) throw new Error('offline table must have exactly 100 entries')
  return Object.freeze(entries)
}

/**
 * H → class. H 00–09 one-time (6 h), 10–19 permanent, 20–91 timed (18 duration classes × 4 nonces,
 * shortest first), 92–99 unused (typing such an H costs no HMAC and never opens).
 */
export const OFFLINE_TABLE: readonly (OfflineClass | null)[] = buildTable()

/**
 * The most start hours the lock tries for one typed code of this kind: every hour-aligned s with
 * now − firstUseLimit − grace ≤ s ≤ now + grace (the worst case is `now` exactly on the hour).
 */
export function offlineCandidateCount(kind: OfflineKind, graceMs: number = OFFLINE_GRACE_MS): number {
  return Math.floor((FIRST_USE_LIMIT_MS[kind] + 2 * checkGrace(graceMs)) / HOUR_MS) + 1
}

/**
 * Upper bound on the probability that one uniformly random 10-digit entry opens the lock through
 * the offline scheme: Σ over H of (start hours tried for H) / 10^8, divided by 100 values of H.
 * It counts every tried start hour, even those whose code would be `expired`, so it is an upper bound
 * whatever the issued codes are: the lock does not know which codes were issued.
 */
export function offlineFalseAcceptRate(graceMs: number = OFFLINE_GRACE_MS): number {
  let candidates = 0
  for (const entry of OFFLINE_TABLE) if (entry) candidates += offlineCandidateCount(entry.kind, graceMs)
  return candidates / 100 / 1e8
}

/**
 * When a code may be typed for the first time: [start − grace, min(start + duration, start +
 * firstUseLimit) + grace], both ends included. After a first use the lock remembers the code, which
 * then stays valid until its end + grace (the lock's activated table or one-time ledger).
 */
export function offlineFirstUseWindow(
  code: { kind: OfflineKind; startsAt: number; endsAt: number | null },
  graceMs: number = OFFLINE_GRACE_MS,
): { fromMs: number; toMs: number } {
  const grace = checkGrace(graceMs)
  const limit = code.startsAt + FIRST_USE_LIMIT_MS[code.kind]
  const last = code.endsAt === null ? limit : Math.min(code.endsAt, limit)
  return { fromMs: code.startsAt - grace, toMs: last + grace }
}

function checkGrace(graceMs: number | undefined): number {
  const grace = graceMs ?? OFFLINE_GRACE_MS
  if (!Number.isInteger(grace) || grace < 0 || grace > MAX_OFFLINE_GRACE_MS) {
    throw new LatchkeyError(
      'validation_failed',
      `offline grace must be a whole number of ms between 0 and ${MAX_OFFLINE_GRACE_MS}, got ${graceMs}`,
    )
  }
  return grace
}

// The bound SPEC §6 asks for, checked once when the module loads.
if (
  offlineCandidateCount('timed', OFFLINE_GRACE_MS) !== 27 ||
  offlineCandidateCount('timed', MAX_OFFLINE_GRACE_MS) > MAX_OFFLINE_HMACS
) {
  throw new Error('offline PIN search exceeds the HMAC budget')
}

const encoder = new TextEncoder()

/** Computes T for one H over successive start hours, reusing one message buffer. */
class CodeDeriver {
  readonly #hmac: Hmac
  readonly #pinKey: Uint8Array
  readonly #message: Uint8Array
  readonly #view: DataView
  readonly #hourOffset: number

  constructor(hmac: Hmac, pinKey: Uint8Array, lockId: string, h: number) {
    this.#hmac = hmac
    this.#pinKey = pinKey
    const id = encoder.encode(lockId)
    this.#message = new Uint8Array(id.length + 5)
    this.#message.set(id, 0)
    this.#message[id.length] = h
    this.#hourOffset = id.length + 1
    this.#view = new DataView(this.#message.buffer)
  }

  /** T for start hour `hour` (hours since the epoch), as a number below 10^8. */
  code(hour: number): number {
    this.#view.setUint32(this.#hourOffset, hour)
    const mac = this.#hmac(this.#pinKey, this.#message)
    if (mac.length < 8) throw new Error('HMAC output shorter than 8 bytes')
    const hi = ((mac[0]! << 24) | (mac[1]! << 16) | (mac[2]! << 8) | mac[3]!) >>> 0
    const lo = ((mac[4]! << 24) | (mac[5]! << 16) | (mac[6]! << 8) | mac[7]!) >>> 0
    // (hi·2^32 + lo) mod 10^8 in exact double arithmetic: every intermediate stays below 2^53.
    return ((((hi % T_MODULUS) * 65_536) % T_MODULUS) * 65_536 + lo) % T_MODULUS
  }
}

const T_DIGITS = 8

/** The 8 typed digits of T, most significant first. */
function digitsOf(t: string): number[] {
  return Array.from(t, (c) => c.charCodeAt(0) - 48)
}

/** Compares T with the typed digits, every digit, without an early exit. */
function sameDigits(t: number, typed: readonly number[]): boolean {
  let diff = 0
  let rest = t
  for (let i = T_DIGITS - 1; i >= 0; i--) {
    const digit = rest % 10
    diff |= digit ^ typed[i]!
    rest = (rest - digit) / 10
  }
  return diff === 0
}

function describe(entry: OfflineClass, startsAt: number) {
  return {
    h: entry.h,
    kind: entry.kind,
    startsAt,
    endsAt: entry.durationMs === null ? null : startsAt + entry.durationMs,
  }
}

function hourRange(fromMs: number, toMs: number): { first: number; last: number } {
  return {
    first: Math.max(0, Math.ceil(fromMs / HOUR_MS)),
    last: Math.min(MAX_START_HOUR, Math.floor(toMs / HOUR_MS)),
  }
}

const TEN_DIGITS = /^[0-9]{10}$/

/**
 * What the lock does with 10 typed digits. Pure: the lock itself remembers codes after their first
 * use (activated table, one-time ledger). Start hours are tried newest first; the first one whose
 * window contains `now` wins, a code found only outside its window is `expired`.
 */
export function verifyOfflinePin(input: VerifyOfflinePinInput): OfflineVerification {
  const grace = checkGrace(input.graceMs)
  const { digits, nowMs } = input
  if (!TEN_DIGITS.test(digits) || !Number.isFinite(nowMs)) return { result: 'no_match', hmacs: 0 }
  const entry = OFFLINE_TABLE[Number(digits.slice(0, 2))]
  if (!entry) return { result: 'no_match', hmacs: 0 }
  const typed = digitsOf(digits.slice(2))
  const deriver = new CodeDeriver(input.hmac, input.pinKey, input.lockId, entry.h)
  const { first, last } = hourRange(nowMs - FIRST_USE_LIMIT_MS[entry.kind] - grace, nowMs + grace)
  let hmacs = 0
  let expired: ReturnType<typeof describe> | null = null
  for (let hour = last; hour >= first; hour--) {
    hmacs++
    if (!sameDigits(deriver.code(hour), typed)) continue
    const code = describe(entry, hour * HOUR_MS)
    const inWindow = code.startsAt - grace <= nowMs && (code.endsAt === null || nowMs <= code.endsAt + grace)
    if (inWindow) return { result: 'match', code, hmacs }
    expired ??= code
  }
  if (hmacs > MAX_OFFLINE_HMACS) throw new LatchkeyError('internal', `offline PIN search took ${hmacs} HMACs`)
  return expired ? { result: 'expired', code: expired, hmacs } : { result: 'no_match', hmacs }
}

function durationFor(
  kind: OfflineKind,
  startsAt: number,
  requestedStart: number,
  endsAt: number | undefined,
): number | null {
  if (kind === 'permanent') return null
  if (kind === 'one_time') return OFFLINE_ONE_TIME_DURATION_MS
  if (endsAt === undefined || !Number.isFinite(endsAt) || endsAt <= requestedStart) {
    throw new LatchkeyError('invalid_window', 'a timed offline code needs an end after its start')
  }
  const needed = endsAt - startsAt
  const durationMs = OFFLINE_TIMED_DURATIONS_MS.find((d) => d >= needed)
  if (durationMs === undefined) {
    throw new LatchkeyError(
      'invalid_window',
      'an offline code can last at most 365 days; use a synced code for longer',
    )
  }
  return durationMs
}

/**
 * Chooses the code the server hands out. Start is floored to the hour; a timed code gets the
 * smallest duration class covering the request. Nonces are tried in order until the code is not
 * live on the lock and no other start hour the lock could try during the code's first-use window
 * yields the same digits (so the lock always identifies exactly this code).
 */
export function issueOfflinePin(input: IssueOfflinePinInput): IssuedOfflinePin {
  // The issuer searches what the lock searches: a lock verifies with OFFLINE_GRACE_MS.
  const grace = OFFLINE_GRACE_MS
  const { kind } = input
  if (!Number.isFinite(input.startsAt))
    throw new LatchkeyError('invalid_window', 'an offline code needs a start time')
  const hour = Math.floor(input.startsAt / HOUR_MS)
  if (hour < 0 || hour > MAX_START_HOUR) throw new LatchkeyError('invalid_window', 'start time out of range')
  const startsAt = hour * HOUR_MS
  const durationMs = durationFor(kind, startsAt, input.startsAt, input.endsAt)
  const endsAt = durationMs === null ? null : startsAt + durationMs
  const window = offlineFirstUseWindow({ kind, startsAt, endsAt }, grace)
  // Every start hour the lock searches at some instant of the first-use window.
  const { first, last } = hourRange(window.fromMs - FIRST_USE_LIMIT_MS[kind] - grace, window.toMs + grace)
  const entries = OFFLINE_TABLE.filter(
    (e): e is OfflineClass => e !== null && e.kind === kind && e.durationMs === durationMs,
  )
  for (const [tried, entry] of entries.entries()) {
    const deriver = new CodeDeriver(input.hmac, input.pinKey, input.lockId, entry.h)
    const t = deriver.code(hour)
    const pin = String(entry.h).padStart(2, '0') + String(t).padStart(T_DIGITS, '0')
    if (input.livePins.has(pin)) continue
    let ambiguous = false
    for (let other = first; other <= last && !ambiguous; other++) {
      if (other !== hour && deriver.code(other) === t) ambiguous = true
    }
    if (ambiguous) continue
    return {
      pin,
      h: entry.h,
      kind,
      startsAt,
      endsAt,
      firstUseBy: window.toMs - grace,
      collisionsAvoided: tried,
    }
  }
  throw new LatchkeyError(
    'offline_code_unavailable',
    'every offline code for this start collides with a live code on the lock; choose another start hour or a synced code',
  )
}
