/**
 * Calendars (SPEC §11): a booking site's iCal feed on a property. A sync fetches the feed (under the
 * outbound address rule), then: a reservation whose UID is new makes a stay; one whose dates changed
 * moves its stay; a stay whose event is gone from the feed (and that has not ended) is cancelled; a
 * block makes no stay. A feed that cannot be fetched or read changes nothing: the calendar says why
 * in `lastError` and keeps its `lastSyncedAt`. One process syncs a calendar at a time (a lease on
 * its row, as the reconciler claims locks).
 */
import { LatchkeyError } from '@latchkey/core'
import { and, asc, eq, inArray, isNull, lt, lte, or } from 'drizzle-orm'
import type { Actor, Deps } from '../access-codes/index.ts'
import { OutboundRefused, outboundGet } from '../http/index.ts'
import type { Db } from '../store/index.ts'
import { type Calendar, calendars, isUuid, type Stay, stays } from '../store/index.ts'
import { type FeedEvent, FeedUnreadable, parseFeed } from './ical-feed.ts'
import { findProperty } from './properties.ts'
import { cancelStay, createStay, updateStay } from './stays.ts'

export const DEFAULT_POLL_MINUTES = 15
const MINUTE_MS = 60_000
/** How long a sync may hold its calendar before another process may take it over. */
export const CALENDAR_CLAIM_MS = 2 * MINUTE_MS

export interface CalendarInput {
  url: string
  name?: string | undefined
  pollMinutes?: number | undefined
}

export async function createCalendar(
  deps: Deps,
  actor: Actor,
  propertyId: string,
  input: CalendarInput,
): Promise<Calendar> {
  const property = await findProperty(deps.db, actor.organizationId, propertyId)
  let url: URL
  try {
    url = new URL(input.url)
  } catch {
    throw new LatchkeyError('validation_failed', 'url is not a URL')
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new LatchkeyError('validation_failed', 'a calendar feed is an http or https URL')
  }
  const nowMs = deps.clock.now()
  const [row] = await deps.db
    .insert(calendars)
    .values({
      organizationId: actor.organizationId,
      propertyId: property.id,
      name: input.name ?? url.hostname,
      url: url.toString(),
      pollMinutes: input.pollMinutes ?? DEFAULT_POLL_MINUTES,
      // the creator syncs it at once (syncCalendarNow); the scheduler takes over after that
      nextSyncAt: new Date(nowMs + (input.pollMinutes ?? DEFAULT_POLL_MINUTES) * MINUTE_MS),
      createdAt: new Date(nowMs),
    })
    .returning()
  return row!
}

export async function findCalendar(db: Db, organizationId: string, id: string): Promise<Calendar> {
  const [row] = isUuid(id)
    ? await db
        .select()
        .from(calendars)
        .where(and(eq(calendars.id, id), eq(calendars.organizationId, organizationId)))
    : []
  if (row === undefined) throw new LatchkeyError('not_found', 'no such calendar')
  return row
}

export async function listCalendars(db: Db, organizationId: string, propertyId: string): Promise<Calendar[]> {
  await findProperty(db, organizationId, propertyId)
  return db
    .select()
    .from(calendars)
    .where(and(eq(calendars.organizationId, organizationId), eq(calendars.propertyId, propertyId)))
    .orderBy(asc(calendars.createdAt), asc(calendars.id))
}

/** Deleting a calendar keeps its stays (they become stays of the property, as if made by hand). */
export async function deleteCalendar(db: Db, organizationId: string, id: string): Promise<void> {
  const calendar = await findCalendar(db, organizationId, id)
  await db.delete(calendars).where(eq(calendars.id, calendar.id))
}

const free = (now: Date) => or(isNull(calendars.claimedUntil), lt(calendars.claimedUntil, now))

/** Claims up to `limit` calendars due for a sync that no process holds (skipping rows being claimed). */
export async function claimDueCalendars(
  db: Db,
  owner: string,
  nowMs: number,
  limit: number,
): Promise<string[]> {
  const now = new Date(nowMs)
  const due = db
    .select({ id: calendars.id })
    .from(calendars)
    .where(and(lte(calendars.nextSyncAt, now), free(now)))
    .orderBy(asc(calendars.nextSyncAt))
    .limit(limit)
    .for('update', { skipLocked: true })
  const claimed = await db
    .update(calendars)
    .set({ claimedBy: owner, claimedUntil: new Date(nowMs + CALENDAR_CLAIM_MS) })
    .where(and(inArray(calendars.id, due), free(now)))
    .returning({ id: calendars.id })
  return claimed.map((row) => row.id)
}

