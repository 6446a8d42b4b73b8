/**
 * Stays (SPEC §11): a guest's reservation on a property, made by hand (`source: manual`) or from a
 * calendar feed. Each stay holds one PIN on every lock of its property (stay-codes.ts); new dates
 * move it, cancelling or deleting the stay removes it.
 */
import { randomUUID } from 'node:crypto'
import { LatchkeyError } from '@latchkey/core'
import { and, asc, eq, gt, isNull, type SQL } from 'drizzle-orm'
import type { Actor, Deps } from '../access-codes/index.ts'
import { recordEvent } from '../events/index.ts'
import { isUuid, type Property, type Stay, stays } from '../store/index.ts'
import { assertCursor, findProperty } from './properties.ts'
import { issueStayCodes, moveStayCodes, removeStayCodes, renameStayCodes } from './stay-codes.ts'
import { stayTimes } from './stay-times.ts'

export type StayStatus = 'upcoming' | 'active' | 'ended' | 'cancelled'

export function stayStatus(stay: Stay, nowMs: number): StayStatus {
  if (stay.cancelledAt !== null) return 'cancelled'
  if (nowMs >= stay.checkOutAt.getTime()) return 'ended'
  if (nowMs >= stay.checkInAt.getTime()) return 'active'
  return 'upcoming'
}

export interface StayInput {
  propertyId: string
  guestName: string
  checkIn: string
  checkOut: string
  phone?: string | null | undefined
}

export interface StayOrigin {
  calendarId: string
  externalUid: string
}

export type StayEventType = 'stay.created' | 'stay.updated' | 'stay.cancelled' | 'stay.code_not_confirmed'

export async function recordStayEvent(
  deps: Pick<Deps, 'db'>,
  stay: Stay,
  type: StayEventType,
  nowMs: number,
  actorUserId: string | null,
  data: Record<string, unknown> = {},
): Promise<void> {
  await recordEvent(deps.db, {
    organizationId: stay.organizationId,
    lockId: null,
    actorUserId,
    type,
    label: stay.guestName,
    occurredAt: new Date(nowMs),
    recordedAt: new Date(nowMs),
    data: { stayId: stay.id, propertyId: stay.propertyId, ...data },
  })
}

function assertNotOver(endsAt: number, nowMs: number) {
  if (endsAt <= nowMs)
    throw new LatchkeyError('invalid_window', 'the stay has already ended; its code could never open')
}

export async function createStay(
  deps: Deps,
  actor: Actor,
  input: StayInput,
  origin?: StayOrigin,
): Promise<Stay> {
  const nowMs = deps.clock.now()
  const property = await findProperty(deps.db, actor.organizationId, input.propertyId)
  const times = stayTimes(property, input.checkIn, input.checkOut)
  assertNotOver(times.endsAt, nowMs)
  const id = randomUUID()
  const now = new Date(nowMs)
  const phone = input.phone ?? null
  const [inserted] = await deps.db
    .insert(stays)
    .values({
      id,
      organizationId: actor.organizationId,
      propertyId: property.id,
      guestName: input.guestName,
      checkIn: input.checkIn,
      checkOut: input.checkOut,
      checkInAt: new Date(times.checkInAt),
      checkOutAt: new Date(times.checkOutAt),
      phone,
      calendarId: origin?.calendarId ?? null,
      externalUid: origin?.externalUid ?? null,
      codeSource: 'random',
      createdBy: actor.userId,
      createdAt: now,
      updatedAt: now,
    })
    .returning()
  const chosen = await issueStayCodes(deps, actor, property, inserted!, times, nowMs)
  const warnings = chosen.note === null ? [] : [{ code: 'code_strategy_not_applied', message: chosen.note }]
  const [stay] = await deps.db
    .update(stays)
    .set({ codeSource: chosen.source, warnings })
    .where(eq(stays.id, id))
    .returning()
  await recordStayEvent(deps, stay!, 'stay.created', nowMs, actor.userId, {
    source: origin === undefined ? 'manual' : 'calendar',
    codeSource: chosen.source,
  })
  return stay!
}

export async function findStay(deps: Pick<Deps, 'db'>, organizationId: string, id: string): Promise<Stay> {
  const [row] = isUuid(id)
    ? await deps.db
        .select()
        .from(stays)
        .where(and(eq(stays.id, id), eq(stays.organizationId, organizationId), isNull(stays.deletedAt)))
    : []
  if (row === undefined) throw new LatchkeyError('not_found', 'no such stay')
  return row
}

