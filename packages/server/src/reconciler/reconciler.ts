/**
 * The reconciler (SPEC §5): per lock, the desired code table (codes not deleted whose just-in-time
 * moment has come and whose window has not ended) against what the lock reported; the difference
 * goes out as sealed commands, retried with backoff until the lock acknowledges it.
 *
 * Everything it knows lives in the store (`lock_sync`, `access_codes`), so any server process can
 * carry on after another stops; a lock is worked on by one process at a time (claim.ts). Each tick
 * claims the locks that are due; a change made through the API, a reply or a lock event makes its
 * lock due at once (`requestReconcile`, `markDue`).
 */

import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import type { Clock } from '@latchkey/core'
import { and, eq, isNull, lte, min } from 'drizzle-orm'
import type { LockChannel } from '../devices/index.ts'
import type { MetricsRegistry } from '../http/index.ts'
import type { Secrets } from '../secrets.ts'
import type { Db } from '../store/index.ts'
import { lockSync, locks } from '../store/index.ts'
import { claimDueLocks, claimLock, releaseAllLocks, releaseLock } from './claim.ts'
import { tableDigester } from './digest.ts'
import { followLinks, forgetPending, markAllStale, markDue } from './lock-sync.ts'
import { type ReconcilerOptions, type ResolvedOptions, resolveOptions } from './options.ts'
import { type ReconcileContext, reconcileLock } from './pass.ts'
import { handleLockEvents, handleReply } from './replies.ts'

export type { ReconcilerOptions }

export interface ReconcilerDeps {
  db: Db
  secrets: Secrets
  clock: Clock
  metrics?: MetricsRegistry
}

export interface Reconciler {
  /** Makes the lock due now and looks at it soon (in this process, unless another holds it). */
  requestReconcile(lockId: string, options?: { readTable?: boolean }): Promise<void>
  /** One tick: claims the due locks and looks at each; resolves with how many were looked at. */
  runOnce(): Promise<number>
  /** Looks at one lock now if it can be claimed; resolves false when another process holds it. */
  reconcileNow(lockId: string): Promise<boolean>
  readonly processId: string
  /** Stops ticking and waits for the tick under way. */
  stop(): Promise<void>
}

/**
 * How far the reconcilers are behind: the age of the oldest lock whose look is due (0 when none is),
 * read from the store at each scrape, so it grows too when no reconciler runs at all.
 */
export function registerReconcilerLag(deps: { db: Db; clock: Clock; metrics: MetricsRegistry }): void {
  deps.metrics.storeGauge(
    'latchkey_reconciler_lag_seconds',
    'Age of the oldest lock whose reconciler look is due and not done yet (0 when none is waiting).',
    async () => {
      const now = deps.clock.now()
      const [row] = await deps.db
        .select({ oldest: min(lockSync.dueAt) })
        .from(lockSync)
        .innerJoin(locks, eq(locks.id, lockSync.lockId))
        .where(and(lte(lockSync.dueAt, new Date(now)), isNull(locks.deletedAt)))
      const oldest = row?.oldest ?? null
      return [{ value: oldest === null ? 0 : Math.max(0, now - oldest.getTime()) / 1000 }]
    },
  )
}

/** Reconcilers running in this process, woken by requestReconcile. */
const running = new Set<{ wake(): void; db: Db }>()

/** The table digester of a server: one key, derived from the master key. */
export function digesterFor(secrets: Secrets) {
  return tableDigester(secrets.deriveKey('lock-table-digest'))
}

/**
 * Asks for a look at a lock as soon as possible (after a change of its codes, or `POST
 * /locks/{id}/reconcile`); with `readTable` (the default) the lock is first asked for its table.
 */
export async function requestReconcile(
  deps: { db: Db; clock: Clock },
  lockId: string,
  options: { readTable?: boolean } = {},
): Promise<void> {
  await requestReconcileOf(deps, [lockId], options.readTable ?? true)
}

/**
 * Asks for a look at every lock of an organization (after a change of its settings that moves when
 * codes go on and come off, such as `syncLeadHours`).
 */
export async function requestReconcileOrganization(
  deps: { db: Db; clock: Clock },
  organizationId: string,
): Promise<void> {
  const rows = await deps.db
    .select({ id: locks.id })
    .from(locks)
    .where(and(eq(locks.organizationId, organizationId), isNull(locks.deletedAt)))
  await requestReconcileOf(
    deps,
    rows.map((row) => row.id),
    false,
  )
}

