/**
 * The eKeys a lock must refuse (SPEC §4): every eKey the server signs is recorded, and carries the id
 * of its share; revoking a share or deleting a unique code marks its unexpired keys revoked. The
 * reconciler sends each lock its revoked shares (`share:<id>`, set_revocations) while a revoked key of
 * the share has not expired: one entry per share however many keys were issued for it, and an expired
 * key is refused by its window anyway (eKeys live at most 24 h).
 */
import { shareRevocationId } from '@latchkey/protocol'
import { and, asc, eq, gt, isNotNull, isNull } from 'drizzle-orm'
import { requestReconcile } from '../reconciler/index.ts'
import type { Db } from '../store/index.ts'
import { ekeys } from '../store/index.ts'

const toDate = (now: Date | number): Date => (typeof now === 'number' ? new Date(now) : now)

/** `share:<id>` of each share with a revoked eKey of the lock not expired at `now`, sorted. */
export async function revokedShares(db: Db, lockId: string, now: Date | number): Promise<string[]> {
  const rows = await db
    .selectDistinct({ permissionId: ekeys.permissionId })
    .from(ekeys)
    .where(and(eq(ekeys.lockId, lockId), gt(ekeys.notAfter, toDate(now)), isNotNull(ekeys.revokedAt)))
    .orderBy(asc(ekeys.permissionId))
  return rows.map((row) => shareRevocationId(row.permissionId))
}

/** What to revoke: the keys of one share, or of every share of a unique code. */
export type EKeyScope = { permissionId: string } | { uniqueCodeId: string }

/**
 * Marks the unexpired, not yet revoked eKeys of `scope` revoked; returns the locks whose revocation
 * list changed (pass them to `requestRevocationSync` once the transaction has committed).
 */
export async function revokeEKeys(db: Db, scope: EKeyScope, now: Date | number): Promise<string[]> {
  const at = toDate(now)
  const owner =
    'permissionId' in scope
      ? eq(ekeys.permissionId, scope.permissionId)
      : eq(ekeys.uniqueCodeId, scope.uniqueCodeId)
  const revoked = await db
    .update(ekeys)
    .set({ revokedAt: at })
    .where(and(owner, isNull(ekeys.revokedAt), gt(ekeys.notAfter, at)))
    .returning({ lockId: ekeys.lockId })
  return [...new Set(revoked.map((row) => row.lockId))]
}

/**
 * Asks the reconciler to look at these locks now: their revocation list changed, and it sends them
 * the new one (`set_revocations`) as soon as they can be reached.
 */
export async function requestRevocationSync(
  db: Db,
  nowMs: number,
  lockIds: readonly string[],
): Promise<void> {
  const clock = { now: () => nowMs }
  for (const lockId of new Set(lockIds)) await requestReconcile({ db, clock }, lockId, { readTable: false })
}
