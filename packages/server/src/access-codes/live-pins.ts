/**
 * PINs live on a lock: every code that the lock holds or may still accept — synced codes not yet
 * removed and not ended, offline codes that can still be typed — and every deleted offline code the
 * lock may still refuse (its revocation list holds it until the code could no longer open). A new PIN
 * must differ from all of them (SPEC §3, §6).
 */
import { and, eq, gt, isNotNull, isNull, lte, ne, not, or, type SQL, sql } from 'drizzle-orm'
import type { Secrets } from '../secrets.ts'
import type { Db } from '../store/index.ts'
import { accessCodes } from '../store/index.ts'
import { decryptPin } from './rule.ts'

/** Namespace of the advisory locks that serialize choosing PINs on one lock (two-int form). */
const PIN_LOCK_SPACE = 0x4c4b_5031 // "LKP1"

/**
 * Runs `work` in a transaction that holds the lock's PIN lock (on every server process), so checking a
 * PIN against the live ones and storing it cannot interleave with another request on the same lock.
 */
export function withPinLock<T>(db: Db, lockId: string, work: (tx: Db) => Promise<T>): Promise<T> {
  return withPinLocks(db, [lockId], work)
}

/**
 * The same for several locks at once (a stay's PIN on every lock of a property): the locks are taken
 * in one fixed order (by id), so two requests over overlapping locks never wait on each other in a
 * circle.
 */
export function withPinLocks<T>(db: Db, lockIds: string[], work: (tx: Db) => Promise<T>): Promise<T> {
  const ordered = [...new Set(lockIds)].sort()
  return db.transaction(async (tx) => {
    for (const lockId of ordered) {
      await tx.execute(sql`select pg_advisory_xact_lock(${PIN_LOCK_SPACE}, hashtext(${lockId}))`)
    }
    return work(tx)
  })
}

function live(lockId: string, nowMs: number, exceptId?: string): SQL {
  const now = new Date(nowMs)
  return and(
    eq(accessCodes.lockId, lockId),
    or(
      ne(accessCodes.status, 'removed'),
      // A deleted offline code stays on the lock's revocation list until it could no longer open: a
      // new code with its PIN — the same (H, start) — would be refused by the lock as revoked.
      and(eq(accessCodes.delivery, 'offline'), isNotNull(accessCodes.deletedAt)),
    ),
    isNull(accessCodes.expiredAt),
    or(isNull(accessCodes.endsAt), gt(accessCodes.endsAt, now)),
    // An offline code never typed before its first-use limit can no longer be.
    not(
      and(
        eq(accessCodes.delivery, 'offline'),
        eq(accessCodes.uses, 0),
        lte(accessCodes.offlineFirstUseBy, now),
      ) as SQL,
    ),
    exceptId === undefined ? sql`true` : ne(accessCodes.id, exceptId),
  ) as SQL
}

/** Whether a live code of the lock has this PIN (by its keyed hash, nothing decrypted). */
export async function isPinLive(
  db: Db,
  secrets: Secrets,
  lockId: string,
  pin: string,
  nowMs: number,
  exceptId?: string,
): Promise<boolean> {
  const [row] = await db
    .select({ id: accessCodes.id })
    .from(accessCodes)
    .where(and(live(lockId, nowMs, exceptId), eq(accessCodes.pinHash, secrets.lookupHash('pin', pin))))
    .limit(1)
  return row !== undefined
}

/** Every live PIN of the lock, decrypted (one lock: at most its capacity plus its offline codes). */
export async function livePins(
  db: Db,
  secrets: Secrets,
  lockId: string,
  nowMs: number,
): Promise<Set<string>> {
  const rows = await db
    .select({ id: accessCodes.id, pinEncrypted: accessCodes.pinEncrypted })
    .from(accessCodes)
    .where(live(lockId, nowMs))
  return new Set(rows.map((row) => decryptPin(secrets, row)))
}