export async function listStays(
  deps: Pick<Deps, 'db'>,
  organizationId: string,
  query: { limit: number; cursor?: string | undefined; propertyId?: string | undefined },
): Promise<{ items: Stay[]; nextCursor?: string }> {
  const filters: (SQL | undefined)[] = [eq(stays.organizationId, organizationId), isNull(stays.deletedAt)]
  if (query.propertyId !== undefined) {
    if (!isUuid(query.propertyId)) return { items: [] }
    filters.push(eq(stays.propertyId, query.propertyId))
  }
  assertCursor(query.cursor)
  if (query.cursor !== undefined) filters.push(gt(stays.id, query.cursor))
  const rows = await deps.db
    .select()
    .from(stays)
    .where(and(...filters))
    .orderBy(asc(stays.id))
    .limit(query.limit + 1)
  const items = rows.slice(0, query.limit)
  return rows.length > query.limit ? { items, nextCursor: items.at(-1)!.id } : { items }
}

export interface StayChange {
  guestName?: string | undefined
  checkIn?: string | undefined
  checkOut?: string | undefined
  phone?: string | null | undefined
  status?: 'cancelled' | undefined
}

export async function updateStay(deps: Deps, actor: Actor, id: string, change: StayChange): Promise<Stay> {
  const nowMs = deps.clock.now()
  const stay = await findStay(deps, actor.organizationId, id)
  if (change.status === 'cancelled') return cancelStay(deps, actor, stay)
  if (stay.cancelledAt !== null) throw new LatchkeyError('conflict', 'the stay was cancelled; make a new one')
  const property = await findProperty(deps.db, actor.organizationId, stay.propertyId)
  const checkIn = change.checkIn ?? stay.checkIn
  const checkOut = change.checkOut ?? stay.checkOut
  const moved = checkIn !== stay.checkIn || checkOut !== stay.checkOut
  const times = stayTimes(property, checkIn, checkOut)
  const changes: Partial<typeof stays.$inferInsert> = { updatedAt: new Date(nowMs) }
  if (moved) {
    assertNotOver(times.endsAt, nowMs)
    Object.assign(changes, {
      checkIn,
      checkOut,
      checkInAt: new Date(times.checkInAt),
      checkOutAt: new Date(times.checkOutAt),
      // a new window is confirmed anew
      codeNotConfirmedAt: null,
      warnings: stay.warnings.filter((w) => w.code !== 'code_not_confirmed'),
    })
  }
  if (change.guestName !== undefined) changes.guestName = change.guestName
  if (change.phone !== undefined) changes.phone = change.phone
  const [updated] = await deps.db.update(stays).set(changes).where(eq(stays.id, stay.id)).returning()
  if (moved) await moveStayCodes(deps, actor, stay.id, times)
  if (change.guestName !== undefined && change.guestName !== stay.guestName)
    await renameStayCodes(deps, actor, updated!)
  await recordStayEvent(deps, updated!, 'stay.updated', nowMs, actor.userId, {
    changed: Object.keys(change).filter((k) => change[k as keyof StayChange] !== undefined),
  })
  return updated!
}

export async function cancelStay(deps: Deps, actor: Actor, stay: Stay): Promise<Stay> {
  if (stay.cancelledAt !== null) return stay
  const nowMs = deps.clock.now()
  const [cancelled] = await deps.db
    .update(stays)
    .set({ cancelledAt: new Date(nowMs), updatedAt: new Date(nowMs) })
    .where(and(eq(stays.id, stay.id), isNull(stays.cancelledAt)))
    .returning()
  if (cancelled === undefined) return findStay(deps, actor.organizationId, stay.id)
  await removeStayCodes(deps, actor, stay.id)
  await recordStayEvent(deps, cancelled, 'stay.cancelled', nowMs, actor.userId)
  return cancelled
}

export async function deleteStay(deps: Deps, actor: Actor, id: string): Promise<Stay> {
  const stay = await cancelStay(deps, actor, await findStay(deps, actor.organizationId, id))
  const [deleted] = await deps.db
    .update(stays)
    .set({ deletedAt: new Date(deps.clock.now()) })
    .where(eq(stays.id, stay.id))
    .returning()
  return deleted!
}

/** Cancels every stay of a property being deleted. */
export async function cancelStaysOf(deps: Deps, actor: Actor, property: Property): Promise<void> {
  const rows = await deps.db
    .select()
    .from(stays)
    .where(and(eq(stays.propertyId, property.id), isNull(stays.cancelledAt), isNull(stays.deletedAt)))
  for (const stay of rows) await cancelStay(deps, actor, stay)
}
