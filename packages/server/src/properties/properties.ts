/**
 * Properties (SPEC §11): a place with a time zone and some of the organization's locks, and the
 * defaults its stays take: check-in and check-out times, buffers, the PIN's length and how it is
 * chosen, the message sent to the guest.
 */
import { assertTimezone, LatchkeyError, PIN_MAX_LENGTH, PIN_MIN_LENGTH } from '@latchkey/core'
import { and, asc, eq, gt, isNull } from 'drizzle-orm'
import type { Actor } from '../access-codes/index.ts'
import { findLock } from '../access-codes/index.ts'
import type { Db } from '../store/index.ts'
import { type CodeStrategy, isUuid, type Property, properties } from '../store/index.ts'

export const DEFAULT_MESSAGE_TEMPLATE =
  'Hi {{guestName}}, welcome to {{propertyName}}! Your door code is {{code}}. It works from check-in, {{checkIn}}, until check-out, {{checkOut}}.'

export const PROPERTY_DEFAULTS = {
  checkInTime: '15:00',
  checkOutTime: '10:00',
  bufferBeforeMinutes: 0,
  bufferAfterMinutes: 0,
  codeLength: 6,
  codeStrategy: 'random' as CodeStrategy,
  messageTemplate: DEFAULT_MESSAGE_TEMPLATE,
}

export interface PropertyInput {
  name?: string | undefined
  timezone?: string | undefined
  lockIds?: string[] | undefined
  checkInTime?: string | undefined
  checkOutTime?: string | undefined
  bufferBeforeMinutes?: number | undefined
  bufferAfterMinutes?: number | undefined
  codeLength?: number | undefined
  codeStrategy?: CodeStrategy | undefined
  messageTemplate?: string | undefined
}

const HHMM = /^([01]\d|2[0-3]):[0-5]\d$/

async function checked(db: Db, organizationId: string, input: PropertyInput): Promise<PropertyInput> {
  if (input.timezone !== undefined) assertTimezone(input.timezone)
  for (const field of ['checkInTime', 'checkOutTime'] as const) {
    const value = input[field]
    if (value !== undefined && !HHMM.test(value)) {
      throw new LatchkeyError('validation_failed', `${field} is a local time "HH:MM" (24 h), not "${value}"`)
    }
  }
  if (
    input.codeLength !== undefined &&
    (input.codeLength < PIN_MIN_LENGTH || input.codeLength > PIN_MAX_LENGTH)
  ) {
    throw new LatchkeyError('invalid_pin', `a PIN is ${PIN_MIN_LENGTH} to ${PIN_MAX_LENGTH} digits`)
  }
  if (input.lockIds !== undefined) {
    const ids = [...new Set(input.lockIds)]
    for (const lockId of ids) await findLock(db, organizationId, lockId)
    return { ...input, lockIds: ids }
  }
  return input
}

export async function createProperty(
  db: Db,
  actor: Actor,
  nowMs: number,
  input: PropertyInput & { name: string; timezone: string; lockIds: string[] },
): Promise<Property> {
  const valid = await checked(db, actor.organizationId, input)
  const now = new Date(nowMs)
  const [row] = await db
    .insert(properties)
    .values({
      ...PROPERTY_DEFAULTS,
      ...definedOnly(valid),
      name: input.name,
      timezone: input.timezone,
      lockIds: valid.lockIds ?? [],
      organizationId: actor.organizationId,
      createdAt: now,
      updatedAt: now,
    })
    .returning()
  return row!
}

export async function findProperty(db: Db, organizationId: string, id: string): Promise<Property> {
  const [row] = isUuid(id)
    ? await db
        .select()
        .from(properties)
        .where(
          and(
            eq(properties.id, id),
            eq(properties.organizationId, organizationId),
            isNull(properties.deletedAt),
          ),
        )
    : []
  if (row === undefined) throw new LatchkeyError('not_found', 'no such property')
  return row
}

export async function listProperties(
  db: Db,
  organizationId: string,
  query: { limit: number; cursor?: string | undefined },
): Promise<{ items: Property[]; nextCursor?: string }> {
  assertCursor(query.cursor)
  const rows = await db
    .select()
    .from(properties)
    .where(
      and(
        eq(properties.organizationId, organizationId),
        isNull(properties.deletedAt),
        query.cursor === undefined ? undefined : gt(properties.id, query.cursor),
      ),
    )
    .orderBy(asc(properties.id))
    .limit(query.limit + 1)
  const items = rows.slice(0, query.limit)
  return rows.length > query.limit ? { items, nextCursor: items.at(-1)!.id } : { items }
}

/** Changes apply to stays made or moved from now on; the codes of existing stays keep their locks. */
export async function updateProperty(
  db: Db,
  actor: Actor,
  id: string,
  nowMs: number,
  input: PropertyInput,
): Promise<Property> {
  await findProperty(db, actor.organizationId, id)
  const valid = await checked(db, actor.organizationId, input)
  const [row] = await db
    .update(properties)
    .set({ ...definedOnly(valid), updatedAt: new Date(nowMs) })
    .where(and(eq(properties.id, id), eq(properties.organizationId, actor.organizationId)))
    .returning()
  return row!
}

/** A list cursor is the last id of the page before. */
export function assertCursor(cursor: string | undefined): void {
  if (cursor !== undefined && !isUuid(cursor)) {
    throw new LatchkeyError('validation_failed', 'cursor is the nextCursor of an earlier page')
  }
}

function definedOnly<T extends object>(input: T): Partial<T> {
  return Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)) as Partial<T>
}

export interface PropertyView {
  id: string
  name: string
  timezone: string
  lockIds: string[]
  checkInTime: string
  checkOutTime: string
  bufferBeforeMinutes: number
  bufferAfterMinutes: number
  codeLength: number
  codeStrategy: CodeStrategy
  messageTemplate: string
  createdAt: string
  updatedAt: string
}

export function propertyView(p: Property): PropertyView {
  return {
    id: p.id,
    name: p.name,
    timezone: p.timezone,
    lockIds: p.lockIds,
    checkInTime: p.checkInTime,
    checkOutTime: p.checkOutTime,
    bufferBeforeMinutes: p.bufferBeforeMinutes,
    bufferAfterMinutes: p.bufferAfterMinutes,
    codeLength: p.codeLength,
    codeStrategy: p.codeStrategy,
    messageTemplate: p.messageTemplate,
    createdAt: p.createdAt.toISOString(),
    updatedAt: p.updatedAt.toISOString(),
  }
}
