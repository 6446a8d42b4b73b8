/**
 * The `…Local` times of the API's answers (`2026-12-03T10:00+11:00`: the instant as the lock's own
 * clock reads it) shown as they are written: no time-zone arithmetic, so no zone library (the app at
 * `/app` stays small) and the browser's own zone never enters.
 */

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'] as const

interface WallClock {
  day: string
  /** "Tue 3 Dec" */
  date: string
  /** "10:00" */
  time: string
}

function wallClock(local: string): WallClock | null {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(local)
  if (match === null) return null
  const [, year, month, day, hour, minute] = match as unknown as [
    string,
    string,
    string,
    string,
    string,
    string,
  ]
  // the weekday of a calendar date is the same in every zone: read it at UTC noon of that date
  const weekday = new Date(Date.UTC(Number(year), Number(month) - 1, Number(day), 12)).getUTCDay()
  return {
    day: `${year}-${month}-${day}`,
    date: `${WEEKDAYS[weekday]} ${Number(day)} ${MONTHS[Number(month) - 1]}`,
    time: `${hour}:${minute}`,
  }
}

/** "Tue 3 Dec 10:00" from a `…Local` time of an answer; "—" for none. */
export function formatLocal(local: string | null): string {
  const at = local === null ? null : wallClock(local)
  return at === null ? '—' : `${at.date} ${at.time}`
}

/** "Tue 10:00–12:00" (same day) or "Tue 3 Dec 10:00 – Wed 4 Dec 09:00", from `…Local` times. */
export function formatLocalWindow(startsAtLocal: string | null, endsAtLocal: string | null): string {
  if (startsAtLocal === null && endsAtLocal === null) return ''
  if (startsAtLocal === null) return `until ${formatLocal(endsAtLocal)}`
  if (endsAtLocal === null) return `from ${formatLocal(startsAtLocal)}`
  const start = wallClock(startsAtLocal)
  const end = wallClock(endsAtLocal)
  if (start === null || end === null) return `${formatLocal(startsAtLocal)} – ${formatLocal(endsAtLocal)}`
  if (start.day === end.day) return `${start.date.split(' ')[0]} ${start.time}–${end.time}`
  return `${start.date} ${start.time} – ${end.date} ${end.time}`
}

/** Days of a weekly schedule, 1 = Monday … 7 = Sunday (at index day − 1). */
export const DAY_NAMES = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'] as const

export function formatSchedule(schedule: {
  slots: Array<{ days: number[]; start: string; end: string }>
}): string {
  return schedule.slots
    .map((slot) => `${slot.days.map((d) => DAY_NAMES[d - 1]).join(', ')} ${slot.start}–${slot.end}`)
    .join('; ')
}
