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

/** "Tue 3 Dec 10:00" in `zone`. */
export function formatTime(iso: string | null, zone: string): string {
  if (iso === null) return '—'
  return DateTime.fromISO(iso, { zone: 'utc' }).setZone(zone).toFormat('ccc d LLL HH:mm')
}
