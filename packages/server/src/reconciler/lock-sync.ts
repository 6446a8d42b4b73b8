/**
 * The reconciler's state of one lock in the store (`lock_sync`), changed only by single statements
 * that merge into it (jsonb `||` and `-`), because replies are handled in whichever server process
 * receives them while another process may be working on the lock.
 */
import { and, eq, lt, sql } from 'drizzle-orm'
import { linkReachable } from '../devices/index.ts'
import type { Db } from '../store/index.ts'
import { type LockSync, lockSync, locks, type PendingOp, type ReportedCode } from '../store/index.ts'

/** The key of the revocation list's command in `pending`. */
export const REVOCATIONS_KEY = ':revocations'

/**
 * Makes sure the lock has a state row and that it is looked at no later than `dueAtMs`; with
 * `readTable`, the lock is asked for its table again first.
 */
export async function markDue(
  db: Db,
  lockId: string,
  dueAtMs: number,
  options: { readTable?: boolean; nowMs?: number } = {},
): Promise<void> {
  const due = new Date(dueAtMs)
  const now = new Date(options.nowMs ?? dueAtMs)
  const stale = options.readTable === true
  await db.execute(sql`
    insert into ${lockSync} (lock_id, organization_id, due_at, updated_at)
    select ${locks.id}, ${locks.organizationId}, ${due}, ${now} from ${locks} where ${locks.id} = ${lockId}
    on conflict (lock_id) do update set
      due_at = least(${lockSync.dueAt}, excluded.due_at),
      stale = ${lockSync.stale} or ${stale},
      updated_at = excluded.updated_at`)
}

export async function loadLockSync(db: Db, lockId: string): Promise<LockSync | undefined> {
  const [row] = await db.select().from(lockSync).where(eq(lockSync.lockId, lockId))
  return row
}

/** Adds or replaces pending commands. */
export async function putPending(
  db: Db,
  lockId: string,
  ops: Record<string, PendingOp>,
  nowMs: number,
): Promise<void> {
  if (Object.keys(ops).length === 0) return
  await db
    .update(lockSync)
    .set({ pending: sql`${lockSync.pending} || ${JSON.stringify(ops)}::jsonb`, updatedAt: new Date(nowMs) })
    .where(eq(lockSync.lockId, lockId))
}

/** Drops pending commands by key. */
export async function dropPending(db: Db, lockId: string, keys: string[], nowMs: number): Promise<void> {
  if (keys.length === 0) return
  await db
    .update(lockSync)
    .set({
      pending: keys.reduce((acc, key) => sql`${acc} - ${key}::text`, sql`${lockSync.pending}`),
      updatedAt: new Date(nowMs),
    })
    .where(eq(lockSync.lockId, lockId))
}

/**
 * The lock confirmed a code: it holds (or no longer holds) it. `op` is the pending command this
 * answers; the pending entry goes only if it is for the same operation. `counter` is the lock's reply
 * frame: a whole table report from a later frame, handled first by another server process, already
 * holds this change (and maybe a later one of the same code), so the change is not merged over it.
 */
export async function recordTableChange(
  db: Db,
  lockId: string,
  codeId: string,
  entry: ReportedCode | null,
  op: PendingOp['op'],
  nowMs: number,
  counter: number,
): Promise<void> {
  const merged =
    entry === null
      ? sql`${lockSync.reported} - ${codeId}::text`
      : sql`${lockSync.reported} || jsonb_build_object(${codeId}::text, jsonb_build_object('d', ${entry.d}::text, 'u', greatest(${entry.u}::int, coalesce((${lockSync.reported} -> ${codeId}::text ->> 'u')::int, 0))))`
  await db
    .update(lockSync)
    .set({
      reported: sql`case when ${lockSync.reportCounter} < ${counter} then ${merged} else ${lockSync.reported} end`,
      tableCounter: sql`greatest(${lockSync.tableCounter}, ${counter})`,
      pending: sql`case when ${lockSync.pending} -> ${codeId}::text ->> 'op' = ${op}::text then ${lockSync.pending} - ${codeId}::text else ${lockSync.pending} end`,
      dueAt: sql`least(${lockSync.dueAt}, ${new Date(nowMs)})`,
      updatedAt: new Date(nowMs),
    })
    .where(eq(lockSync.lockId, lockId))
  await db
    .update(locks)
    .set({
      codesOnLock: sql`(select count(*) from ${lockSync}, jsonb_object_keys(${lockSync.reported}) where ${lockSync.lockId} = ${lockId})::int`,
    })
    .where(eq(locks.id, lockId))
}

/**
 * A whole table report replaces what was known; codes in flight stay pending. A report older than
 * a reply already taken (`counter` below `table_counter`: two server processes handled the lock's
 * frames out of order) would undo that reply: it is not taken, and the table is read again instead.
 * Resolves whether it was taken.
 */
