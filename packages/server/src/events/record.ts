/**
 * Appending to the audit log. Events that came from a lock carry its `lockSeq`: a batch the
 * gateway delivers twice is stored once (unique (lock_id, lock_seq)), so acknowledging what was
 * stored never loses or doubles an event.
 *
 * Every event is stored together with what it owes the organization's webhooks (SPEC §13): one
 * `webhook_deliveries` row per enabled webhook whose event types match, in the same statement, so
 * an event is never stored without its deliveries nor a delivery without its event. Sending them is
 * the webhook worker's (webhooks/), never the recording request's.
 */
import { type SQL, sql } from 'drizzle-orm'
import type { Db } from '../store/index.ts'
import { events, type NewEventRow, webhookDeliveries, webhooks } from '../store/index.ts'

/** What the events of the CTE `stored` (id, organization_id, type, recorded_at) owe the webhooks. */
function owedDeliveries(): SQL {
  const d = webhookDeliveries
  const w = webhooks
  return sql`owed as (
      insert into ${d} (${sql.identifier(d.organizationId.name)}, ${sql.identifier(d.webhookId.name)},
        ${sql.identifier(d.eventId.name)}, ${sql.identifier(d.eventType.name)},
        ${sql.identifier(d.nextAttemptAt.name)}, ${sql.identifier(d.createdAt.name)})
      select s.organization_id, ${w.id}, s.id, s.type, s.recorded_at, s.recorded_at
      from stored s join ${w} on ${w.organizationId} = s.organization_id and ${w.enabled}
      where ${w.eventTypes} is null or s.type = any(${w.eventTypes})
        or split_part(s.type, '.', 1) || '.*' = any(${w.eventTypes})
    )`
}

/** Inserts the events of `insert` (which returns id, organization_id, type, recorded_at) and their deliveries. */
async function storeWithDeliveries(db: Db, insert: SQL): Promise<number[]> {
  const result = await db.execute<{ id: number | string }>(sql`
    with stored as (${insert}),
    ${owedDeliveries()}
    select id from stored order by id`)
  return result.rows.map((row) => Number(row.id))
}

const RETURNED = sql`returning ${sql.identifier(events.id.name)}, ${sql.identifier(events.organizationId.name)}, ${sql.identifier(events.type.name)}, ${sql.identifier(events.recordedAt.name)}`

/** Stores the events in one statement; returns the ids of those newly stored (duplicates are skipped). */
export async function appendEvents(db: Db, rows: NewEventRow[]): Promise<number[]> {
  if (rows.length === 0) return []
  const insert = db
    .insert(events)
    .values(rows)
    .onConflictDoNothing({
      target: [events.lockId, events.lockSeq],
      where: sql`${events.lockSeq} is not null`,
    })
    .getSQL()
  return storeWithDeliveries(db, sql`${insert} ${RETURNED}`)
}

/** The columns of a lock's event row, as `jsonb_to_recordset` reads them (one parameter for a whole batch). */
const LOCK_EVENT_COLUMNS = (
  [
    ['organizationId', 'uuid'],
    ['lockId', 'uuid'],
    ['type', 'text'],
    ['accessCodeId', 'uuid'],
    ['uniqueCodeId', 'uuid'],
    ['gatewayId', 'uuid'],
    ['actorUserId', 'uuid'],
    ['data', 'jsonb'],
    ['occurredAt', 'timestamptz'],
    ['recordedAt', 'timestamptz'],
    ['lockSeq', 'bigint'],
    ['pinHash', 'text'],
  ] as const
).map(([key, type]) => ({ key, name: events[key].name, type }))

const recordsetOf = (rows: readonly NewEventRow[]): string =>
  JSON.stringify(
    rows.map((row) =>
      Object.fromEntries(
        LOCK_EVENT_COLUMNS.map(({ key, name }) => {
          const value = row[key]
          return [name, value instanceof Date ? value.toISOString() : (value ?? null)]
        }),
      ),
    ),
  )

/**
 * Stores a lock's events with their deliveries in one statement: a batch the gateway delivers twice
 * is stored once, by (lock, lock_seq). With `accept` (a data-modifying CTE `accepted`, e.g. the
 * UPDATE that takes the frame's counter, RETURNING a row when it did), nothing is stored unless it
 * returned a row, in the same statement, so the counter and the events commit together or not at
 * all. Returns null when not accepted, else the lock_seqs newly stored.
 */
export async function appendLockEvents(
  db: Db,
  rows: readonly NewEventRow[],
  accept: SQL | null = null,
): Promise<number[] | null> {
  const names = sql.raw(LOCK_EVENT_COLUMNS.map(({ name }) => `"${name}"`).join(', '))
  const types = sql.raw(LOCK_EVENT_COLUMNS.map(({ name, type }) => `"${name}" ${type}`).join(', '))
  const guard = accept === null ? sql`` : sql`where exists (select 1 from accepted)`
  const result = await db.execute<{ accepted: boolean; seqs: (number | string)[] | null }>(sql`
    with ${accept === null ? sql`` : sql`accepted as (${accept}),`}
    stored as (
      insert into ${events} (${names})
      select ${names} from jsonb_to_recordset(${recordsetOf(rows)}::jsonb) as r(${types})
      ${guard}
      on conflict (${sql.identifier(events.lockId.name)}, ${sql.identifier(events.lockSeq.name)})
        where ${sql.identifier(events.lockSeq.name)} is not null do nothing
      ${RETURNED}, ${sql.identifier(events.lockSeq.name)}
    ),
    ${owedDeliveries()}
    select ${accept === null ? sql`true` : sql`exists (select 1 from accepted)`} as accepted,
      (select array_agg(${sql.identifier(events.lockSeq.name)}) from stored) as seqs`)
  const row = result.rows[0]
  if (row === undefined || !row.accepted) return null
  return (row.seqs ?? []).map(Number)
}

/** A server-side event (SPEC §7), e.g. `access_code.created`; `label` is the name owners audit by. */
export interface RecordEventInput {
  organizationId: string
  type: string
  occurredAt: Date
  /** When it was written down (default: occurredAt). */
  recordedAt?: Date
  lockId?: string | null
  accessCodeId?: string | null
  uniqueCodeId?: string | null
  gatewayId?: string | null
  actorUserId?: string | null
  /** The label of what the event speaks of ("Cleaner – Tuesday"), stored as `data.label`. */
  label?: string | null
  data?: Record<string, unknown>
}

/** Appends one server-side event (recorded at its occurrence time); returns its id. */
export async function recordEvent(db: Db, input: RecordEventInput): Promise<number> {
  const data: Record<string, unknown> = { ...(input.data ?? {}) }
  if (input.label !== undefined && input.label !== null) data.label = input.label
  const insert = db
    .insert(events)
    .values({
      organizationId: input.organizationId,
      type: input.type,
      lockId: input.lockId ?? null,
      accessCodeId: input.accessCodeId ?? null,
      uniqueCodeId: input.uniqueCodeId ?? null,
      gatewayId: input.gatewayId ?? null,
      actorUserId: input.actorUserId ?? null,
      data,
      occurredAt: input.occurredAt,
      recordedAt: input.recordedAt ?? input.occurredAt,
    })
    .getSQL()
  const [id] = await storeWithDeliveries(db, sql`${insert} ${RETURNED}`)
  return id!
}
