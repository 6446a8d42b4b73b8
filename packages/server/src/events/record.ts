/**
 * Appending to the audit log. Events that came from a lock carry its `lockSeq`: a batch the
 * gateway delivers twice is stored once (unique (lock_id, lock_seq)), so acknowledging what was
 * stored never loses or doubles an event.
 */
import { sql } from 'drizzle-orm'
import type { Db } from '../store/index.ts'
import { events, type NewEventRow } from '../store/index.ts'

/** Stores the events in one statement; returns the ids of those newly stored (duplicates are skipped). */
export async function appendEvents(db: Db, rows: NewEventRow[]): Promise<number[]> {
  if (rows.length === 0) return []
  const stored = await db
    .insert(events)
    .values(rows)
    .onConflictDoNothing({
      target: [events.lockId, events.lockSeq],
      where: sql`${events.lockSeq} is not null`,
    })
    .returning({ id: events.id })
  return stored.map((row) => row.id)
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
  const [row] = await db
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
    .returning({ id: events.id })
  return row!.id
}
