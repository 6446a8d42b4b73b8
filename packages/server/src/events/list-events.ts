/**
 * Reading the audit log of an organization (SPEC §7, §8): filtered by lock, access code, unique code,
 * property (the events of its locks and of its stays) and type, paged by cursor (the event id), newest first unless `order=asc`.
 */
import { and, asc, desc, eq, gte, inArray, lt, type SQL, sql } from 'drizzle-orm'
import { type Db, type EventRow, events, isUuid, propertyIsLive, propertyLockIds } from '../store/index.ts'

export interface EventFilter {
  lockId?: string | undefined
  accessCodeId?: string | undefined
  uniqueCodeId?: string | undefined
  /** The events of the property's locks (as the property lists them now) and of its stays. */
  propertyId?: string | undefined
  /** One type or several, comma-separated. */
  types?: string[] | undefined
  /** Events that occurred at or after this instant. */
  from?: Date | undefined
  /** Events that occurred before this instant. */
  to?: Date | undefined
}

export interface ListEventsOptions extends EventFilter {
  /** The id of the last event of the previous page (in the order asked). */
  after?: number | undefined
  limit: number
  order: 'asc' | 'desc'
}

export type EventView = Omit<EventRow, 'organizationId' | 'lockSeq' | 'tx' | 'pinHash'>

/** An event as the API shows it: `GET /events`, its stream, and the `data` of a webhook delivery. */
export const apiEvent = (event: EventView) => ({
  id: String(event.id),
  type: event.type,
  lockId: event.lockId,
  accessCodeId: event.accessCodeId,
  uniqueCodeId: event.uniqueCodeId,
  gatewayId: event.gatewayId,
  actorUserId: event.actorUserId,
  data: event.data,
  occurredAt: event.occurredAt.toISOString(),
  recordedAt: event.recordedAt.toISOString(),
})

const columns = {
  id: events.id,
  type: events.type,
  lockId: events.lockId,
  accessCodeId: events.accessCodeId,
  uniqueCodeId: events.uniqueCodeId,
  gatewayId: events.gatewayId,
  actorUserId: events.actorUserId,
  data: events.data,
  occurredAt: events.occurredAt,
  recordedAt: events.recordedAt,
}

/** The conditions of a filter; null when it can match nothing (an id that is no UUID). */
export function filterConditions(organizationId: string, filter: EventFilter): SQL[] | null {
  const conditions: SQL[] = [eq(events.organizationId, organizationId)]
  for (const [column, value] of [
    [events.lockId, filter.lockId],
    [events.accessCodeId, filter.accessCodeId],
    [events.uniqueCodeId, filter.uniqueCodeId],
  ] as const) {
    if (value === undefined) continue
    if (!isUuid(value)) return null
    conditions.push(eq(column, value))
  }
  if (filter.propertyId !== undefined) {
    if (!isUuid(filter.propertyId)) return null
    // stay events name the property in their data and no lock
    conditions.push(
      sql`(${events.lockId} in ${propertyLockIds(organizationId, filter.propertyId)} or (${events.lockId} is null and ${events.data}->>'propertyId' = ${filter.propertyId} and ${propertyIsLive(organizationId, filter.propertyId)}))`,
    )
  }
  if (filter.types !== undefined && filter.types.length > 0)
    conditions.push(inArray(events.type, filter.types))
  if (filter.from !== undefined) conditions.push(gte(events.occurredAt, filter.from))
  if (filter.to !== undefined) conditions.push(lt(events.occurredAt, filter.to))
  return conditions
}

/*
 * A gap-free cursor (`order=asc`, `after`, `/events/stream` with Last-Event-ID). An event's id is
 * taken when it is inserted, but its transaction may commit much later: a reader that went past a
 * later id would never see it. So the forward cursor goes in (inserting transaction, id) order, and
 * hands out only events whose transaction is older than every transaction still open (the snapshot's
 * xmin): those are all committed or rolled back, and no transaction that could still commit an event
 * gets a lower transaction id. The price: while a transaction that writes (anything) stays open,
 * events of younger transactions wait for it — for as long as the longest open write transaction.
 */
