/**
 * Times as a request gives them (SPEC §3): RFC 3339 with any offset (`2026-12-03T10:00:00+11:00`,
 * `…Z`, fractional seconds), or a local date-time without offset (`2026-12-03T10:00`) read in a
 * time zone (the lock's). A local time that a DST change skips or repeats is refused, naming both
 * readings. Answers give each instant in the zone too (`localIso`: `2026-12-03T10:00+11:00`).
 */
import { DateTime, FixedOffsetZone, IANAZone } from 'luxon'
import { LatchkeyError } from './errors.ts'

const REQUEST_TIME =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(?:([Zz])|([+-])(\d{2}):(\d{2}))?$/

/** What a request time says, before a zone is known. */
export type RequestTime = { kind: 'instant'; ms: number } | { kind: 'local'; wall: WallTime; text: string }

export interface WallTime {
  year: number
  month: number
  day: number
  hour: number
  minute: number
  second: number
  millisecond: number
}

/** Describes the formats, for schemas and messages. */
export const REQUEST_TIME_FORMATS =
  'RFC 3339 with an offset (`2026-12-03T10:00:00+11:00`, `2026-12-02T23:00:00Z`, fractional seconds allowed), or a local date-time without offset (`2026-12-03T10:00`, `2026-12-03T10:00:00`) read in the lock’s time zone'

/**
 * The instants a request may name: from 1970 to the end of 9999 (UTC). The store keeps no year 0 and
 * no year past 9999, and a lock counts its time from 1970; a time outside is refused as no time.
 */
export const REQUEST_INSTANT_MIN_MS = 0
export const REQUEST_INSTANT_MAX_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999)

export function isRequestInstant(ms: number): boolean {
  return Number.isFinite(ms) && ms >= REQUEST_INSTANT_MIN_MS && ms <= REQUEST_INSTANT_MAX_MS
}

/** Throws `validation_failed` (naming `field`) for an instant outside what a request may name. */
export function checkRequestInstant(ms: number, field: string): number {
  if (!isRequestInstant(ms)) throw invalid(field, `${field} must lie between 1970 and 9999`)
  return ms
}

/** Parses the text of a request time; null when it is not one (or names no real date and time). */
export function parseRequestTime(text: string): RequestTime | null {
  const m = REQUEST_TIME.exec(text)
  if (m === null) return null
  const wall: WallTime = {
    year: Number(m[1]),
    month: Number(m[2]),
    day: Number(m[3]),
    hour: Number(m[4]),
    minute: Number(m[5]),
    second: m[6] === undefined ? 0 : Number(m[6]),
    millisecond: m[7] === undefined ? 0 : Math.floor(Number(`0.${m[7]}`) * 1000),
  }
  if (m[8] !== undefined || m[9] !== undefined) {
    const offsetMinutes =
      m[9] === undefined ? 0 : (m[9] === '-' ? -1 : 1) * (Number(m[10]) * 60 + Number(m[11]))
    if (Math.abs(offsetMinutes) >= 24 * 60 || Number(m[11]) >= 60) return null
    const at = DateTime.fromObject(wall, { zone: FixedOffsetZone.instance(offsetMinutes) })
    if (!at.isValid || !sameWall(at, wall) || !isRequestInstant(at.toMillis())) return null
    return { kind: 'instant', ms: at.toMillis() }
  }
  const check = DateTime.fromObject(wall, { zone: 'UTC' })
  // the zone decides the instant at the edges of the range: resolveRequestTime checks it
  if (!check.isValid || !sameWall(check, wall) || wall.year < 1970) return null
  return { kind: 'local', wall, text }
}

/** True when the text is a request time (any of the formats). */
export function isRequestTime(text: string): boolean {
  return parseRequestTime(text) !== null
}

/**
 * The instant (ms) a request time names, a local one read in `timezone`. Throws
 * `validation_failed` (naming `field`) for text that is no time, or for a local time the zone
 * skips or repeats, with both readings.
 */
export function resolveRequestTime(text: string, timezone: string, field = 'time'): number {
  const parsed = parseRequestTime(text)
  if (parsed === null) {
    throw invalid(field, `${field} must be ${REQUEST_TIME_FORMATS}`)
  }
  if (parsed.kind === 'instant') return parsed.ms
  const zone = IANAZone.create(timezone)
  if (!zone.isValid) throw new LatchkeyError('invalid_timezone', `unknown time zone ${timezone}`)
  const { wall } = parsed
  const wallMs = Date.UTC(
    wall.year,
    wall.month - 1,
    wall.day,
    wall.hour,
    wall.minute,
    wall.second,
    wall.millisecond,
  )
  // the zone's offsets around that wall time: one, or two across a DST change
  const offsets = [...new Set([zone.offset(wallMs - 86_400_000), zone.offset(wallMs + 86_400_000)])]
  const readings = offsets.filter((offset) => zone.offset(wallMs - offset * 60_000) === offset)
  if (readings.length === 1) return checkRequestInstant(wallMs - readings[0]! * 60_000, field)
  const shown = wallText(wall)
  const clock = shown.slice(11)
  const [first, second] = [...offsets].sort((a, b) => b - a).map((o) => `${clock}${offsetText(o)}`)
  if (readings.length === 2) {
    throw invalid(
      field,
      `${shown} happens twice in ${timezone} (the clocks go back): ${first} or ${second}; give the offset`,
    )
  }
  throw invalid(
    field,
    `${shown} does not happen in ${timezone} (the clocks skip it): ${second} or ${first}; give the offset`,
  )
}

/** The instant in `timezone`, as answers show it beside the UTC one: `2026-12-03T10:00+11:00`. */
export function localIso(ms: number, timezone: string): string {
  const at = DateTime.fromMillis(ms, { zone: timezone })
  if (!at.isValid) return new Date(ms).toISOString()
  const format =
    at.millisecond !== 0
      ? "yyyy-MM-dd'T'HH:mm:ss.SSSZZ"
      : at.second !== 0
        ? "yyyy-MM-dd'T'HH:mm:ssZZ"
        : "yyyy-MM-dd'T'HH:mmZZ"
  return at.toFormat(format)
}

function sameWall(at: DateTime, wall: WallTime): boolean {
  return (
    at.year === wall.year &&
    at.month === wall.month &&
    at.day === wall.day &&
    at.hour === wall.hour &&
    at.minute === wall.minute &&
    at.second === wall.second
  )
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0')

function wallText(wall: WallTime): string {
  const base = `${pad(wall.year, 4)}-${pad(wall.month)}-${pad(wall.day)}T${pad(wall.hour)}:${pad(wall.minute)}`
  return wall.second === 0 && wall.millisecond === 0 ? base : `${base}:${pad(wall.second)}`
}

function offsetText(minutes: number): string {
  const sign = minutes < 0 ? '-' : '+'
  const abs = Math.abs(minutes)
  return `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`
}

function invalid(field: string, message: string): LatchkeyError {
  return new LatchkeyError('validation_failed', message, {
    details: { errors: [{ in: 'body', field, message }] },
  })
}
