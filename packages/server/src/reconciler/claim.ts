/**
 * Claims on locks: work on one lock is done by one server process at a time (SPEC §1). A claim is a
 * lease on the lock's row (`claimed_by`, `claimed_until`), taken in one conditional UPDATE, so of
 * two processes asking at once only one gets it; a process that dies leaves a lease that runs out.
 */
import { and, asc, eq, inArray, isNotNull, isNull, lt, lte, or } from 'drizzle-orm'
import { drivenHere } from '../devices/index.ts'
import type { Db } from '../store/index.ts'
import { lockSync, locks } from '../store/index.ts'

/**
 * Claims up to `limit` locks whose reconciler work is due at `nowMs` and that nobody holds. Rows
 * another process is claiming at this very moment are skipped (`skip locked`), so processes asking
 * together share the due locks instead of all reaching for the same ones. Of the Matter locks, only
 * those of this process's fabric (`matterController`) are its to claim.
 */
export async function claimDueLocks(
  db: Db,
  owner: string,
  nowMs: number,
  ttlMs: number,
  limit: number,
  matterController: string | null = null,
): Promise<string[]> {
  const now = new Date(nowMs)
  const free = or(isNull(locks.claimedUntil), lt(locks.claimedUntil, now))
  const due = db
    .select({ id: locks.id })
    .from(locks)
    .innerJoin(lockSync, eq(lockSync.lockId, locks.id))
    .where(and(lte(lockSync.dueAt, now), isNull(locks.deletedAt), free, drivenHere(matterController)))
    .orderBy(asc(lockSync.dueAt))
    .limit(limit)
    .for('update', { of: locks, skipLocked: true })
  const claimed = await db
    .update(locks)
    .set({ claimedBy: owner, claimedUntil: new Date(nowMs + ttlMs) })
    .where(and(inArray(locks.id, due), free))
    .returning({ id: locks.id })
  return claimed.map((row) => row.id)
}

/** Claims one lock, if nobody holds it (and it is this process's to drive). */
export async function claimLock(
  db: Db,
  owner: string,
  lockId: string,
  nowMs: number,
  ttlMs: number,
  matterController: string | null = null,
): Promise<boolean> {
  const now = new Date(nowMs)
  const claimed = await db
    .update(locks)
    .set({ claimedBy: owner, claimedUntil: new Date(nowMs + ttlMs) })
    .where(
      and(
        eq(locks.id, lockId),
        or(isNull(locks.claimedUntil), lt(locks.claimedUntil, now)),
        drivenHere(matterController),
      ),
    )
    .returning({ id: locks.id })
  return claimed.length === 1
}

/** Gives back every claim (at the start of the one process working on the store: they are a killed run's). */
export async function releaseAllLocks(db: Db): Promise<void> {
  await db.update(locks).set({ claimedBy: null, claimedUntil: null }).where(isNotNull(locks.claimedBy))
}

/** Gives the lock back (only if this owner still holds it). */
export async function releaseLock(db: Db, owner: string, lockId: string): Promise<void> {
  await db
    .update(locks)
    .set({ claimedBy: null, claimedUntil: null })
    .where(and(eq(locks.id, lockId), eq(locks.claimedBy, owner)))
}
