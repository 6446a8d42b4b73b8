/**
 * Everything the lock keeps in flash, as one plain JSON object. Each concept (code table, offline
 * codes, lockout, clock, event ring) owns one slice and is a set of functions over it, so the whole
 * state can be written atomically after every change and read back on start.
 */

import type { AccessRule, OfflineKind } from '@latchkey/core'
import { DEFAULT_GRACE_MS, LatchkeyError } from '@latchkey/core'
import type { LockEvent, ProvisioningBundle, TableEntry } from '@latchkey/protocol'
import { ZLockEvent, ZTableEntry } from '@latchkey/protocol'

export const STATE_VERSION = 1

/**
 * The real-time clock, battery-backed: `base` is the value it showed at one instant of the world,
 * from which it runs at (1 + driftPpm·10⁻⁶). `base` is null when the clock is unset.
 */
export interface RtcState {
  base: { worldMs: number; valueMs: number } | null
  driftPpm: number
}

/** A one-time offline code that has opened the lock once (the one-time ledger). */
export interface LedgerEntry {
  /** Keyed hash of the digits (the digits themselves are never stored). */
  pinHash: string
  h: number
  startsAt: number
  endsAt: number | null
  usedAt: number
}

/** A timed or permanent offline code after its first use: it keeps working until its end. */
export interface ActivatedEntry {
  pinHash: string
  h: number
  kind: Exclude<OfflineKind, 'one_time'>
  startsAt: number
  endsAt: number | null
  firstUsedAt: number
  uses: number
}

export interface LockoutState {
  /** Consecutive wrong entries since the last success or the end of the last lockout. */
  wrong: number
  /** How many lockouts in a row (the next one lasts 60 s · 2^level, at most 1 h). */
  level: number
  /** World instant when the keypad works again (the lock's own timer; it does not need the RTC). */
  untilWorldMs: number | null
}

export interface EventRingState {
  nextSeq: number
  /** Unacknowledged events, oldest first (acknowledged ones are dropped at once). */
  items: LockEvent[]
  /** Events that found the ring full of unacknowledged events, not yet reported by `events_lost`. */
  lost: number
}

export interface LockState {
  v: typeof STATE_VERSION
  lockId: string
  /** Fingerprint of the provisioning secret: a new bundle for the same id starts from a fresh lock. */
  secretFingerprint: string
  settings: { timezone: string; graceMs: number }
  /** Last command counter accepted (down) and last counter used for a message up. */
  counters: { rx: number; tx: number }
  rtc: RtcState
  codes: TableEntry[]
  offline: { oneTime: LedgerEntry[]; activated: ActivatedEntry[] }
  ekeys: { revoked: string[]; usedOneTime: Array<{ keyId: string; notAfter: number }> }
  lockout: LockoutState
  events: EventRingState
}

export interface NewStateOptions {
  secretFingerprint: string
  graceMs?: number
}

export function newState(bundle: ProvisioningBundle, options: NewStateOptions): LockState {
  return {
    v: STATE_VERSION,
    lockId: bundle.lockId,
    secretFingerprint: options.secretFingerprint,
    settings: { timezone: bundle.timezone, graceMs: options.graceMs ?? DEFAULT_GRACE_MS },
    counters: { rx: 0, tx: 0 },
    rtc: { base: null, driftPpm: 0 },
    codes: [],
    offline: { oneTime: [], activated: [] },
    ekeys: { revoked: [], usedOneTime: [] },
    lockout: { wrong: 0, level: 0, untilWorldMs: null },
    events: { nextSeq: 1, items: [], lost: 0 },
  }
}

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v)
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v)
const isIntOrNull = (v: unknown): v is number | null => v === null || isInt(v)
const isObj = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)

function corrupt(what: string): never {
  throw new LatchkeyError('internal', `lock state is corrupt: ${what}`)
}

function check(ok: boolean, what: string): void {
  if (!ok) corrupt(what)
}

/** Validates a state read back from flash; throws LatchkeyError 'internal' when it is not one. */
export function parseState(value: unknown): LockState {
  if (!isObj(value)) corrupt('not an object')
  const s = value
  check(s.v === STATE_VERSION, 'unknown version')
  check(typeof s.lockId === 'string' && typeof s.secretFingerprint === 'string', 'identity')
  const settings = s.settings
  check(isObj(settings) && typeof settings.timezone === 'string' && isInt(settings.graceMs), 'settings')
  const counters = s.counters
  check(isObj(counters) && isInt(counters.rx) && isInt(counters.tx), 'counters')
  const rtc = s.rtc
  check(isObj(rtc) && isNum(rtc.driftPpm), 'clock')
  const base = (rtc as Record<string, unknown>).base
  check(base === null || (isObj(base) && isNum(base.worldMs) && isNum(base.valueMs)), 'clock base')
  check(Array.isArray(s.codes) && s.codes.every((c) => ZTableEntry.safeParse(c).success), 'code table')
  const offline = s.offline
  check(isObj(offline) && Array.isArray(offline.oneTime) && Array.isArray(offline.activated), 'offline codes')
  const o = offline as { oneTime: unknown[]; activated: unknown[] }
  const recorded = (e: unknown): boolean =>
    isObj(e) && typeof e.pinHash === 'string' && isInt(e.h) && isInt(e.startsAt) && isIntOrNull(e.endsAt)
  check(
    o.oneTime.every((e) => recorded(e) && isInt((e as Record<string, unknown>).usedAt)),
    'one-time ledger',
  )
  check(
    o.activated.every((e) => {
      const r = e as Record<string, unknown>
      return (
        recorded(e) && (r.kind === 'timed' || r.kind === 'permanent') && isInt(r.firstUsedAt) && isInt(r.uses)
      )
    }),
    'activated offline codes',
  )
  const ekeys = s.ekeys
  check(isObj(ekeys) && Array.isArray(ekeys.revoked) && Array.isArray(ekeys.usedOneTime), 'eKeys')
  const e = ekeys as { revoked: unknown[]; usedOneTime: unknown[] }
  check(
    e.revoked.every((k) => typeof k === 'string') &&
      e.usedOneTime.every((k) => isObj(k) && typeof k.keyId === 'string' && isNum(k.notAfter)),
    'eKey lists',
  )
  const lockout = s.lockout
  check(isObj(lockout) && isInt(lockout.wrong) && isInt(lockout.level), 'lockout')
  check(isIntOrNull((lockout as Record<string, unknown>).untilWorldMs), 'lockout end')
  const events = s.events
  check(
    isObj(events) && isInt(events.nextSeq) && isInt(events.lost) && Array.isArray(events.items),
    'event ring',
  )
  check(
    (events as { items: unknown[] }).items.every((ev) => ZLockEvent.safeParse(ev).success),
    'event ring entries',
  )
  return value as unknown as LockState
}

/** A code's rule as stored: the fields of AccessRule only, without undefined keys. */
export function cleanRule(rule: AccessRule): AccessRule {
  const out: AccessRule = { kind: rule.kind }
  if (rule.startsAt !== undefined) out.startsAt = rule.startsAt
  if (rule.endsAt !== undefined) out.endsAt = rule.endsAt
  if (rule.schedule !== undefined) out.schedule = rule.schedule
  if (rule.maxUses !== undefined) out.maxUses = rule.maxUses
  return out
}
