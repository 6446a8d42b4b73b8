/** Codes of a lock, oldest first, paged by an opaque cursor. */
import { LatchkeyError } from '@latchkey/core'
import { and, asc, eq, isNull, ne, or, type SQL, sql } from 'drizzle-orm'
import type { Db } from '../store/index.ts'
import { type AccessCode, accessCodes } from '../store/index.ts'

export interface ListAccessCodesOptions {
  limit: number
  cursor?: string | undefined
  /** Also codes deleted and removed from the lock (by default those are left out). */
  includeRemoved?: boolean | undefined
}

export const encodeCursor = (code: AccessCode) =>
  Buffer.from(JSON.stringify([code.createdAt.getTime(), code.id])).toString('base64url')

export function decodeCursor(cursor: string): { createdAt: Date; id: string } {
  try {
    const [ms, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [unknown, unknown]
    if (
      typeof ms === 'number' &&
      Number.isSafeInteger(ms) &&
      typeof id === 'string' &&
      /^[0-9a-f-]{36}$/.test(id)
    ) {
      return { createdAt: new Date(ms), id }
    }
  } catch {
    // falls through
  }
  throw new LatchkeyError('validation_failed', 'the cursor is not one this list gave', {
    details: { errors: [{ in: 'querystring', field: 'cursor', message: 'unknown cursor' }] },
  })
}

/**
 * The codes after the cursor's in (created_at, id) order, as one row comparison: an index ending in
 * (created_at, id) starts the page at the cursor instead of reading every code before it.
 */
export function afterCursor(cursor: string): SQL {
  const after = decodeCursor(cursor)
  return sql`(${accessCodes.createdAt}, ${accessCodes.id}) > (${after.createdAt.toISOString()}::timestamptz, ${after.id}::uuid)`
}

export async function listAccessCodes(
  db: Db,
  organizationId: string,
  lockId: string,
  options: ListAccessCodesOptions,
): Promise<{ items: AccessCode[]; nextCursor?: string }> {
  const conditions: SQL[] = [eq(accessCodes.organizationId, organizationId), eq(accessCodes.lockId, lockId)]
  if (!options.includeRemoved) {
    conditions.push(or(isNull(accessCodes.deletedAt), ne(accessCodes.status, 'removed')) as SQL)
  }
  if (options.cursor !== undefined) conditions.push(afterCursor(options.cursor))
  const rows = await db
    .select()
    .from(accessCodes)
    .where(and(...conditions))
    .orderBy(asc(accessCodes.createdAt), asc(accessCodes.id))
    .limit(options.limit + 1)
  const items = rows.slice(0, options.limit)
  return rows.length > options.limit
    ? { items, nextCursor: encodeCursor(items[items.length - 1]!) }
    : { items }
}
