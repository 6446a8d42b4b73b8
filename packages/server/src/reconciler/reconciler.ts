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
import { isDatabaseUnreachable, lockSync, locks } from '../store/index.ts'
import { claimDueLocks, claimLock, releaseAllLocks, releaseLock } from './claim.ts'
import { tableDigester } from './digest.ts'
import { followLinks, forgetPending, markAllStale, markDue } from './lock-sync.ts'
import { type ReconcilerOptions, type ResolvedOptions, resolveOptions } from './options.ts'
import { type ReconcileContext, reconcileLock } from './pass.ts'
import { heartbeat, releaseDeadProcesses, releaseInFlight } from './processes.ts'
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

/**
 * How long after the database is back what was in flight waits for its answer before it goes again:
 * a gateway's message that found the database down is tried again every second at most
 * (devices/mqtt-lock-channel.ts).
 */
export const DATABASE_BACK_GRACE_MS = 2_000

/**
 * Reconcilers running in this process, woken by requestReconcile: a few locks named are looked at
 * at once (`lookSoon`), many at the next tick (`wake`).
 */
const running = new Set<{ wake(): void; lookSoon(lockId: string): void; db: Db }>()

/** Up to this many locks named in one request are looked at at once; more wait for a tick. */
const LOOK_SOON_MAX = 25
/** Looks at named locks going on at once in one process (each takes a connection of the pool at a time). */
const LOOK_SOON_CONCURRENCY = 4

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
 * The reconcilers of this process on `db` look at these locks at once. They are due already: a change
 * of a lock's codes marks it due (`markDue`) in the change's own transaction, so that a crash or a
 * database gone between the two cannot leave a change no look will make, and calls this after the
 * commit.
 */
