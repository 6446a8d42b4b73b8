/**
 * One look at one lock (the caller holds its claim): bring the lock's code table to the desired
 * state, keep statuses, errors and warnings true, record expiries, and say when to look again.
 *
 * Order matters: statuses are written before commands are sent, so that a reply arriving at once
 * (in any server process) finds the code `setting` or `removing`.
 */
import { type AccessRule, isLatchkeyError, windowEnd } from '@latchkey/core'
import type { Command } from '@latchkey/protocol'
import { and, asc, eq, gt, inArray, isNotNull, isNull, ne, or, sql } from 'drizzle-orm'
import { decryptPin, offlineCodeRevocationId, ruleOf } from '../access-codes/index.ts'
import { getOrganizationSettings } from '../accounts/index.ts'
import { type LockChannel, unreachableCause } from '../devices/index.ts'
import { recordCodeEvent } from '../events/index.ts'
import type { Secrets } from '../secrets.ts'
import {
  type AccessCode,
  accessCodes,
  type Db,
  isUuid,
  type Lock,
  type LockSync,
  lockSync,
  locks,
  type PendingOp,
} from '../store/index.ts'
import { clockIssues, needsClock, withoutClockIssues } from './clock-issues.ts'
import type { TableDigest } from './digest.ts'
import { dropPending, loadLockSync, markStale, putPending, REVOCATIONS_KEY } from './lock-sync.ts'
import { type ResolvedOptions, retryAt } from './options.ts'
import { forecastNoSlots, type LockPlan, type PlannedCode, planLock } from './plan.ts'
import { nextStatus, type StatusOutcome, type Unreachable } from './status.ts'

const HOUR_MS = 3_600_000
/** The most revocation ids a lock takes (set_revocations; packages/protocol refuses more). */
const MAX_REVOCATIONS = 1000

export interface ReconcileContext {
  db: Db
  secrets: Secrets
  clock: { now(): number }
  channel: LockChannel
  options: ResolvedOptions
  digest: TableDigest
  /** Counts revocation ids left out of a full list, per pass (`latchkey_revocations_left_out_total`). */
  revocationsLeftOut?: { inc(labels: Record<string, string>, by: number): void }
}

export async function reconcileLock(ctx: ReconcileContext, lockId: string): Promise<void> {
  const { db, options } = ctx
  const nowMs = ctx.clock.now()
  // Take the due time: a reply handled meanwhile moves it back to now, and the end keeps that. Should
  // this process die before the end, the lock is due again when its claim runs out.
  const provisional = new Date(nowMs + options.claimTtlMs + 1)
  await db.update(lockSync).set({ dueAt: provisional }).where(eq(lockSync.lockId, lockId))
  const read = await readLockState(db, lockId, nowMs)
  if (read === null) return
  const { lock, sync, codes } = read
  if (lock.deletedAt !== null) {
    await finish(db, lockId, provisional, null)
    return
  }
  const leadMs =
    options.leadMs ?? (await getOrganizationSettings(db, lock.organizationId)).syncLeadHours * HOUR_MS
  const unreachable: Unreachable = await unreachableCause({ db, channel: ctx.channel }, lockId)

  const synced = codes.filter((c) => c.delivery === 'synced')
  const offline = codes.filter((c) => c.delivery === 'offline')
  const pins = new Map<string, string>()
  const planned: PlannedCode[] = synced.map((code) => {
    const rule = ruleOf(code)
    let digest = ''
    if (code.deletedAt === null) {
      const pin = decryptPin(ctx.secrets, code)
      pins.set(code.id, pin)
      digest = ctx.digest(pin, rule)
    }
    return {
      id: code.id,
      rule,
      digest,
      deleted: code.deletedAt !== null,
      uses: code.uses,
      lastUsedAt: code.lastUsedAt?.getTime() ?? null,
    }
  })
  const planOptions = {
    nowMs,
    leadMs,
    timezone: lock.timezone,
    capacity: lock.capacity,
    usedUpRetentionMs: options.usedUpRetentionMs,
  }
  const plan = planLock(planned, sync.reported, planOptions)
  // Capacity planning, renewed on every look: when will a scheduled code find no slot?
  const scheduled = [...plan.codes.values()].some((p) => p.phase === 'scheduled')
  const noSlotAt = scheduled
    ? forecastNoSlots(planned, sync.reported, planOptions)
    : new Map<string, number>()
  const digests = new Map(planned.map((p) => [p.id, p.digest]))

  // Commands sent before the lock went out of reach are likely lost: send them again once it is back.
  let pending = sync.pending
  if (unreachable !== null && Object.keys(pending).length > 0) {
    await dropPending(db, lockId, Object.keys(pending), nowMs)
    pending = {}
  }
  if (unreachable !== null && unreachable !== 'no_gateway' && !sync.stale)
    await markStale(db, lockId, nowMs, { due: false })

  await recordExpiries(ctx, synced, offline, plan, lock.timezone, nowMs)
  const offlineRevocations = liveOfflineRevocations(offline, nowMs)
  const noSlot = { at: noSlotAt, leadMs }
  await updateSyncedStatuses(ctx, synced, plan, noSlot, sync, pending, digests, unreachable, lock, nowMs)
  await updateOfflineStatuses(ctx, offline, sync, lock, nowMs)

  const times: (number | null)[] = [plan.nextAt]
  let waiting = plan.diff.remove.length + plan.diff.set.length > 0
  if (unreachable === null) {
    const rules = new Map(planned.map((p) => [p.id, p.rule]))
    const sent = await sendCommands(ctx, lock, sync, pending, plan, pins, rules, offlineRevocations, nowMs)
    times.push(...sent.times)
    waiting = false
  }
  if (unreachable !== null && (waiting || sync.stale || Object.keys(pending).length > 0)) {
    times.push(nowMs + options.unreachableRecheckMs)
  }
  // Warnings of delay appear on time; offline codes expire on time.
  for (const code of synced) {
    if (code.pendingSince !== null) times.push(code.pendingSince.getTime() + options.delayWarningMs)
  }
  for (const code of offline) {
    if (code.expiredAt === null && code.endsAt !== null) times.push(code.endsAt.getTime())
  }
  times.push((sync.reportedAt?.getTime() ?? nowMs) + options.refreshMs)
  // Only what lies ahead: anything due now was done by this look.
  const future = times.filter((t): t is number => t !== null && Number.isFinite(t) && t > nowMs)
  await finish(db, lockId, provisional, future.length === 0 ? null : Math.min(...future))
}

