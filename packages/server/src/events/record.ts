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

/** Inserts the events of `insert` (which returns id, organization_id, type, recorded_at) and their deliveries. */
async function storeWithDeliveries(db: Db, insert: SQL): Promise<number[]> {
  const d = webhookDeliveries
  const w = webhooks
  const result = await db.execute<{ id: number | string }>(sql`
    with stored as (${insert}),
    owed as (
      insert into ${d} (${sql.identifier(d.organizationId.name)}, ${sql.identifier(d.webhookId.name)},
        ${sql.identifier(d.eventId.name)}, ${sql.identifier(d.eventType.name)},
        ${sql.identifier(d.nextAttemptAt.name)}, ${sql.identifier(d.createdAt.name)})
      select s.organization_id, ${w.id}, s.id, s.type, s.recorded_at, s.recorded_at
      from stored s join ${w} on ${w.organizationId} = s.organization_id and ${w.enabled}
      where ${w.eventTypes} is null or s.type = any(${w.eventTypes})
        or split_part(s.type, '.', 1) || '.*' = any(${w.eventTypes})
    )
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
