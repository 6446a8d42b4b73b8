/**
 * Weekly schedules in the lock's local time (SPEC §3, recurring codes), turned into real instants
 * with luxon.
 *
 * Local time → instant: a local time maps to the FIRST instant at which the lock's wall clock shows
 * that time or later. Hence, on a day the clocks change:
 *   - spring forward (a gap, e.g. 02:00–03:00 does not exist in Berlin on the last Sunday of March):
 *     a time inside the gap maps to the instant of the jump, so a slot starting 02:30 opens when the
 *     clocks jump to 03:00, and a slot lying wholly inside the gap does not occur that day;
 *   - fall back (a fold, e.g. 02:00–03:00 happens twice in Berlin on the last Sunday of October):
 *     a repeated time maps to its first pass, for the start and the end of a slot alike, so
 *     01:00–04:00 lasts 4 real hours and 02:15–02:45 lasts 30 minutes (during the first pass).
 * The mapping never goes backwards (a later local time never maps to an earlier instant), so a slot
 * can shrink on a transition night but never turns inside out; on every other day a slot is exactly
 * its local hours (Tue 09:00–12:00 is 09:00–12:00 on the wall clock in winter and in summer).
 */
import { DateTime, IANAZone } from 'luxon'
import type { Weekday, WeeklySchedule } from './access-rule.ts'
import { LatchkeyError } from './errors.ts'

export const MAX_SCHEDULE_SLOTS = 14
export const MINUTES_PER_DAY = 24 * 60

const MINUTE_MS = 60_000
const DAY_MS = 24 * 60 * MINUTE_MS
const HHMM = /^([01]\d|2[0-3]):([0-5]\d)$/
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/

/** A calendar date with no zone: luxon DateTime at 00:00 UTC, used only for its year, month, day, weekday. */
export type LocalDate = DateTime

export interface ParsedSlot {
  days: ReadonlySet<Weekday>
  /** Minutes after local midnight of the day the slot starts on, 0 … 1439. */
  startMinute: number
  /** Minutes after local midnight of the same day; > startMinute, at most 2 × 1440 (past midnight). */
  endMinute: number
}

export interface ParsedSchedule {
  slots: readonly ParsedSlot[]
  startsOn: LocalDate | null
  endsOn: LocalDate | null
}

export type ScheduleParse = { ok: true; schedule: ParsedSchedule } | { ok: false; message: string }

/** Checking a zone name builds an Intl formatter (slow), so answers are remembered. */
const zoneValidity = new Map<string, boolean>()
const ZONE_CACHE_SIZE = 1024

export function isValidTimezone(timezone: unknown): timezone is string {
  if (typeof timezone !== 'string' || timezone.length === 0 || timezone.length > 64) return false
  let valid = zoneValidity.get(timezone)
  if (valid === undefined) {
    valid = IANAZone.isValidZone(timezone)
    if (zoneValidity.size >= ZONE_CACHE_SIZE) zoneValidity.clear()
    zoneValidity.set(timezone, valid)
  }
  return valid
}

/** Throws `invalid_timezone` unless `timezone` is an IANA zone name (e.g. "Australia/Sydney"). */
export function assertTimezone(timezone: unknown): asserts timezone is string {
  if (!isValidTimezone(timezone)) {
    throw new LatchkeyError(
      'invalid_timezone',
      `unknown time zone ${JSON.stringify(timezone)}; use an IANA name such as "Europe/Berlin"`,
    )
  }
}

/** The zone, or null when the name is not a known IANA zone. */
export function zoneOf(timezone: unknown): IANAZone | null {
  return isValidTimezone(timezone) ? IANAZone.create(timezone) : null
}

export function parseLocalDate(value: unknown): LocalDate | null {
  if (typeof value !== 'string' || !ISO_DATE.test(value)) return null
  const date = DateTime.fromISO(value, { zone: 'utc' })
  return date.isValid ? date : null
}

function parseTime(value: unknown, allowMidnightEnd: boolean): number | null {
  if (typeof value !== 'string') return null
  if (allowMidnightEnd && value === '24:00') return MINUTES_PER_DAY
  const match = HHMM.exec(value)
  return match ? Number(match[1]) * 60 + Number(match[2]) : null
}