export async function recordTableReport(
  db: Db,
  lockId: string,
  reported: Record<string, ReportedCode>,
  revocations: string[],
  nowMs: number,
  counter: number,
): Promise<boolean> {
  const now = new Date(nowMs)
  const taken = await db
    .update(lockSync)
    .set({
      reported,
      revocations,
      reportCounter: counter,
      tableCounter: counter,
      reportedAt: now,
      stale: false,
      readRequestedAt: null,
      dueAt: sql`least(${lockSync.dueAt}, ${now})`,
      updatedAt: now,
    })
    .where(and(eq(lockSync.lockId, lockId), lt(lockSync.tableCounter, counter)))
    .returning({ lockId: lockSync.lockId })
  if (taken.length === 0) {
    await markStale(db, lockId, nowMs, { due: true })
    return false
  }
  await db
    .update(locks)
    .set({ codesOnLock: Object.keys(reported).length })
    .where(eq(locks.id, lockId))
  return true
}

/** The lock took this revocation list (`counter`: its reply frame, as for recordTableChange). */
export async function recordRevocations(
  db: Db,
  lockId: string,
  keyIds: string[],
  nowMs: number,
  counter: number,
): Promise<void> {
  const now = new Date(nowMs)
  await db
    .update(lockSync)
    .set({
      revocations: sql`case when ${lockSync.reportCounter} < ${counter} then ${JSON.stringify(keyIds)}::jsonb else ${lockSync.revocations} end`,
      tableCounter: sql`greatest(${lockSync.tableCounter}, ${counter})`,
      pending: sql`${lockSync.pending} - ${REVOCATIONS_KEY}::text`,
      dueAt: sql`least(${lockSync.dueAt}, ${now})`,
      updatedAt: now,
    })
    .where(eq(lockSync.lockId, lockId))
}

/**
 * The lock's table must be read again (a reply showed it differs from what was known, or the lock
 * went out of reach); with `due`, as soon as possible.
 */
export async function markStale(
  db: Db,
  lockId: string,
  nowMs: number,
  options: { due: boolean },
): Promise<void> {
  const now = new Date(nowMs)
  await db
    .update(lockSync)
    .set({
      stale: true,
      readRequestedAt: null,
      ...(options.due ? { dueAt: sql`least(${lockSync.dueAt}, ${now})` } : {}),
      updatedAt: now,
    })
    .where(eq(lockSync.lockId, lockId))
}

/**
 * Follows the links of locks (SPEC §5: the table is read when a lock comes online): a lock that is
 * out of reach is marked stale, and a stale lock that is back in reach (linkReachable: online, and
 * its gateway online; a Matter lock has no gateway) is due now for a table read. Locks that come
 * online for the first time get a state row.
 */
export async function followLinks(db: Db, nowMs: number): Promise<void> {
  const now = new Date(nowMs)
  await db.execute(sql`
    insert into ${lockSync} (lock_id, organization_id, due_at, updated_at)
    select ${locks.id}, ${locks.organizationId}, ${now}, ${now} from ${locks}
    where ${locks.deletedAt} is null and ${linkReachable}
      and not exists (select 1 from ${lockSync} where ${lockSync.lockId} = ${locks.id})
    on conflict (lock_id) do nothing`)
  // Out of reach: what it holds is read again when it is back, and the commands in flight are
  // forgotten (their answers will not come), so they go again at once then, not after their timeout.
  await db.execute(sql`
    update ${lockSync} set stale = true, read_requested_at = null, pending = '{}'::jsonb
    from ${locks}
    where ${locks.id} = ${lockSync.lockId} and not ${lockSync.stale} and not ${linkReachable}`)
  await db.execute(sql`
    update ${lockSync} set due_at = ${now}
    from ${locks}
    where ${locks.id} = ${lockSync.lockId} and ${lockSync.stale} and ${lockSync.readRequestedAt} is null
      and ${lockSync.dueAt} > ${now} and ${linkReachable}`)
}

/** Forgets every command in flight (at the start of the one process working on the store). */
export async function forgetPending(db: Db, nowMs: number): Promise<void> {
  await db
    .update(lockSync)
    .set({ pending: {}, updatedAt: new Date(nowMs) })
    .where(sql`${lockSync.pending} <> '{}'::jsonb`)
}

/**
 * After a restart of the server, every lock's table is read again; with `before` (the broker was lost
 * then), every table not reported since.
 */
export async function markAllStale(db: Db, nowMs: number, before?: number): Promise<void> {
  const now = new Date(nowMs)
  const since = before === undefined ? null : new Date(before)
  await db
    .update(lockSync)
    .set({ stale: true, readRequestedAt: null, dueAt: sql`least(${lockSync.dueAt}, ${now})` })
    .where(
      since === null ? undefined : sql`${lockSync.reportedAt} is null or ${lockSync.reportedAt} < ${since}`,
    )
}
