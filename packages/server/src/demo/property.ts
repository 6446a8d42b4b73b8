/**
 * The demo's property (SPEC §11): "Harbour flat" with the demo's Front door and Back door, and a
 * calendar whose feed the demo server serves itself (`GET /demo/calendar.ics`, an Airbnb-shaped
 * export with two reservations and a block, dated from the demo's clock), so stays appear at once.
 */
import { and, eq, isNull } from 'drizzle-orm'
import type { ServerDeps } from '../context.ts'
import { createCalendar, createProperty, syncCalendarNow } from '../properties/index.ts'
import { calendars, properties } from '../store/index.ts'
import type { DemoData } from './seed.ts'

export const DEMO_PROPERTY = 'Harbour flat'
export const DEMO_CALENDAR_PATH = '/demo/calendar.ics'

const DAY_MS = 86_400_000
const ymd = (ms: number) => new Date(ms).toISOString().slice(0, 10).replaceAll('-', '')

/** The feed: reservations from tomorrow for 3 nights and in 6 days for 2, and a block in 10 days. */
export function demoCalendarFeed(nowMs: number): string {
  const today = Math.floor(nowMs / DAY_MS) * DAY_MS
  const event = (uid: string, from: number, nights: number, summary: string, description?: string) => [
    'BEGIN:VEVENT',
    `DTSTART;VALUE=DATE:${ymd(today + from * DAY_MS)}`,
    `DTEND;VALUE=DATE:${ymd(today + (from + nights) * DAY_MS)}`,
    `SUMMARY:${summary}`,
    `UID:${uid}`,
    ...(description === undefined ? [] : [`DESCRIPTION:${description}`]),
    'END:VEVENT',
  ]
  return [
    'BEGIN:VCALENDAR',
    'VERSION:2.0',
    'PRODID:-//Airbnb Inc//Hosting Calendar 1.0//EN',
    ...event(
      'demo-reservation-1@airbnb.com',
      1,
      3,
      'Reserved',
      'Reservation URL: https://www.airbnb.com/hosting/reservations/details/HMDEMO1\\nPhone Number (Last 4 Digits): 4821',
    ),
    ...event('demo-reservation-2@airbnb.com', 6, 2, 'Reserved'),
    ...event('demo-block-1@airbnb.com', 10, 2, 'Airbnb (Not available)'),
    'END:VCALENDAR',
    '',
  ].join('\r\n')
}

/** Creates the property and its calendar once (the calendar is synced now and then every 15 minutes). */
export async function seedDemoProperty(
  deps: ServerDeps,
  data: DemoData,
  serverUrl: string,
  timezone: string,
) {
  const [existing] = await deps.db
    .select({ id: properties.id })
    .from(properties)
    .where(
      and(
        eq(properties.organizationId, data.organizationId),
        eq(properties.name, DEMO_PROPERTY),
        isNull(properties.deletedAt),
      ),
    )
  const actor = { organizationId: data.organizationId, userId: null }
  const url = `${serverUrl}${DEMO_CALENDAR_PATH}`
  if (existing !== undefined) {
    // the demo may listen on another port this time
    await deps.db.update(calendars).set({ url }).where(eq(calendars.propertyId, existing.id))
    return existing.id
  }
  const lockIds = data.locks.filter((l) => l.name === 'Front door' || l.name === 'Back door').map((l) => l.id)
  const property = await createProperty(deps.db, actor, deps.clock.now(), {
    name: DEMO_PROPERTY,
    timezone,
    lockIds,
    checkInTime: '15:00',
    checkOutTime: '10:00',
    codeStrategy: 'phone_last4',
  })
  const calendar = await createCalendar(deps, actor, property.id, { url, name: 'Airbnb' })
  await syncCalendarNow(deps, data.organizationId, calendar.id)
  return property.id
}
