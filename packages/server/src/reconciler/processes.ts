/**
 * Which server processes are alive (`server_processes`): each reconciler writes its own row every
 * tick. A process that has not written it for a claim's lease (5 s) has died, or stopped: the first
 * process to see it takes it off the list and sends again at once what it left in flight. Its pending
 * commands are dropped and its locks' tables read again (a command it sent may have reached the lock,
 * and its answer gone with the process), so every such lock is looked at now, not after the command
 * timeout (30 s).
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
  for (const { id } of dead) await releaseInFlight(db, id, nowMs)
  return dead.map((row) => row.id)
}

/** The commands `processId` left in flight: dropped, the tables read again, the locks due now. */
async function releaseInFlight(db: Db, processId: string, nowMs: number): Promise<void> {
  const now = new Date(nowMs)
  const byIt = sql`exists (select 1 from jsonb_each(${lockSync.pending}) e where e.value ->> 'by' = ${processId})`
  await db
    .update(lockSync)
    .set({
      pending: sql`coalesce((select jsonb_object_agg(e.key, e.value) from jsonb_each(${lockSync.pending}) e
        where e.value ->> 'by' is distinct from ${processId}), '{}'::jsonb)`,
      stale: true,
      readRequestedAt: null,
      readRequestedBy: null,
      dueAt: sql`least(${lockSync.dueAt}, ${now})`,
      updatedAt: now,
    })
    .where(
      sql`(${lockSync.readRequestedAt} is not null and ${lockSync.readRequestedBy} = ${processId}) or (${lockSync.pending} <> '{}'::jsonb and ${byIt})`,
    )
}
