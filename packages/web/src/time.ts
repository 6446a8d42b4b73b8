/** Times in a lock's own zone: what a person picks and reads. */
import { DateTime } from 'luxon'

/** What a date-time input holds (`2026-12-03T10:00`, the lock's own clock) as the request sends it: the
 * server reads it in the lock's zone, so the browser converts nothing; null when nothing is picked. */
export function pickedLocal(local: string): string | null {
  return local === '' ? null : local
}

/** `2026-12-03T10:00` read in `zone` → the instant in UTC (`…Z`), or null when it is no time. */
export function localToUtc(local: string, zone: string): string | null {
  if (local === '') return null
  const time = DateTime.fromISO(local, { zone })
  return time.isValid ? time.toUTC().toISO() : null
}

/** A `…Local` time of an answer (`2026-12-03T10:00+11:00`) as its own wall clock shows it. */
function wallClock(local: string): DateTime {
  return DateTime.fromISO(local, { setZone: true })
}

/** "Tue 3 Dec 10:00" from a `…Local` time of an answer. */
export function formatLocal(local: string | null): string {
  return local === null ? '—' : wallClock(local).toFormat('ccc d LLL HH:mm')
}

/** "Tue 10:00–12:00" (same day) or "Tue 3 Dec 10:00 – Wed 4 Dec 09:00", from `…Local` times. */
export function formatLocalWindow(startsAtLocal: string | null, endsAtLocal: string | null): string {
  if (startsAtLocal === null && endsAtLocal === null) return ''
  if (startsAtLocal === null) return `until ${formatLocal(endsAtLocal)}`
  if (endsAtLocal === null) return `from ${formatLocal(startsAtLocal)}`
  const start = wallClock(startsAtLocal)
  const end = wallClock(endsAtLocal)
  if (start.hasSame(end, 'day')) return `${start.toFormat('ccc HH:mm')}–${end.toFormat('HH:mm')}`
  return `${start.toFormat('ccc d LLL HH:mm')} – ${end.toFormat('ccc d LLL HH:mm')}`
}

/** "Tue 3 Dec 10:00" in `zone`. */
export function formatTime(iso: string | null, zone: string): string {
  if (iso === null) return '—'
  return DateTime.fromISO(iso, { zone: 'utc' }).setZone(zone).toFormat('ccc d LLL HH:mm')
}

export const DAY_NAMES = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'] as const

export function formatSchedule(schedule: {
  slots: Array<{ days: number[]; start: string; end: string }>
}): string {
  return schedule.slots
    .map((slot) => `${slot.days.map((d) => DAY_NAMES[d - 1]).join(', ')} ${slot.start}–${slot.end}`)
    .join('; ')
}