/**
 * The lock, what is known of its table and its codes, read in one snapshot. A reply that another
 * server process (or this one) handles meanwhile writes the table first and the code's status after;
 * read apart, a code already `set` could be seen beside a table that does not show it yet, and be
 * taken back to `setting` (and recorded `set_on_lock` a second time). In one snapshot the reply is
 * seen whole or not at all.
 */
async function readLockState(
  db: Db,
  lockId: string,
  nowMs: number,
): Promise<{ lock: Lock; sync: LockSync; codes: AccessCode[] } | null> {
  return db.transaction(
    async (tx) => {
      const [lock] = await tx.select().from(locks).where(eq(locks.id, lockId))
      const sync = await loadLockSync(tx, lockId)
      if (lock === undefined || sync === undefined) return null
      const codes = await tx
        .select()
        .from(accessCodes)
        .where(
          and(
            eq(accessCodes.lockId, lockId),
            or(
              ne(accessCodes.status, 'removed'),
              // A revoked offline code stays on the lock's revocation list until it could no longer open.
              and(
                eq(accessCodes.delivery, 'offline'),
                isNotNull(accessCodes.deletedAt),
                or(isNull(accessCodes.endsAt), gt(accessCodes.endsAt, new Date(nowMs))),
              ),
            ),
          ),
        )
        .orderBy(asc(accessCodes.createdAt), asc(accessCodes.id))
      return { lock, sync, codes }
    },
    { isolationLevel: 'repeatable read', accessMode: 'read only' },
  )
}

async function finish(db: Db, lockId: string, provisional: Date, nextMs: number | null): Promise<void> {
  const next = new Date(nextMs ?? Date.parse('9999-01-01T00:00:00Z'))
  await db
    .update(lockSync)
    .set({
      dueAt: sql`case when ${lockSync.dueAt} = ${provisional} then ${next}::timestamptz else least(${lockSync.dueAt}, ${next}::timestamptz) end`,
    })
    .where(eq(lockSync.lockId, lockId))
}