async function requestReconcileOf(deps: { db: Db; clock: Clock }, lockIds: string[], readTable: boolean) {
  const nowMs = deps.clock.now()
  for (const lockId of lockIds) await markDue(deps.db, lockId, nowMs, { readTable, nowMs })
  for (const reconciler of running) if (reconciler.db === deps.db) reconciler.wake()
}

export function startReconciler(
  deps: ReconcilerDeps,
  channel: LockChannel,
  options: ReconcilerOptions = {},
): Reconciler {
  const resolved: ResolvedOptions = resolveOptions(
    options,
    `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`,
  )
  const digest = digesterFor(deps.secrets)
  const matterController = resolved.matterController ?? null
  const ctx: ReconcileContext = {
    db: deps.db,
    secrets: deps.secrets,
    clock: deps.clock,
    channel,
    options: resolved,
    digest,
    ...(deps.metrics === undefined
      ? {}
      : {
          revocationsLeftOut: deps.metrics.counter(
            'latchkey_revocations_left_out_total',
            'Revocation ids (revoked shares, deleted offline codes) that did not fit on a lock’s full revocation list, counted at each pass.',
          ),
        }),
  }
  const replyCtx = {
    db: deps.db,
    secrets: deps.secrets,
    clock: deps.clock,
    digest,
    delayWarningMs: resolved.delayWarningMs,
  }
  let stopped = false
  const onReply = handleReply(replyCtx)
  const onEvents = handleLockEvents(replyCtx)
  channel.onReply(async (reply) => {
    if (stopped) return
    try {
      await onReply(reply)
    } catch (error) {
      resolved.onError(error, reply.lockId)
    }
    wake()
  })
  channel.onLockEvents(async (stored) => {
    if (stopped) return
    try {
      await onEvents(stored)
    } catch (error) {
      resolved.onError(error, stored.lockId)
    }
    wake()
  })

  const lookAt = async (lockId: string) => {
    try {
      await reconcileLock(ctx, lockId)
    } catch (error) {
      resolved.onError(error, lockId)
    } finally {
      await releaseLock(deps.db, resolved.processId, lockId).catch((error) => resolved.onError(error, lockId))
    }
  }

  let restarted = false
  const runOnce = async (): Promise<number> => {
    const nowMs = deps.clock.now()
    if (!restarted) {
      // What the locks hold may have changed while no server watched: read every table again.
      await markAllStale(deps.db, nowMs)
      if (resolved.soleProcess) {
        await releaseAllLocks(deps.db)
        await forgetPending(deps.db, nowMs)
      }
      restarted = true
    }
    await followLinks(deps.db, nowMs)
    const claimed = await claimDueLocks(
      deps.db,
      resolved.processId,
      deps.clock.now(),
      resolved.claimTtlMs,
      resolved.batchSize,
      matterController,
    )
    for (const lockId of claimed) {
      if (stopped) {
        await releaseLock(deps.db, resolved.processId, lockId)
        continue
      }
      await lookAt(lockId)
    }
    return claimed.length
  }

  // One tick at a time; a wake during a tick runs another right after it.
  let current: Promise<void> | null = null
  let again = false
  let timer: NodeJS.Timeout | null = null
  const tick = (): void => {
    if (stopped || resolved.manual) return
    if (current !== null) {
      again = true
      return
    }
    current = (async () => {
      try {
        // A full batch means more may be due: go on, a bounded number of times.
        for (let round = 0; round < 20 && !stopped; round++) {
          const n = await runOnce()
          if (n < resolved.batchSize) break
        }
      } catch (error) {
        resolved.onError(error, null)
      }
    })().finally(() => {
      current = null
      if (again && !stopped) {
        again = false
        setImmediate(tick)
      }
    })
  }
  const wake = () => tick()
  const entry = { wake, db: deps.db }
  running.add(entry)
  if (!resolved.manual) {
    timer = setInterval(tick, resolved.tickMs)
    timer.unref()
    setImmediate(tick)
  }

  return {
    processId: resolved.processId,
    requestReconcile: (lockId, opts) => requestReconcile(deps, lockId, opts),
    runOnce,
    async reconcileNow(lockId) {
      if (
        !(await claimLock(
          deps.db,
          resolved.processId,
          lockId,
          deps.clock.now(),
          resolved.claimTtlMs,
          matterController,
        ))
      )
        return false
      await lookAt(lockId)
      return true
    },
    async stop() {
      stopped = true
      running.delete(entry)
      if (timer !== null) clearInterval(timer)
      while (current !== null) await current
    },
  }
}
