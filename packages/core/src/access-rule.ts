/**
 * Access-code kinds and the one function that decides whether a code opens the lock now.
 * Used by the lock firmware (keypad path), by the server (diagnosis, status) and by the portal.
 *
 *   decide(rule, usage, clock) → Decision     the only place that says allow or deny (fail closed)
 *   validateRule(rule)                        throws what the server must refuse before storing a code
 *   nextOpening(rule, usage, clock)           when the code will next open (just-in-time programming)
 *   windowEnd(rule, timezone?)                after which it never opens again (removal at the end)
 *
 * Windows are half open, [startsAt, endsAt), widened by the lock's grace on both sides. Weekly
 * schedules are read in the lock's time zone; see schedule.ts for days when the clocks change.
 */
import { LatchkeyError } from './errors.ts'
import {
  endOfLastDay,
  firstOccurrenceEndingAfter,
  occurrencesAround,
  parseSchedule,
  scheduleEnd,
  zoneOf,
} from './schedule.ts'

export const ACCESS_CODE_KINDS = ['permanent', 'timed', 'one_time', 'recurring'] as const
export type AccessCodeKind = (typeof ACCESS_CODE_KINDS)[number]

/** ISO weekday: 1 = Monday … 7 = Sunday. */
export type Weekday = 1 | 2 | 3 | 4 | 5 | 6 | 7

/**
 * One weekly slot in the lock's local time. `start`/`end` are "HH:MM" (24 h).
 * `end` <= `start` means the slot runs past midnight into the next day (22:00–06:00);
 * the slot belongs to the day it starts on. `end` "24:00" is allowed and means midnight.
 */
export interface WeeklySlot {
  days: Weekday[]
  start: string
  end: string
}

/** A weekly schedule, optionally bounded by local calendar dates (inclusive, "YYYY-MM-DD"). */
export interface WeeklySchedule {
  slots: WeeklySlot[]
  startsOn?: string
  endsOn?: string
}

/** What the lock needs to know to decide about one code. Times are epoch milliseconds (UTC). */
export interface AccessRule {
  kind: AccessCodeKind
  /** timed: required; one_time: optional window start. */
  startsAt?: number
  /** timed: required; one_time: optional window end. */
  endsAt?: number
  /** recurring: required. */
  schedule?: WeeklySchedule
  /** Any kind: stop after this many successful opens. one_time behaves as maxUses = 1. */
  maxUses?: number
}

/** How often the code already opened the lock. */
export interface Usage {
  uses: number
}

/** The lock's view of time. `nowMs` is null when the clock is unset (after power loss). */
export interface LockClock {
  nowMs: number | null
  /** IANA time zone of the lock, e.g. "Australia/Sydney". */
  timezone: string
  /** Grace added on both sides of every window to absorb clock drift. */
  graceMs: number
}

export const DENY_REASONS = [
  'unknown_code',
  'outside_schedule',
  'expired',
  'already_used',
  'uses_exhausted',
  'locked_out',
  'clock_not_set',
  'revoked',
] as const
export type DenyReason = (typeof DENY_REASONS)[number]

export type Decision = { allow: true } | { allow: false; reason: DenyReason }

/** Default grace for drift: 2 minutes each side of a synced code's window. */
export const DEFAULT_GRACE_MS = 2 * 60_000

/** Larger graces are clamped to this (a day of drift is already a broken clock). */
export const MAX_GRACE_MS = 24 * 60 * 60_000

const deny = (reason: DenyReason): Decision => ({ allow: false, reason })
const ALLOW: Decision = Object.freeze({ allow: true })

/** A negative, non-finite or missing grace counts as none; a huge one is clamped. */
function graceOf(clock: LockClock): number {
  const grace = clock.graceMs
  return Number.isFinite(grace) && grace > 0 ? Math.min(grace, MAX_GRACE_MS) : 0
}

/** Dates are defined within ±8.64e15 ms; a reading outside (less two days of margin) is no reading. */
const MAX_CLOCK_MS = 8.64e15 - 2 * MAX_GRACE_MS

function isClockReading(now: number | null): now is number {
  return typeof now === 'number' && Number.isFinite(now) && Math.abs(now) <= MAX_CLOCK_MS
}