/** Checks a schedule completely; never throws. */
export function parseSchedule(schedule: WeeklySchedule | undefined | null): ScheduleParse {
  const fail = (message: string): ScheduleParse => ({ ok: false, message })
  if (schedule === null || typeof schedule !== 'object')
    return fail('a recurring code needs a weekly schedule')
  if (!Array.isArray(schedule.slots) || schedule.slots.length === 0) {
    return fail('a weekly schedule needs at least one slot')
  }
  if (schedule.slots.length > MAX_SCHEDULE_SLOTS) {
    return fail(`a weekly schedule has at most ${MAX_SCHEDULE_SLOTS} slots`)
  }
  const slots: ParsedSlot[] = []
  for (const [index, slot] of schedule.slots.entries()) {
    const where = `slot ${index + 1}`
    if (slot === null || typeof slot !== 'object') return fail(`${where} is not a slot`)
    if (!Array.isArray(slot.days) || slot.days.length === 0) return fail(`${where} has no days`)
    if (!slot.days.every((day) => Number.isInteger(day) && day >= 1 && day <= 7)) {
      return fail(`${where}: days are 1 (Monday) to 7 (Sunday)`)
    }
    const startMinute = parseTime(slot.start, false)
    if (startMinute === null) return fail(`${where}: start must be HH:MM between 00:00 and 23:59`)
    const end = parseTime(slot.end, true)
    if (end === null) return fail(`${where}: end must be HH:MM between 00:00 and 24:00`)
    // An end at or before the start runs past midnight into the next day.
    const endMinute = end > startMinute ? end : end + MINUTES_PER_DAY
    slots.push({ days: new Set(slot.days), startMinute, endMinute })
  }
  let startsOn: LocalDate | null = null
  let endsOn: LocalDate | null = null
  if (schedule.startsOn != null) {
    startsOn = parseLocalDate(schedule.startsOn)
    if (!startsOn) return fail('startsOn must be a date YYYY-MM-DD')
  }
  if (schedule.endsOn != null) {
    endsOn = parseLocalDate(schedule.endsOn)
    if (!endsOn) return fail('endsOn must be a date YYYY-MM-DD')
  }
  if (startsOn && endsOn) {
    if (endsOn.toMillis() < startsOn.toMillis()) return fail('endsOn is before startsOn')
    // A range shorter than a week may miss every day of the schedule.
    let opens = false
    for (
      let day = startsOn, n = 0;
      day.toMillis() <= endsOn.toMillis() && n < 7 && !opens;
      day = addDays(day, 1), n++
    ) {
      opens = slots.some((slot) => slot.days.has(day.weekday as Weekday))
    }
    if (!opens) return fail('none of the schedule’s days falls between startsOn and endsOn')
  }
  return { ok: true, schedule: { slots, startsOn, endsOn } }
}

/** Wall-clock reading of the lock at `ms`, as if it were UTC. */
function wallMs(zone: IANAZone, ms: number): number {
  return ms + zone.offset(ms) * MINUTE_MS
}

/**
 * The first instant at which the wall clock in `zone` shows `minutes` after midnight of `date`
 * (minutes may exceed a day: 1440 is midnight at the end of `date`) or a later time.
 */
export function localToInstant(zone: IANAZone, date: LocalDate, minutes: number): number {
  const wall = date.toMillis() + minutes * MINUTE_MS
  const key = `${zone.name} ${wall}`
  const known = instantCache.get(key)
  if (known !== undefined) return known
  const instant = firstInstantShowing(zone, wall)
  if (instantCache.size >= INSTANT_CACHE_SIZE) instantCache.clear()
  instantCache.set(key, instant)
  return instant
}

/**
 * Time-zone rules do not change while the process runs, so answers are remembered: a lock deciding
 * about the same slots again, or a server scanning many codes with the same hours, asks the time
 * library once per zone and local time.
 */
const instantCache = new Map<string, number>()
const INSTANT_CACHE_SIZE = 8192

function firstInstantShowing(zone: IANAZone, wall: number): number {
  const offsets = [...new Set([zone.offset(wall - DAY_MS), zone.offset(wall), zone.offset(wall + DAY_MS)])]
  let first = Number.POSITIVE_INFINITY
  for (const offset of offsets) {
    const instant = wall - offset * MINUTE_MS
    if (zone.offset(instant) === offset) first = Math.min(first, instant)
  }
  if (first !== Number.POSITIVE_INFINITY) return first
  // In a gap: find the jump, the first instant whose wall clock is at or past `wall`.
  let lo = wall - Math.max(...offsets) * MINUTE_MS
  let hi = wall - Math.min(...offsets) * MINUTE_MS
  if (!(wallMs(zone, lo) < wall && wallMs(zone, hi) >= wall)) {
    const local = new Date(wall).toISOString().slice(0, 16)
    throw new LatchkeyError('internal', `cannot place local time ${local} in ${zone.name}`)
  }
  // Invariant: wall(lo) < wall ≤ wall(hi). At most ~25 halvings for a gap of a few hours.
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2)
    if (wallMs(zone, mid) >= wall) hi = mid
    else lo = mid
  }
  return hi
}

