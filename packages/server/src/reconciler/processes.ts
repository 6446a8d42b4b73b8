/**
 * Which server processes are alive (`server_processes`): each reconciler writes its own row every
 * tick. A process that has not written it for a claim's lease (5 s) has died, or stopped: the first
 * process to see it takes it off the list and sends again at once what was in flight. Not only its own
 * commands: with shared subscriptions the broker hands each answer to one process, whichever sent the
 * command, so an answer to any of them may have gone with it. Pending commands are dropped and the
 * tables read again (a command may have reached the lock and its answer be lost), so every such lock is
 * looked at now, not after the command timeout (30 s).
 */
import { lt, sql } from 'drizzle-orm'
import type { Db } from '../store/index.ts'
import { lockSync, serverProcesses } from '../store/index.ts'

/** This process is alive at `nowMs`. */
export async function heartbeat(db: Db, processId: string, nowMs: number): Promise<void> {
  const seenAt = new Date(nowMs)
  await db
    .insert(serverProcesses)
    .values({ id: processId, seenAt })
    .onConflictDoUpdate({ target: serverProcesses.id, set: { seenAt } })
}

/**
 * Takes off the list the processes not seen for `deadAfterMs`, each once (of two processes asking at
 * once, one deletes the row), and sends again what each left in flight; resolves with their ids.
 */
export async function releaseDeadProcesses(db: Db, nowMs: number, deadAfterMs: number): Promise<string[]> {
  const dead = await db
    .delete(serverProcesses)
    .where(lt(serverProcesses.seenAt, new Date(nowMs - deadAfterMs)))
    .returning({ id: serverProcesses.id })
  if (dead.length > 0) await releaseInFlight(db, nowMs, nowMs)
  return dead.map((row) => row.id)
}

/**
 * What was sent before `beforeMs` and not answered may never be answered (its answer lost with a
 * process, or with the broker's restart): the pending commands are dropped, the tables read again
 * (a command may have reached its lock), the locks due now. Later commands stay in flight.
 */
export async function releaseInFlight(db: Db, nowMs: number, beforeMs: number): Promise<void> {
  const now = new Date(nowMs)
  const before = new Date(beforeMs)
  const sentBefore = sql`(e.value ->> 'at')::bigint < ${beforeMs}`
  await db
    .update(lockSync)
    .set({
      pending: sql`coalesce((select jsonb_object_agg(e.key, e.value) from jsonb_each(${lockSync.pending}) e
        where not ${sentBefore}), '{}'::jsonb)`,
      stale: true,
      readRequestedAt: null,
      readRequestedBy: null,
      dueAt: sql`least(${lockSync.dueAt}, ${now})`,
      updatedAt: now,
    })
    .where(
      sql`(${lockSync.readRequestedAt} is not null and ${lockSync.readRequestedAt} < ${before})
        or exists (select 1 from jsonb_each(${lockSync.pending}) e where ${sentBefore})`,
    )
}