const settled = sql`${events.tx} < pg_snapshot_xmin(pg_current_snapshot())`

/** After the cursor event in (tx, id) order; a cursor that names no event of the organization starts over. */
function afterCursor(organizationId: string, after: number): SQL {
  return sql`(${events.tx}, ${events.id}) > (coalesce((select c.tx from events c where c.id = ${after} and c.organization_id = ${organizationId}), '0'::xid8), ${after})`
}

export async function listEvents(
  db: Db,
  organizationId: string,
  options: ListEventsOptions,
): Promise<{ items: EventView[]; nextCursor?: string }> {
  const conditions = filterConditions(organizationId, options)
  if (conditions === null) return { items: [] }
  if (options.order === 'asc') {
    conditions.push(settled)
    if (options.after !== undefined) conditions.push(afterCursor(organizationId, options.after))
  } else if (options.after !== undefined) {
    conditions.push(lt(events.id, options.after))
  }
  const rows = await db
    .select(columns)
    .from(events)
    .where(and(...conditions))
    .orderBy(...(options.order === 'asc' ? [asc(events.tx), asc(events.id)] : [desc(events.id)]))
    .limit(options.limit + 1)
  const items = rows.slice(0, options.limit)
  return rows.length > options.limit ? { items, nextCursor: String(items[items.length - 1]!.id) } : { items }
}

/**
 * The last event of the organization in cursor order that no open transaction can come before (0
 * when there is none): where a live stream starts.
 */
export async function lastEventId(db: Db, organizationId: string): Promise<number> {
  const [row] = await db
    .select({ id: events.id })
    .from(events)
    .where(and(eq(events.organizationId, organizationId), settled))
    .orderBy(desc(events.tx), desc(events.id))
    .limit(1)
  return row?.id ?? 0
}

// ---------------------------------------------------------------- CSV

export const CSV_COLUMNS = [
  'id',
  'occurredAt',
  'recordedAt',
  'type',
  'lockId',
  'lockName',
  'accessCodeId',
  'label',
  'uniqueCodeId',
  'gatewayId',
  'actorUserId',
  'method',
  'reason',
  'data',
] as const

export type CsvRecord = Record<(typeof CSV_COLUMNS)[number], string | number | null>

const textOf = (value: unknown): string | null =>
  value === null || value === undefined ? null : typeof value === 'string' ? value : JSON.stringify(value)

/** One row of the CSV download (csv-stringify quotes it and defuses formulas). */
export function csvRecord(event: EventView): CsvRecord {
  const data = event.data as Record<string, unknown>
  return {
    id: event.id,
    occurredAt: event.occurredAt.toISOString(),
    recordedAt: event.recordedAt.toISOString(),
    type: event.type,
    lockId: event.lockId,
    lockName: textOf(data.lockName),
    accessCodeId: event.accessCodeId,
    label: textOf(data.label),
    uniqueCodeId: event.uniqueCodeId,
    gatewayId: event.gatewayId,
    actorUserId: event.actorUserId,
    method: textOf(data.method),
    reason: textOf(data.reason),
    data: JSON.stringify(data),
  }
}

/**
 * Every event of the filter, newest first, read from the store a page at a time: the next page is
 * read only when the consumer asks for more, so a download of any size holds one page in memory.
 */
export async function* allEvents(
  db: Db,
  organizationId: string,
  filter: EventFilter,
  pageSize = 1000,
): AsyncGenerator<EventView> {
  let after: number | undefined
  for (;;) {
    const { items, nextCursor } = await listEvents(db, organizationId, {
      ...filter,
      after,
      limit: pageSize,
      order: 'desc',
    })
    yield* items
    if (nextCursor === undefined) return
    after = Number(nextCursor)
  }
}