/** A plain date from its midnight as if in UTC, where every day is exactly DAY_MS long. */
function plainDate(midnightMs: number): LocalDate {
  return DateTime.fromMillis(midnightMs, { zone: 'utc' })
}

/** The plain date `days` later (or earlier). */
export function addDays(date: LocalDate, days: number): LocalDate {
  return plainDate(date.toMillis() + days * DAY_MS)
}

/** The calendar date the lock's wall clock shows at `ms`. */
export function localDateAt(zone: IANAZone, ms: number): LocalDate {
  return plainDate(Math.floor(wallMs(zone, ms) / DAY_MS) * DAY_MS)
}

export interface Occurrence {
  /** Instant the slot opens (inclusive). */
  start: number
  /** Instant the slot closes (exclusive); > start. */
  end: number
}

function inRange(schedule: ParsedSchedule, date: LocalDate): boolean {
  const ms = date.toMillis()
  return (
    (!schedule.startsOn || ms >= schedule.startsOn.toMillis()) &&
    (!schedule.endsOn || ms <= schedule.endsOn.toMillis())
  )
}

/**
 * The occurrences of the schedule that start on `date` (a slot belongs to the day it starts on),
 * skipping dates outside startsOn … endsOn and slots that vanish in a spring-forward gap.
 */
export function occurrencesOn(zone: IANAZone, schedule: ParsedSchedule, date: LocalDate): Occurrence[] {
  if (!inRange(schedule, date)) return []
  const out: Occurrence[] = []
  for (const slot of schedule.slots) {
    if (!slot.days.has(date.weekday as Weekday)) continue
    const start = localToInstant(zone, date, slot.startMinute)
    const end = localToInstant(zone, date, slot.endMinute)
    if (end > start) out.push({ start, end })
  }
  return out
}

/**
 * Every occurrence that could contain an instant of [fromMs, toMs]: those starting on a local date
 * from two days before `fromMs` (a slot lasts at most a day, plus a fold) to the date of `toMs`.
 * `toMs − fromMs` must be small (callers pass at most a few days).
 */
export function occurrencesAround(
  zone: IANAZone,
  schedule: ParsedSchedule,
  fromMs: number,
  toMs: number,
): Occurrence[] {
  const last = localDateAt(zone, toMs)
  const out: Occurrence[] = []
  let date = addDays(localDateAt(zone, fromMs), -2)
  for (let n = 0; date.toMillis() <= last.toMillis() && n < 32; n++, date = addDays(date, 1)) {
    out.push(...occurrencesOn(zone, schedule, date))
  }
  return out
}

/** The end of the schedule's date range: midnight after endsOn, or the end of a slot that started on endsOn. */
export function scheduleEnd(zone: IANAZone, schedule: ParsedSchedule): number | null {
  if (!schedule.endsOn) return null
  let end = localToInstant(zone, schedule.endsOn, MINUTES_PER_DAY)
  for (const occurrence of occurrencesOn(zone, schedule, schedule.endsOn)) end = Math.max(end, occurrence.end)
  return end
}

/** Midnight after endsOn in the lock's zone: from then on (plus grace) the code has expired. */
export function endOfLastDay(zone: IANAZone, schedule: ParsedSchedule): number | null {
  return schedule.endsOn ? localToInstant(zone, schedule.endsOn, MINUTES_PER_DAY) : null
}

/**
 * The first occurrence, at or after `fromMs` in the sense that it has not ended, scanning at most
 * `maxDays` local dates from two days before `fromMs` (or from startsOn when it is later).
 */
export function firstOccurrenceEndingAfter(
  zone: IANAZone,
  schedule: ParsedSchedule,
  fromMs: number,
  maxDays: number,
): Occurrence | null {
  let date = addDays(localDateAt(zone, fromMs), -2)
  if (schedule.startsOn && schedule.startsOn.toMillis() > date.toMillis()) date = schedule.startsOn
  let best: Occurrence | null = null
  for (let n = 0; n < maxDays; n++, date = addDays(date, 1)) {
    if (schedule.endsOn && date.toMillis() > schedule.endsOn.toMillis()) break
    // Every occurrence starting on a later date starts after one found on this date has started.
    if (best && localToInstant(zone, date, 0) > best.start) break
    for (const occurrence of occurrencesOn(zone, schedule, date)) {
      if (occurrence.end > fromMs && (!best || occurrence.start < best.start)) best = occurrence
    }
  }
  return best
}