/** Codes whose window has ended: `expired_at` is set once, and the event recorded once. */
async function recordExpiries(
  ctx: ReconcileContext,
  synced: AccessCode[],
  offline: AccessCode[],
  plan: LockPlan,
  timezone: string,
  nowMs: number,
): Promise<void> {
  const ended = [
    ...synced.filter((c) => plan.codes.get(c.id)?.phase === 'ended'),
    ...offline.filter((c) => c.endsAt !== null && c.endsAt.getTime() <= nowMs),
  ].filter((c) => c.expiredAt === null)
  for (const code of ended) {
    // When the window ended (a weekly code with no occurrence left ends when it is noticed).
    const end = windowEnd(ruleOf(code), timezone)
    const endedAt = end !== null && end <= nowMs ? end : nowMs
    const [updated] = await ctx.db
      .update(accessCodes)
      .set({ expiredAt: new Date(endedAt) })
      .where(and(eq(accessCodes.id, code.id), isNull(accessCodes.expiredAt)))
      .returning({ id: accessCodes.id })
    if (updated !== undefined)
      await recordCodeEvent(ctx.db, code, 'access_code.expired', { nowMs, occurredAtMs: endedAt })
  }
}

/** Deleted offline codes that could still open the lock, as the lock's revocation list names them. */
function liveOfflineRevocations(offline: AccessCode[], nowMs: number): string[] {
  return offline
    .filter((c) => c.deletedAt !== null && offlineCouldOpen(c, nowMs))
    .map((c) => offlineCodeRevocationId(c))
    .filter((id): id is string => id !== null)
}

/** Whether an offline code may still open: before its end, and (unused) before its first-use limit. */
export function offlineCouldOpen(code: AccessCode, nowMs: number): boolean {
  if (code.endsAt !== null && code.endsAt.getTime() <= nowMs) return false
  if (code.uses === 0 && code.offlineFirstUseBy !== null && code.offlineFirstUseBy.getTime() <= nowMs)
    return false
  return true
}

async function updateSyncedStatuses(
  ctx: ReconcileContext,
  synced: AccessCode[],
  plan: LockPlan,
  noSlot: { at: Map<string, number>; leadMs: number },
  sync: LockSync,
  pending: Record<string, PendingOp>,
  digests: Map<string, string>,
  unreachable: Unreachable,
  lock: Lock,
  nowMs: number,
): Promise<void> {
  const full = new Set(plan.diff.full)
  for (const code of synced) {
    const codePlan = plan.codes.get(code.id)
    if (codePlan === undefined) continue
    const reported = sync.reported[code.id]
    const outcome = nextStatus({
      status: code.status,
      errors: withoutClockIssues(code.errors),
      warnings: withoutClockIssues(code.warnings),
      pendingSince: code.pendingSince?.getTime() ?? null,
      phase: codePlan.phase,
      onLock: reported !== undefined,
      matches: reported !== undefined && reported.d === digests.get(code.id),
      full: full.has(code.id),
      pending: pending[code.id],
      unreachable,
      nowMs,
      capacity: lock.capacity,
      timezone: lock.timezone,
      noSlotAt: noSlot.at.get(code.id) ?? null,
      leadMs: noSlot.leadMs,
      delayWarningMs: ctx.options.delayWarningMs,
      maxAttempts: ctx.options.maxAttempts,
    })
    if (outcome.status === 'setting' || outcome.status === 'set' || outcome.status === 'failed') {
      const clock = clockIssues(lock, needsClock(ruleOf(code), null))
      outcome.errors.push(...clock.errors)
      outcome.warnings.push(...clock.warnings)
    }
    await applyStatus(ctx, code, outcome, nowMs, codePlan.phase !== 'scheduled', { reason: codePlan.phase })
  }
}

async function updateOfflineStatuses(
  ctx: ReconcileContext,
  offline: AccessCode[],
  sync: LockSync,
  lock: Lock,
  nowMs: number,
) {
  const revoked = new Set(sync.revocations ?? [])
  for (const code of offline) {
    if (code.deletedAt === null) {
      if (code.status !== 'issued') continue
      const could = offlineCouldOpen(code, nowMs)
      const clock = clockIssues(lock, could && needsClock(ruleOf(code), { uses: code.uses }))
      const outcome: StatusOutcome = {
        status: 'issued',
        errors: [...withoutClockIssues(code.errors), ...clock.errors],
        warnings: [...withoutClockIssues(code.warnings), ...clock.warnings],
        pendingSince: null,
      }
      await applyStatus(ctx, code, outcome, nowMs, false)
      continue
    }
    const id = offlineCodeRevocationId(code)
    const done = !offlineCouldOpen(code, nowMs) || (id !== null && revoked.has(id))
    const outcome: StatusOutcome = {
      status: done ? 'removed' : 'removing',
      errors: code.errors,
      warnings: code.warnings,
      pendingSince: done ? null : (code.pendingSince?.getTime() ?? nowMs),
    }
    const wasRevoked = id !== null && revoked.has(id)
    await applyStatus(ctx, code, outcome, nowMs, wasRevoked, { reason: 'deleted', revoked: wasRevoked })
  }
}

