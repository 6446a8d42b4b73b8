/**
 * Codes across every lock of the organization (SPEC §8 `GET /access-codes`): by status (or every code
 * with an error), by lock, by property (the codes on its locks) and by name (case-insensitive, any
 * part of it), oldest first, by cursor.
 */
import { and, asc, eq, ilike, inArray, isNull, ne, or, type SQL, sql } from 'drizzle-orm'
import type { Db } from '../store/index.ts'
import {
  type AccessCode,
  type AccessCodeStatus,
  accessCodes,
  isUuid,
  locks,
  propertyLockIds,
} from '../store/index.ts'
import { afterCursor, encodeCursor } from './list-access-codes.ts'

/** `errors`: every code whose `errors` list is not empty (whatever its status). */
export type StatusFilter = AccessCodeStatus | 'errors'

export interface SearchAccessCodesOptions {
  limit: number
  cursor?: string | undefined
  /** Any of these (empty or missing: every status but codes deleted and removed from the lock). */
  status?: StatusFilter[] | undefined
  lockId?: string | undefined
  /** The codes on the property's locks (its stays' codes and every other). */
  propertyId?: string | undefined
  /** Part of the name, any case. */
  q?: string | undefined
}

/** `%` and `_` in a search text are literal characters, not patterns. */
const likeText = (text: string) => `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`

export async function searchAccessCodes(
  db: Db,
  organizationId: string,
  options: SearchAccessCodesOptions,
): Promise<{ items: AccessCode[]; nextCursor?: string }> {
  const conditions: SQL[] = [eq(accessCodes.organizationId, organizationId), isNull(locks.deletedAt)]
  if (options.lockId !== undefined) {
    if (!isUuid(options.lockId)) return { items: [] }
    conditions.push(eq(accessCodes.lockId, options.lockId))
  }
  if (options.propertyId !== undefined) {
    if (!isUuid(options.propertyId)) return { items: [] }
    conditions.push(sql`${accessCodes.lockId} in ${propertyLockIds(organizationId, options.propertyId)}`)
  }
  const statuses = (options.status ?? []).filter((s): s is AccessCodeStatus => s !== 'errors')
  const withErrors = options.status?.includes('errors') ?? false
  if (statuses.length > 0 || withErrors) {
    const any: SQL[] = []
    if (statuses.length > 0) any.push(inArray(accessCodes.status, statuses))
    if (withErrors) any.push(sql`jsonb_array_length(${accessCodes.errors}) > 0`)
    conditions.push(or(...any) as SQL)
  } else {
    conditions.push(or(isNull(accessCodes.deletedAt), ne(accessCodes.status, 'removed')) as SQL)
  }
  if (options.q !== undefined && options.q.trim() !== '') {
    conditions.push(ilike(accessCodes.name, likeText(options.q.trim())))
  }
  if (options.cursor !== undefined) conditions.push(afterCursor(options.cursor))
  const rows = await db
    .select({ code: accessCodes })
    .from(accessCodes)
    .innerJoin(locks, eq(locks.id, accessCodes.lockId))
    .where(and(...conditions))
    .orderBy(asc(accessCodes.createdAt), asc(accessCodes.id))
    .limit(options.limit + 1)
  const items = rows.slice(0, options.limit).map((row) => row.code)
  return rows.length > options.limit
    ? { items, nextCursor: encodeCursor(items[items.length - 1]!) }
    : { items }
}
