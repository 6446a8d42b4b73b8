/**
 * Reading a booking site's iCal export (node-ical): each VEVENT is a reservation or a block.
 * - Airbnb: all-day events "Reserved" with a description holding the reservation URL and
 *   "Phone Number (Last 4 Digits): 1234"; "Airbnb (Not available)" blocks.
 * - Vrbo: "Reserved" (or "Reserved - Name") with no description; "Blocked" blocks.
 * - Booking.com: "CLOSED - Not available".
 * "Not available", "Blocked", "Unavailable" and "Closed" name a block (SPEC §11), which makes no stay.
 * A body that is not a whole VCALENDAR, or an event with no UID or no usable dates, is refused as a
 * whole: a feed read in part would cancel stays that are still booked.
 */
import { createRequire } from 'node:module'
import type { CalendarResponse, VEvent } from 'node-ical'

/** node-ical, loaded at the first feed read (a start that reads none does not pay for it). */
let icalModule: typeof import('node-ical') | undefined
const ical = (): typeof import('node-ical') => {
  icalModule ??= createRequire(import.meta.url)('node-ical') as typeof import('node-ical')
  return icalModule
}

export interface FeedEvent {
  uid: string
  summary: string
  kind: 'reservation' | 'block'
  /** "YYYY-MM-DD" for all-day events, else an RFC 3339 instant. */
  start: string
  end: string
  guestName: string
  /** The last 4 digits of the guest's phone, when the feed gives them. */
  phoneLast4: string | null
  reservationUrl: string | null
}

export class FeedUnreadable extends Error {
  override readonly name = 'FeedUnreadable'
}

const BLOCK = /not available|unavailable|blocked|closed/i
const PHONE_LAST4 = /Phone Number \(Last 4 Digits\):\s*(\d{4})/i
const URL = /(https?:\/\/\S+)/

const pad = (n: number) => String(n).padStart(2, '0')

function dateValue(value: unknown, dateOnly: boolean, field: string, uid: string): string {
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) {
    throw new FeedUnreadable(`the event ${uid} has no usable ${field}`)
  }
  // node-ical makes an all-day date at local midnight of this process
  if (dateOnly) return `${value.getFullYear()}-${pad(value.getMonth() + 1)}-${pad(value.getDate())}`
  return value.toISOString()
}

function text(value: unknown): string {
  if (typeof value === 'string') return value
  if (value !== null && typeof value === 'object' && 'val' in value)
    return String((value as { val: unknown }).val)
  return ''
}

function guestNameOf(summary: string, source: string): string {
  const named = /^Reserved\s*[-–:]\s*(.+)$/i.exec(summary.trim())
  if (named?.[1]) return named[1].trim().slice(0, 100)
  return `${source} guest`
}

/** The events of the feed; `source` names the site for guests the feed does not name ("Airbnb"). */
export function parseFeed(body: string, source: string): FeedEvent[] {
  const trimmed = body.trim()
  if (!/^BEGIN:VCALENDAR/i.test(trimmed) || !/END:VCALENDAR$/i.test(trimmed)) {
    throw new FeedUnreadable('the answer is not an iCalendar feed (no BEGIN:VCALENDAR … END:VCALENDAR)')
  }
  let parsed: CalendarResponse
  try {
    parsed = ical().sync.parseICS(trimmed)
  } catch (cause) {
    throw new FeedUnreadable(`the feed could not be parsed: ${(cause as Error).message}`)
  }
  const events: FeedEvent[] = []
  for (const component of Object.values(parsed)) {
    if (component === undefined || component === null || (component as { type?: string }).type !== 'VEVENT')
      continue
    const event = component as VEvent
    const uid = text(event.uid)
    if (uid === '') throw new FeedUnreadable('an event of the feed has no UID')
    const dateOnly = event.datetype === 'date'
    const start = dateValue(event.start, dateOnly, 'start', uid)
    const end = dateValue(event.end ?? event.start, dateOnly, 'end', uid)
    const summary = text(event.summary)
    const description = text(event.description)
    events.push({
      uid,
      summary,
      kind: BLOCK.test(summary) ? 'block' : 'reservation',
      start,
      end,
      guestName: guestNameOf(summary, source),
      phoneLast4: PHONE_LAST4.exec(description)?.[1] ?? null,
      reservationUrl: URL.exec(description)?.[1] ?? null,
    })
  }
  return events
}

/** The booking site a feed's URL names, for guests the feed does not name. */
export function sourceOfUrl(url: string): string {
  const host = new globalThis.URL(url).hostname
  if (/airbnb\./i.test(host)) return 'Airbnb'
  if (/vrbo\.|homeaway\./i.test(host)) return 'Vrbo'
  if (/booking\.com/i.test(host)) return 'Booking.com'
  return 'Calendar'
}
