/** Times in a lock's own zone: what a person picks and reads. */
import { DateTime } from 'luxon'

/** `2026-12-03T10:00` read in `zone` → the instant in UTC (`…Z`), or null when it is no time. */
export function localToUtc(local: string, zone: string): string | null {
  if (local === '') return null
  const time = DateTime.fromISO(local, { zone })
  return time.isValid ? time.toUTC().toISO() : null
}

/** An instant → `2026-12-03T10:00` in `zone` (for an input's value). */
export function utcToLocalInput(iso: string, zone: string): string {
  return DateTime.fromISO(iso, { zone: 'utc' }).setZone(zone).toFormat("yyyy-LL-dd'T'HH:mm")
}

/** "Tue 3 Dec 10:00" in `zone`. */
export function formatTime(iso: string | null, zone: string): string {
  if (iso === null) return '—'
  return DateTime.fromISO(iso, { zone: 'utc' }).setZone(zone).toFormat('ccc d LLL HH:mm')
}

/** "Tue 10:00–12:00" (same day) or "Tue 3 Dec 10:00 – Wed 4 Dec 09:00". */
export function formatWindow(startsAt: string | null, endsAt: string | null, zone: string): string {
  if (startsAt === null && endsAt === null) return ''
  if (startsAt === null) return `until ${formatTime(endsAt, zone)}`
  if (endsAt === null) return `from ${formatTime(startsAt, zone)}`
  const start = DateTime.fromISO(startsAt, { zone: 'utc' }).setZone(zone)
  const end = DateTime.fromISO(endsAt, { zone: 'utc' }).setZone(zone)
  if (start.hasSame(end, 'day')) return `${start.toFormat('ccc HH:mm')}–${end.toFormat('HH:mm')}`
  return `${start.toFormat('ccc d LLL HH:mm')} – ${end.toFormat('ccc d LLL HH:mm')}`
}

export const DAY_NAMES = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'] as const

export function formatSchedule(schedule: {
  slots: Array<{ days: number[]; start: string; end: string }>
}): string {
  return schedule.slots
    .map((slot) => `${slot.days.map((d) => DAY_NAMES[d - 1]).join(', ')} ${slot.start}–${slot.end}`)
    .join('; ')
}