const sameIssues = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b)

/**
 * Writes a new status if the row is still as it was read (a reply or a user may have changed it
 * meanwhile: then the next look decides), and records the event of the transition.
 */
export async function applyStatus(
  ctx: Pick<ReconcileContext, 'db'>,
  code: AccessCode,
  outcome: StatusOutcome,
  nowMs: number,
  /** Whether leaving `removing` for `removed` means the lock confirmed the removal. */
  removedFromLock: boolean,
  data: Record<string, unknown> = {},
): Promise<boolean> {
  const pendingSince = outcome.pendingSince === null ? null : new Date(outcome.pendingSince)
  if (
    outcome.status === code.status &&
    sameIssues(outcome.errors, code.errors) &&
    sameIssues(outcome.warnings, code.warnings) &&
    pendingSince?.getTime() === code.pendingSince?.getTime()
  ) {
    return false
  }
  // The status and the event of its transition are one write: none is seen (or lost) without the other.
  return ctx.db.transaction(async (tx) => {
    const [updated] = await tx
      .update(accessCodes)
      .set({
        status: outcome.status,
        errors: outcome.errors,
        warnings: outcome.warnings,
        pendingSince,
        ...(outcome.status === 'set' && code.status !== 'set'
          ? { setOnLockAt: new Date(nowMs), attempts: 0 }
          : {}),
      })
      .where(
        and(
          eq(accessCodes.id, code.id),
          eq(accessCodes.status, code.status),
          eq(accessCodes.updatedAt, code.updatedAt),
        ),
      )
      .returning({ id: accessCodes.id })
    if (updated === undefined || outcome.status === code.status) return updated !== undefined
    const failedError = outcome.errors.find((e) => e.code !== 'lock_offline')
    if (outcome.status === 'set') await recordCodeEvent(tx, code, 'access_code.set_on_lock', { nowMs })
    else if (outcome.status === 'failed' && failedError !== undefined) {
      await recordCodeEvent(tx, code, 'access_code.failed_to_set', {
        nowMs,
        data: { error: failedError.code },
      })
    } else if (outcome.status === 'removed' && code.status === 'removing' && removedFromLock) {
      await recordCodeEvent(tx, code, 'access_code.removed_from_lock', { nowMs, data })
    }
    return true
  })
}

interface Sent {
  times: (number | null)[]
}

