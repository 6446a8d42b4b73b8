/** Finding a lock or a code within the caller's organization: anything else is `not_found`. */
import { LatchkeyError } from '@latchkey/core'
import { and, eq, inArray, isNull } from 'drizzle-orm'
import type { Db } from '../store/index.ts'
import { type AccessCode, accessCodes, isUuid, type Lock, locks } from '../store/index.ts'

export async function findLock(db: Db, organizationId: string, lockId: string): Promise<Lock> {
  const [lock] = isUuid(lockId)
    ? await db
        .select()
        .from(locks)
        .where(and(eq(locks.id, lockId), eq(locks.organizationId, organizationId), isNull(locks.deletedAt)))
    : []
  if (lock === undefined) throw new LatchkeyError('not_found', `no lock ${lockId}`)
  return lock
}

/** The time zone of a code's lock (a deleted lock's too): its `…Local` times are shown in it. */
export async function lockTimezone(db: Db, lockId: string): Promise<string> {
  const [lock] = await db.select({ timezone: locks.timezone }).from(locks).where(eq(locks.id, lockId))
  return lock?.timezone ?? 'UTC'
}

/** The time zones of these locks, in one query (a lock not found is in UTC). */
export async function lockTimezones(db: Db, lockIds: readonly string[]): Promise<Map<string, string>> {
  const zones = new Map<string, string>()
  const unique = [...new Set(lockIds)]
  if (unique.length === 0) return zones
  const rows = await db
    .select({ id: locks.id, timezone: locks.timezone })
    .from(locks)
    .where(inArray(locks.id, unique))
  for (const row of rows) zones.set(row.id, row.timezone)
  return zones
}

export async function findCode(db: Db, organizationId: string, codeId: string): Promise<AccessCode> {
  const [code] = isUuid(codeId)
    ? await db
        .select()
        .from(accessCodes)
        .where(and(eq(accessCodes.id, codeId), eq(accessCodes.organizationId, organizationId)))
    : []
  if (code === undefined) throw new LatchkeyError('not_found', `no access code ${codeId}`)
  return code
}