export async function claimCalendar(db: Db, owner: string, id: string, nowMs: number): Promise<boolean> {
  const now = new Date(nowMs)
  const claimed = await db
    .update(calendars)
    .set({ claimedBy: owner, claimedUntil: new Date(nowMs + CALENDAR_CLAIM_MS) })
    .where(and(eq(calendars.id, id), free(now)))
    .returning({ id: calendars.id })
  return claimed.length === 1
}

export interface SyncOutcome {
  created: number
  moved: number
  cancelled: number
  blocks: number
  error: string | null
}

/**
 * Syncs a calendar this process has claimed, then gives it back with its next sync time. Never
 * throws for what the feed did: the outcome and the calendar say it.
 */
export async function syncClaimedCalendar(
  deps: Deps,
  owner: string,
  calendarId: string,
  allowPrivate: boolean,
): Promise<SyncOutcome> {
  const [calendar] = await deps.db.select().from(calendars).where(eq(calendars.id, calendarId))
  if (calendar === undefined) return { created: 0, moved: 0, cancelled: 0, blocks: 0, error: 'gone' }
  const startedMs = deps.clock.now()
  let outcome: SyncOutcome
  try {
    const events = await fetchFeed(calendar, allowPrivate)
    outcome = await applyFeed(deps, calendar, events)
  } catch (error) {
    outcome = { created: 0, moved: 0, cancelled: 0, blocks: 0, error: describe(error) }
  }
  const nowMs = deps.clock.now()
  await deps.db
    .update(calendars)
    .set({
      lastAttemptAt: new Date(startedMs),
      lastError: outcome.error,
      ...(outcome.error === null ? { lastSyncedAt: new Date(startedMs) } : {}),
      nextSyncAt: new Date(nowMs + calendar.pollMinutes * MINUTE_MS),
      claimedBy: null,
      claimedUntil: null,
    })
    .where(and(eq(calendars.id, calendar.id), eq(calendars.claimedBy, owner)))
  return outcome
}

function describe(error: unknown): string {
  if (error instanceof OutboundRefused || error instanceof FeedUnreadable) return error.message
  if (error instanceof LatchkeyError) return `a stay of the feed could not be kept: ${error.message}`
  const cause = (error as { code?: string; message?: string }) ?? {}
  return `the feed could not be fetched: ${cause.code ?? cause.message ?? String(error)}`
}

async function fetchFeed(calendar: Calendar, allowPrivate: boolean): Promise<FeedEvent[]> {
  const response = await outboundGet(calendar.url, { allowPrivate })
  if (response.status < 200 || response.status > 299) {
    throw new FeedUnreadable(`the feed answered HTTP ${response.status}; nothing was changed`)
  }
  return parseFeed(response.body, calendar.name)
}

async function applyFeed(deps: Deps, calendar: Calendar, events: FeedEvent[]): Promise<SyncOutcome> {
  const actor: Actor = { organizationId: calendar.organizationId, userId: null }
  const nowMs = deps.clock.now()
  const existing = await deps.db
    .select()
    .from(stays)
    .where(and(eq(stays.calendarId, calendar.id), isNull(stays.deletedAt)))
  const byUid = new Map<string, Stay>(existing.map((s) => [s.externalUid ?? '', s]))
  const outcome: SyncOutcome = { created: 0, moved: 0, cancelled: 0, blocks: 0, error: null }
  const seen = new Set<string>()
  for (const event of events) {
    if (event.kind === 'block') {
      outcome.blocks += 1
      continue
    }
    seen.add(event.uid)
    const stay = byUid.get(event.uid)
    if (stay === undefined || stay.cancelledAt !== null) {
      if (stay !== undefined) continue // cancelled by the host: it stays cancelled
      try {
        await createStay(
          deps,
          actor,
          {
            propertyId: calendar.propertyId,
            guestName: event.guestName,
            checkIn: event.start,
            checkOut: event.end,
            phone: event.phoneLast4,
          },
          { calendarId: calendar.id, externalUid: event.uid },
        )
        outcome.created += 1
      } catch (error) {
        // a reservation already over makes no stay
        if (error instanceof LatchkeyError && error.code === 'invalid_window') continue
        throw error
      }
      continue
    }
    if (stay.checkIn !== event.start || stay.checkOut !== event.end) {
      await updateStay(deps, actor, stay.id, { checkIn: event.start, checkOut: event.end })
      outcome.moved += 1
    }
  }
  for (const stay of existing) {
    if (stay.cancelledAt !== null || seen.has(stay.externalUid ?? '')) continue
    // a past stay drops out of the feed by itself; only one still to come or under way is cancelled
    if (stay.checkOutAt.getTime() <= nowMs) continue
    await cancelStay(deps, actor, stay)
    outcome.cancelled += 1
  }
  return outcome
}