export function lookSoonAfterCommit(db: Db, lockIds: readonly string[]): void {
  for (const reconciler of running) {
    if (reconciler.db !== db) continue
    if (lockIds.length <= LOOK_SOON_MAX) for (const lockId of lockIds) reconciler.lookSoon(lockId)
    else reconciler.wake()
  }
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
  lookSoonAfterCommit(deps.db, lockIds)
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
  // The database went away under this process (a crash, a restart): a command it recorded may not have
  // left, or left with no record of it. Once a tick gets through again, what was sent before then and
  // is still unanswered DATABASE_BACK_GRACE_MS later goes again: the gateways' messages that waited
  // for the database (their answers among them) are taken in that time.
  let databaseLost = false
  let release: { atMs: number; beforeMs: number } | null = null
  const onError = (error: unknown, lockId: string | null): void => {
    if (isDatabaseUnreachable(error)) databaseLost = true
    resolved.onError(error, lockId)
  }
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
  // A lock whose answer or events made it due is looked at at once (a failed handling too: it is
  // looked at rather than left); an acknowledgement, a time or an unlock asks for no look.
  channel.onReply(async (reply) => {
    if (stopped) return
    let due = true
    try {
      due = await onReply(reply)
    } catch (error) {
      onError(error, reply.lockId)
    }
    if (due) lookSoon(reply.lockId)
  })
  channel.onLockEvents(async (stored) => {
    if (stopped) return
    let due = true
    try {
      due = await onEvents(stored)
    } catch (error) {
      onError(error, stored.lockId)
    }
    if (due) lookSoon(stored.lockId)
  })

  // The broker lost and back (a restart drops what it held for this process's session): an answer may
  // be lost, and what a lock holds may have moved without it. What was in flight goes again, and every
  // table not reported since is read again.
  channel.onReconnected?.((lostAtMs) => {
    if (stopped) return
    const nowMs = deps.clock.now()
    releaseInFlight(deps.db, nowMs, nowMs)
      .then(() => markAllStale(deps.db, nowMs, lostAtMs))
      .then(
        () => wake(),
        (error: unknown) => onError(error, null),
      )
  })

  /** Locks this process is looking at now; those asked for again meanwhile get another look after. */
  const looking = new Set<string>()
  const lookAgain = new Set<string>()
  const lookAt = async (lockId: string) => {
    looking.add(lockId)
    try {
      await reconcileLock(ctx, lockId)
    } catch (error) {
      onError(error, lockId)
    } finally {
      looking.delete(lockId)
      await releaseLock(deps.db, resolved.processId, lockId).catch((error) => onError(error, lockId))
      if (lookAgain.delete(lockId)) lookSoon(lockId)
    }
  }

  /**
   * A look at one lock now, apart from the ticks: a change of its codes, or its answer, does not
   * wait for the tick under way (which may be working through many other locks) nor make a tick
   * walk every lock. The lock must be claimable; if this process is looking at it already, it gets
   * another look right after; if another process holds it, the lock stays due for that one.
   */
  const soon = new Set<string>()
  const lookingSoon = new Set<Promise<void>>()
  const lookSoon = (lockId: string): void => {
    if (stopped || resolved.manual) return
    if (looking.has(lockId)) {
      lookAgain.add(lockId)
      return
    }
    soon.add(lockId)
    if (lookingSoon.size < LOOK_SOON_CONCURRENCY) startLookingSoon()
  }
  const startLookingSoon = () => {
    const run: Promise<void> = (async () => {
      for (let n = 0; n < 1000 && soon.size > 0 && !stopped; n++) {
        const lockId = soon.values().next().value as string
        soon.delete(lockId)
        if (looking.has(lockId)) {
          lookAgain.add(lockId)
          continue
        }
        try {
          const claimed = await claimLock(
            deps.db,
            resolved.processId,
            lockId,
            deps.clock.now(),
            resolved.claimTtlMs,
            matterController,
          )
          if (claimed) await lookAt(lockId)
        } catch (error) {
          onError(error, lockId)
        }
      }
    })().finally(() => {
      lookingSoon.delete(run)
      if (soon.size > 0 && !stopped) startLookingSoon()
    })
    lookingSoon.add(run)
  }

  /** This process is alive; what a dead one left in flight goes again (processes.ts). */
  const beat = async (): Promise<void> => {
    const nowMs = deps.clock.now()
    await heartbeat(deps.db, resolved.processId, nowMs)
    await releaseDeadProcesses(deps.db, nowMs, resolved.claimTtlMs)
  }

  let restarted = false
  const runOnce = async (): Promise<number> => {
    // Ticks driven by the caller beat with them; otherwise a timer of its own beats, so that a long tick
    // never makes this process look dead.
    if (resolved.manual) await beat()
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
    if (databaseLost) {
      databaseLost = false
      release = { atMs: nowMs + DATABASE_BACK_GRACE_MS, beforeMs: nowMs }
    }
    if (release !== null && nowMs >= release.atMs) {
      await releaseInFlight(deps.db, nowMs, release.beforeMs)
      release = null
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
      // a look of this process's that outlasted its claim is still under way: it looks again after
      if (looking.has(lockId)) {
        lookAgain.add(lockId)
        continue
      }
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
        onError(error, null)
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
  const entry = { wake, lookSoon, db: deps.db }
  running.add(entry)
  let beating: Promise<void> | null = null
  const beatNow = () => {
    if (beating !== null || stopped) return
    beating = beat()
      .catch((error) => onError(error, null))
      .finally(() => {
        beating = null
      })
  }
  let beatTimer: NodeJS.Timeout | null = null
  if (!resolved.manual) {
    timer = setInterval(tick, resolved.tickMs)
    timer.unref()
    beatTimer = setInterval(beatNow, resolved.tickMs)
    beatTimer.unref()
    setImmediate(beatNow)
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
      if (beatTimer !== null) clearInterval(beatTimer)
      while (current !== null) await current
      while (beating !== null) await beating
      while (lookingSoon.size > 0) await Promise.all([...lookingSoon])
    },
  }
}