async function sendCommands(
  ctx: ReconcileContext,
  lock: Lock,
  sync: LockSync,
  pending: Record<string, PendingOp>,
  plan: LockPlan,
  pins: Map<string, string>,
  rules: Map<string, AccessRule>,
  offlineRevocations: string[],
  nowMs: number,
): Promise<Sent> {
  const { db, options } = ctx
  const times: (number | null)[] = []
  const needsRead =
    sync.reportedAt === null || sync.stale || nowMs - sync.reportedAt.getTime() >= options.refreshMs
  if (needsRead) {
    const requested = sync.readRequestedAt?.getTime() ?? null
    if (requested === null || nowMs - requested >= options.commandTimeoutMs) {
      await db
        .update(lockSync)
        .set({ readRequestedAt: new Date(nowMs), readRequestedBy: options.processId })
        .where(eq(lockSync.lockId, lock.id))
      await send(ctx, lock.id, { type: 'read_table' })
      times.push(nowMs + options.commandTimeoutMs)
    } else {
      times.push(requested + options.commandTimeoutMs)
    }
    // Without any report, what the lock holds is unknown: wait for it.
    if (sync.reportedAt === null) return { times }
  }

  const wanted: { key: string; op: PendingOp['op']; command: Command }[] = []
  for (const codeId of plan.diff.remove)
    wanted.push({ key: codeId, op: 'remove', command: { type: 'remove_code', codeId } })
  // A code whose set_code got no answer may be on the lock all the same (the answer was lost, or is
  // still on its way): once it is no longer wanted there (deleted, ended), it is taken off as if the
  // lock had confirmed it, not forgotten with the command.
  const kept = new Set([...plan.diff.admitted, ...plan.diff.full, ...plan.diff.remove])
  for (const [codeId, op] of Object.entries(pending)) {
    if (op.op === 'set' && !kept.has(codeId))
      wanted.push({ key: codeId, op: 'remove', command: { type: 'remove_code', codeId } })
  }
  for (const codeId of plan.diff.set) {
    const pin = pins.get(codeId)
    const rule = rules.get(codeId)
    if (pin === undefined || rule === undefined) continue
    wanted.push({ key: codeId, op: 'set', command: { type: 'set_code', codeId, pin, rule } })
  }
  const { list: revocations, leftOut } = desiredRevocations(
    sync.revocations,
    offlineRevocations,
    await extraRevocations(ctx, lock.id, nowMs),
  )
  await recordRevocationsLeftOut(ctx, lock, sync.revocations === null ? lock.revocationsLeftOut : leftOut)
  if (revocations !== null) {
    wanted.push({
      key: REVOCATIONS_KEY,
      op: 'revocations',
      command: { type: 'set_revocations', keyIds: revocations },
    })
  }

  // Pending entries nobody wants any more, and no longer in flight, go.
  const wantedKeys = new Set(wanted.map((w) => w.key))
  const stale = Object.entries(pending)
    .filter(([key, op]) => !wantedKeys.has(key) && nowMs - op.at >= options.commandTimeoutMs)
    .map(([key]) => key)
  await dropPending(db, lock.id, stale, nowMs)

  const toSend: typeof wanted = []
  const ops: Record<string, PendingOp> = {}
  for (const w of wanted) {
    const previous = pending[w.key]
    // the same command again waits its turn; another one (a set that is now a remove) goes at once
    if (previous !== undefined && previous.op === w.op) {
      const again = retryAt(options, previous.at, previous.attempts)
      if (nowMs < again) {
        times.push(again)
        continue
      }
    }
    const attempts = previous?.op === w.op ? previous.attempts + 1 : 1
    ops[w.key] = { op: w.op, at: nowMs, attempts, by: options.processId }
    toSend.push(w)
    times.push(retryAt(options, nowMs, attempts))
  }
  // Recorded before sending: a reply may come back before this look ends.
  await putPending(db, lock.id, ops, nowMs)
  const codeIds = toSend.filter((w) => w.op !== 'revocations' && isUuid(w.key)).map((w) => w.key)
  if (codeIds.length > 0) {
    await db
      .update(accessCodes)
      .set({ attempts: sql`${accessCodes.attempts} + 1`, lastAttemptAt: new Date(nowMs) })
      .where(and(eq(accessCodes.lockId, lock.id), inArray(accessCodes.id, codeIds)))
  }
  for (const w of toSend) {
    const ok = await send(ctx, lock.id, w.command)
    if (!ok) {
      await dropPending(db, lock.id, [w.key], nowMs)
      times.push(nowMs + options.unreachableRecheckMs)
    }
  }
  return { times }
}

/** How many revocation ids did not fit on the lock, on the lock's row (its warning) and in the metric. */
async function recordRevocationsLeftOut(ctx: ReconcileContext, lock: Lock, leftOut: number): Promise<void> {
  if (leftOut > 0) ctx.revocationsLeftOut?.inc({}, leftOut)
  if (leftOut === lock.revocationsLeftOut) return
  await ctx.db.update(locks).set({ revocationsLeftOut: leftOut }).where(eq(locks.id, lock.id))
}

async function send(ctx: ReconcileContext, lockId: string, command: Command): Promise<boolean> {
  try {
    await ctx.channel.send(lockId, command)
    return true
  } catch (error) {
    if (isLatchkeyError(error, 'lock_offline')) return false
    throw error
  }
}

async function extraRevocations(
  ctx: ReconcileContext,
  lockId: string,
  nowMs: number,
): Promise<string[] | null> {
  return ctx.options.revocations ? ctx.options.revocations(ctx.db, lockId, nowMs) : null
}

/**
 * The list the lock must hold (`list`: null when it holds it already, or has not reported it yet),
 * and how many ids did not fit. Without a source for the other ids, the lock's own non-offline ids are
 * kept as they are. A list longer than the lock takes never stops the pass: deleted offline codes come
 * first (they may open for months), then revoked shares (their eKeys end within 24 h); what is left
 * out is counted, and the lock says so in its warnings.
 */
export function desiredRevocations(
  reported: string[] | null,
  offline: string[],
  others: string[] | null,
): { list: string[] | null; leftOut: number } {
  if (reported === null) return { list: null, leftOut: 0 }
  const keep = others ?? reported.filter((id) => !id.startsWith('offline:'))
  const wanted = [...new Set([...[...offline].sort(), ...[...keep].sort()])]
  const leftOut = Math.max(0, wanted.length - MAX_REVOCATIONS)
  const desired = wanted.slice(0, MAX_REVOCATIONS).sort()
  const current = [...new Set(reported)].sort()
  const same = desired.length === current.length && desired.every((id, i) => id === current[i])
  return { list: same ? null : desired, leftOut }
}