const isSet = <T>(value: T | null | undefined): value is T => value !== undefined && value !== null

function isInstant(value: unknown): value is number {
  return Number.isSafeInteger(value)
}

type RuleProblem = { code: 'invalid_window' | 'invalid_schedule' | 'validation_failed'; message: string }

/** Everything validateRule refuses, as data, so that decide can refuse the same rules without throwing. */
function ruleProblem(rule: AccessRule): RuleProblem | null {
  if (rule === null || typeof rule !== 'object' || !ACCESS_CODE_KINDS.includes(rule.kind)) {
    return { code: 'validation_failed', message: `kind must be one of ${ACCESS_CODE_KINDS.join(', ')}` }
  }
  if (isSet(rule.maxUses) && !(Number.isSafeInteger(rule.maxUses) && rule.maxUses >= 1)) {
    return { code: 'validation_failed', message: 'maxUses must be a whole number of at least 1' }
  }
  const { kind, startsAt, endsAt, schedule } = rule
  if ((isSet(startsAt) && !isInstant(startsAt)) || (isSet(endsAt) && !isInstant(endsAt))) {
    return { code: 'invalid_window', message: 'startsAt and endsAt are instants in epoch milliseconds' }
  }
  const hasWindow = isSet(startsAt) || isSet(endsAt)
  if (kind !== 'recurring' && isSet(schedule)) {
    return { code: 'invalid_schedule', message: `a ${kind} code has no weekly schedule; use kind recurring` }
  }
  switch (kind) {
    case 'permanent':
      return hasWindow
        ? { code: 'invalid_window', message: 'a permanent code has no window; use kind timed' }
        : null
    case 'timed':
      if (!isSet(startsAt) || !isSet(endsAt)) {
        return { code: 'invalid_window', message: 'a timed code needs startsAt and endsAt' }
      }
      return endsAt > startsAt ? null : { code: 'invalid_window', message: 'endsAt must be after startsAt' }
    case 'one_time':
      return isSet(startsAt) && isSet(endsAt) && endsAt <= startsAt
        ? { code: 'invalid_window', message: 'endsAt must be after startsAt' }
        : null
    case 'recurring': {
      if (hasWindow) {
        return {
          code: 'invalid_window',
          message:
            'a recurring code is bounded by schedule.startsOn and schedule.endsOn, not startsAt/endsAt',
        }
      }
      const parsed = parseSchedule(schedule)
      return parsed.ok ? null : { code: 'invalid_schedule', message: parsed.message }
    }
  }
}

/**
 * Throws `invalid_window`, `invalid_schedule` or `validation_failed` (unknown kind, bad maxUses) for
 * a rule the server must not accept. The lock's time zone is checked apart, with assertTimezone.
 * decide() never allows a rule this refuses.
 */
export function validateRule(rule: AccessRule): void {
  const problem = ruleProblem(rule)
  if (problem) throw new LatchkeyError(problem.code, problem.message)
}

/** The reason uses forbid opening, or null. A corrupt counter counts as used up. */
function usageDenial(rule: AccessRule, usage: Usage): DenyReason | null {
  const uses = usage?.uses
  const valid = Number.isSafeInteger(uses) && uses >= 0
  if (rule?.kind === 'one_time' && (!valid || uses >= 1)) return 'already_used'
  if (!valid) return 'uses_exhausted'
  if (isSet(rule?.maxUses) && !(uses < rule.maxUses)) return 'uses_exhausted'
  return null
}

/** True for the kinds whose answer depends on the time: they fail closed while the clock is unset. */
function isTimeBound(rule: AccessRule): boolean {
  return (
    rule.kind !== 'permanent' && !(rule.kind === 'one_time' && !isSet(rule.startsAt) && !isSet(rule.endsAt))
  )
}

/**
 * Whether the code opens now. In this order:
 *   one_time already used → already_used; maxUses reached → uses_exhausted;
 *   permanent (and one_time without a window) → allow, even with the clock unset;
 *   clock unset → clock_not_set;
 *   timed / one_time window: before startsAt − grace → outside_schedule, from endsAt + grace → expired;
 *   recurring: inside a slot widened by grace → allow; from midnight after endsOn (+ grace) → expired;
 *     otherwise outside_schedule (also before startsOn).
 * A rule validateRule refuses, or a recurring rule with an unknown time zone, is outside_schedule.
 */
