/**
 * The properties scheduler, one loop per server process: claims the calendars due for a fetch (so
 * several processes never fetch one feed twice) and syncs them, and raises `code_not_confirmed` on
 * stays whose code is not `set` on every lock some hours before check-in.
 */
import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import { LatchkeyError } from '@latchkey/core'
import { and, eq, gt, isNull, lte } from 'drizzle-orm'
import type { Deps } from '../access-codes/index.ts'
import { allowPrivateTargets } from '../http/index.ts'
import type { Db } from '../store/index.ts'
import { type Calendar, locks, stays } from '../store/index.ts'
import {
  claimCalendar,
  claimDueCalendars,
  findCalendar,
  type SyncOutcome,
  syncClaimedCalendar,
} from './calendars.ts'
import { stayCodesOf } from './stay-codes.ts'
import { recordStayEvent } from './stays.ts'

const HOUR_MS = 3_600_000
const MINUTE_MS = 60_000

export interface PropertySchedulerOptions {
  /** Real-time period of the loop (default 2 s). */
  tickMs?: number
  /** `code_not_confirmed` this long before check-in (default 6 h). */
  confirmBeforeMs?: number
  /** A lock that is reachable gets this long to take a code before the stay is warned (default 5 min). */
  settleMs?: number
  /** LATCHKEY_WEBHOOK_ALLOW_PRIVATE=1: feeds on this machine or a private network may be fetched. */
  allowPrivate?: boolean
  onError?: (error: unknown) => void
}

export interface PropertyScheduler {
  runOnce(): Promise<void>
  stop(): Promise<void>
}

interface Running {
  db: Db
  owner: string
  allowPrivate: boolean
}
const running = new Set<Running>()

/** Syncs one calendar now (POST /calendars/{id}/sync); `conflict` while another sync holds it. */
export async function syncCalendarNow(
  deps: Deps,
  organizationId: string,
  id: string,
): Promise<{ calendar: Calendar; outcome: SyncOutcome }> {
  const calendar = await findCalendar(deps.db, organizationId, id)
  const here = [...running].find((r) => r.db === deps.db)
  const owner = here?.owner ?? `${hostname()}:${process.pid}:on-demand`
  const allowPrivate = here?.allowPrivate ?? allowPrivateTargets()
  if (!(await claimCalendar(deps.db, owner, calendar.id, deps.clock.now()))) {
    throw new LatchkeyError('conflict', 'this calendar is being synced right now; try again in a moment')
  }
  const outcome = await syncClaimedCalendar(deps, owner, calendar.id, allowPrivate)
  return { calendar: await findCalendar(deps.db, organizationId, id), outcome }
}

const NOT_CONFIRMED_MESSAGE = (names: string[]) =>
  `the code is not yet on ${names.join(' and ')}, and check-in is near: send the guest a backup code (POST /stays/{id}/backup-code), which works with no gateway`

/** Raises `code_not_confirmed` on the stays that need it (each stay once per window). */
export async function checkUnconfirmedStays(
  deps: Deps & { channel: { reachable(lockId: string): Promise<boolean> } },
  options: { confirmBeforeMs: number; settleMs: number },
): Promise<number> {
  const nowMs = deps.clock.now()
  const candidates = await deps.db
    .select()
    .from(stays)
    .where(
      and(
        isNull(stays.codeNotConfirmedAt),
        isNull(stays.cancelledAt),
        isNull(stays.deletedAt),
        lte(stays.checkInAt, new Date(nowMs + options.confirmBeforeMs)),
        gt(stays.checkOutAt, new Date(nowMs)),
      ),
    )
    .limit(100)
  let raised = 0
  for (const stay of candidates) {
    const codes = (await stayCodesOf(deps, stay.id)).filter((c) => c.delivery === 'synced')
    const waiting: string[] = []
    for (const code of codes) {
      if (code.status === 'set') continue
      const reachable = await deps.channel.reachable(code.lockId)
      // a reachable lock gets a moment to take a code that has only just become due
      const settling =
        reachable && (code.pendingSince === null || nowMs - code.pendingSince.getTime() < options.settleMs)
      if (settling) continue
      const [lock] = await deps.db.select({ name: locks.name }).from(locks).where(eq(locks.id, code.lockId))
      waiting.push(lock?.name ?? code.lockId)
    }
    if (waiting.length === 0) continue
    const warning = { code: 'code_not_confirmed', message: NOT_CONFIRMED_MESSAGE(waiting) }
    const [updated] = await deps.db
      .update(stays)
      .set({
        codeNotConfirmedAt: new Date(nowMs),
        warnings: [...stay.warnings.filter((w) => w.code !== 'code_not_confirmed'), warning],
      })
      .where(and(eq(stays.id, stay.id), isNull(stays.codeNotConfirmedAt)))
      .returning()
    if (updated === undefined) continue // another process raised it
    await recordStayEvent(deps, updated, 'stay.code_not_confirmed', nowMs, null, {
      locks: waiting,
      checkInAt: stay.checkInAt.toISOString(),
    })
    raised += 1
  }
  return raised
}

export function startPropertyScheduler(
  deps: Deps & { channel: { reachable(lockId: string): Promise<boolean> } },
  options: PropertySchedulerOptions = {},
): PropertyScheduler {
  const entry: Running = {
    db: deps.db,
    owner: `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`,
    allowPrivate: options.allowPrivate ?? false,
  }
  running.add(entry)
  const onError = options.onError ?? (() => {})
  const confirm = {
    confirmBeforeMs: options.confirmBeforeMs ?? 6 * HOUR_MS,
    settleMs: options.settleMs ?? 5 * MINUTE_MS,
  }
  let stopped = false
  const runOnce = async () => {
    const claimed = await claimDueCalendars(deps.db, entry.owner, deps.clock.now(), 10)
    for (const id of claimed) {
      if (stopped) break
      await syncClaimedCalendar(deps, entry.owner, id, entry.allowPrivate).catch(onError)
    }
    await checkUnconfirmedStays(deps, confirm)
  }
  let current: Promise<void> | null = null
  const timer = setInterval(() => {
    if (stopped || current !== null) return
    current = runOnce()
      .catch(onError)
      .finally(() => {
        current = null
      })
  }, options.tickMs ?? 2_000)
  timer.unref()
  return {
    runOnce,
    async stop() {
      stopped = true
      running.delete(entry)
      clearInterval(timer)
      while (current !== null) await current
    },
  }
}
