/**
 * Reading the audit log of an organization (SPEC §7, §8): filtered by lock, access code, unique code
 * and type, paged by cursor (the event id), newest first unless `order=asc`.
 */
import { and, asc, desc, eq, inArray, lt, type SQL, sql } from 'drizzle-orm'
import type { Db } from '../store/index.ts'
import { type EventRow, events, isUuid } from '../store/index.ts'

export interface EventFilter {
  lockId?: string | undefined
  accessCodeId?: string | undefined
  uniqueCodeId?: string | undefined
  /** One type or several, comma-separated. */
  types?: string[] | undefined
}

export interface ListEventsOptions extends EventFilter {
  /** The id of the last event of the previous page (in the order asked). */
  after?: number | undefined
  limit: number
  order: 'asc' | 'desc'
}

export type EventView = Omit<EventRow, 'organizationId' | 'lockSeq' | 'tx' | 'pinHash'>

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
  if (filter.types !== undefined && filter.types.length > 0)
    conditions.push(inArray(events.type, filter.types))
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

/**
 * One CSV field (RFC 4180). A text that a spreadsheet would run as a formula (= + - @ and tab or
 * carriage return first) is prefixed with an apostrophe.
 */
export function csvField(value: unknown): string {
  if (value === null || value === undefined) return ''
  let text =
    typeof value === 'string' ? value : typeof value === 'object' ? JSON.stringify(value) : String(value)
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text
}

export function csvRow(event: EventView): string {
  const data = event.data as Record<string, unknown>
  const fields: Record<(typeof CSV_COLUMNS)[number], unknown> = {
    id: event.id,
    occurredAt: event.occurredAt.toISOString(),
    recordedAt: event.recordedAt.toISOString(),
    type: event.type,
    lockId: event.lockId,
    lockName: data.lockName,
    accessCodeId: event.accessCodeId,
    label: data.label,
    uniqueCodeId: event.uniqueCodeId,
    gatewayId: event.gatewayId,
    actorUserId: event.actorUserId,
    method: data.method,
    reason: data.reason,
    data,
  }
  return CSV_COLUMNS.map((column) => csvField(fields[column])).join(',')
}