export function decide(rule: AccessRule, usage: Usage, clock: LockClock): Decision {
  const used = usageDenial(rule, usage)
  if (used) return deny(used)
  if (ruleProblem(rule)) return deny('outside_schedule')
  if (!isTimeBound(rule)) return ALLOW
  const now = clock.nowMs
  if (!isClockReading(now)) return deny('clock_not_set')
  const grace = graceOf(clock)
  if (rule.kind === 'recurring') {
    try {
      return decideRecurring(rule, now, grace, clock.timezone)
    } catch {
      // The keypad path must answer: a zone the time library cannot place is a closed door.
      return deny('outside_schedule')
    }
  }
  if (isSet(rule.startsAt) && now < rule.startsAt - grace) return deny('outside_schedule')
  if (isSet(rule.endsAt) && now >= rule.endsAt + grace) return deny('expired')
  return ALLOW
}

function recurringParts(rule: AccessRule, timezone: string) {
  const parsed = parseSchedule(rule.schedule)
  const zone = zoneOf(timezone)
  return parsed.ok && zone ? { schedule: parsed.schedule, zone } : null
}

function decideRecurring(rule: AccessRule, now: number, grace: number, timezone: string): Decision {
  const parts = recurringParts(rule, timezone)
  if (!parts) return deny('outside_schedule')
  const { schedule, zone } = parts
  for (const { start, end } of occurrencesAround(zone, schedule, now - grace, now + grace)) {
    if (start - grace <= now && now < end + grace) return ALLOW
  }
  const lastDayEnd = endOfLastDay(zone, schedule)
  return lastDayEnd !== null && now >= lastDayEnd + grace ? deny('expired') : deny('outside_schedule')
}

/** Local dates scanned for the next weekly slot: two weeks, enough for every weekday twice. */
const NEXT_OPENING_SCAN_DAYS = 16

/**
 * The first instant at or after the clock's now at which decide() would allow (now itself when it
 * allows already), taking the lock's grace into account; null when the code will never open again
 * (used up, expired, invalid rule, unknown zone) or when the clock is unset.
 */
export function nextOpening(rule: AccessRule, usage: Usage, clock: LockClock): number | null {
  const now = clock.nowMs
  if (!isClockReading(now) || ruleProblem(rule) || usageDenial(rule, usage)) return null
  if (!isTimeBound(rule)) return now
  const grace = graceOf(clock)
  if (rule.kind === 'recurring') {
    const parts = recurringParts(rule, clock.timezone)
    if (!parts) return null
    const next = firstOccurrenceEndingAfter(parts.zone, parts.schedule, now - grace, NEXT_OPENING_SCAN_DAYS)
    return next ? Math.max(now, next.start - grace) : null
  }
  if (isSet(rule.endsAt) && now >= rule.endsAt + grace) return null
  return isSet(rule.startsAt) ? Math.max(now, rule.startsAt - grace) : now
}

/** The zone with the latest local midnight on Earth (UTC−12): a bound that holds for every lock. */
const LATEST_ZONE = 'Etc/GMT+12'

/**
 * The end (exclusive) of the code's last window, before grace: from windowEnd + graceMs on, decide()
 * never allows. Null when time never ends the code (permanent, one_time without endsAt, recurring
 * without endsOn). For a recurring code this is midnight after endsOn in the lock's zone, or the end of
 * a slot that started on endsOn and runs past it; without `timezone` the latest such instant in any
 * zone is returned, which is never too early. Throws like validateRule for an invalid rule.
 */
export function windowEnd(rule: AccessRule, timezone?: string): number | null {
  validateRule(rule)
  if (rule.kind === 'timed' || rule.kind === 'one_time') return rule.endsAt ?? null
  if (rule.kind === 'permanent') return null
  const parts = recurringParts(rule, timezone ?? LATEST_ZONE)
  if (!parts) {
    throw new LatchkeyError('invalid_timezone', `unknown time zone ${JSON.stringify(timezone)}`)
  }
  return scheduleEnd(parts.zone, parts.schedule)
}
