/**
 * Where each synced code of a lock stands in time, and the table the lock should hold now (pure).
 *
 * Just-in-time programming (SPEC §3): a code goes onto the lock `lead` before it first opens and comes
 * off when its window ends, so the lock's slots hold only codes that can open the door soon. A code
 * that is used up (one-time used, maxUses reached) stays a while so that typing it again is answered
 * `already_used` rather than counted as a wrong code, then comes off too.
 */
import { type AccessRule, nextOpening, windowEnd } from '@latchkey/core'
import type { ReportedCode } from '../store/index.ts'
import { diffTable, type TableDiff } from './diff.ts'

export type CodePhase =
  /** Deleted by a user: must come off the lock. */
  | 'deleted'
  /** Its window has ended: it never opens again. */
  | 'ended'
  /** Used up and kept long enough: comes off the lock. */
  | 'used_up'
  /** Not yet within the lead time of its first opening. */
  | 'scheduled'
  /** Must be on the lock now. */
  | 'wanted'

export interface PlannedCode {
  id: string
  rule: AccessRule
  /** Digest of (PIN, rule) as the lock would report it. */
  digest: string
  deleted: boolean
  /** Server-side count of successful opens (from the lock's events). */
  uses: number
  lastUsedAt: number | null
}

export interface PlanOptions {
  nowMs: number
  /** How long before its first opening a code is put on the lock. */
  leadMs: number
  /** The lock's IANA zone (weekly schedules). */
  timezone: string
  /** Slots of the lock's code table. */
  capacity: number
  /** How long a used-up code stays on the lock after its last use. */
  usedUpRetentionMs: number
}

export interface CodePlan {
  phase: CodePhase
  /** When this code's phase changes next by itself (lead time reached, window end, retention end). */
  nextAt: number | null
}

export interface LockPlan {
  codes: Map<string, CodePlan>
  diff: TableDiff
  /** The earliest `nextAt` of all codes: when the lock needs to be looked at again. */
  nextAt: number | null
}

const earliest = (...times: (number | null)[]): number | null => {
  const set = times.filter((t): t is number => t !== null && Number.isFinite(t))
  return set.length === 0 ? null : Math.min(...set)
}

function isUsedUp(rule: AccessRule, uses: number): boolean {
  return (rule.kind === 'one_time' && uses >= 1) || (rule.maxUses !== undefined && uses >= rule.maxUses)
}

/** The phase of one code at `nowMs`; `reported` is the lock's entry for it, if it holds it. */
export function planCode(
  code: PlannedCode,
  reported: ReportedCode | undefined,
  options: PlanOptions,
): CodePlan {
  const { nowMs, leadMs, timezone } = options
  if (code.deleted) return { phase: 'deleted', nextAt: null }
  const end = windowEnd(code.rule, timezone)
  if (end !== null && nowMs >= end) return { phase: 'ended', nextAt: null }
  const uses = Math.max(code.uses, reported?.u ?? 0)
  if (isUsedUp(code.rule, uses)) {
    // Without a known last use (its events were lost), there is nothing to wait for.
    const releaseAt = code.lastUsedAt === null ? nowMs : code.lastUsedAt + options.usedUpRetentionMs
    if (reported === undefined || nowMs >= releaseAt) return { phase: 'used_up', nextAt: null }
    return { phase: 'wanted', nextAt: earliest(releaseAt, end) }
  }
  const start = firstOpening(code.rule, timezone, nowMs)
  if (start === null && code.rule.kind === 'recurring' && reported === undefined) {
    // No occurrence left before its last day ends.
    return { phase: 'ended', nextAt: null }
  }
  // A weekly code stays on once it is there (it opens again next week); others follow their start.
  const sticky = code.rule.kind === 'recurring' && reported !== undefined
  if (!sticky && start !== null && start - leadMs > nowMs)
    return { phase: 'scheduled', nextAt: start - leadMs }
  return { phase: 'wanted', nextAt: end }
}

/** When the code first opens, as far as programming it is concerned; null when it needs no waiting. */
function firstOpening(rule: AccessRule, timezone: string, nowMs: number): number | null {
  switch (rule.kind) {
    case 'permanent':
      return null
    case 'timed':
    case 'one_time':
      return rule.startsAt ?? null
    case 'recurring':
      return nextOpening(rule, { uses: 0 }, { nowMs, timezone, graceMs: 0 })
  }
}

/**
 * Plans of codes computed earlier, reused while they still hold: a code's plan changes at its
 * `nextAt`, or when the lock starts or stops holding it (a forecast plans the same codes many times).
 * A weekly code wanted but not on the lock is planned afresh each time: it ends early when its last
 * slot passes without it.
 */
export type PlanMemo = Map<string, { plan: CodePlan; held: boolean }>

function planCodeMemo(
  code: PlannedCode,
  reported: ReportedCode | undefined,
  options: PlanOptions,
  memo: PlanMemo | undefined,
): CodePlan {
  const held = reported !== undefined
  const known = memo?.get(code.id)
  if (
    known !== undefined &&
    known.held === held &&
    (known.plan.nextAt === null || options.nowMs < known.plan.nextAt)
  )
    return known.plan
  const plan = planCode(code, reported, options)
  if (held || plan.phase !== 'wanted' || code.rule.kind !== 'recurring') memo?.set(code.id, { plan, held })
  else memo?.delete(code.id)
  return plan
}

/** `codes` in priority order (oldest first): the first ones get the slots when there are too few. */
export function planLock(
  codes: readonly PlannedCode[],
  reported: Readonly<Record<string, ReportedCode>>,
  options: PlanOptions,
  memo?: PlanMemo,
): LockPlan {
  const plans = new Map<string, CodePlan>()
  const desired: { codeId: string; digest: string }[] = []
  let nextAt: number | null = null
  for (const code of codes) {
    const plan = planCodeMemo(code, reported[code.id], options, memo)
    plans.set(code.id, plan)
    nextAt = earliest(nextAt, plan.nextAt)
    if (plan.phase === 'wanted') desired.push({ codeId: code.id, digest: code.digest })
  }
  return { codes: plans, diff: diffTable(desired, reported, options.capacity), nextAt }
}

/** How far a forecast looks ahead at most, and how many changes of the plan it follows. */
export const FORECAST_HORIZON_MS = 366 * 24 * 3_600_000
const FORECAST_MAX_STEPS = 2_000

/**
 * Capacity planning: for each code that will be wanted on the lock at an instant where it finds no
 * slot (from `options.nowMs`, within a year), the first such instant. The lock is taken to hold, after
 * each change of the plan (a code coming due, ending or used up), exactly what the plan admits; codes
 * are placed as the reconciler places them (held first, then oldest first).
 */
export function forecastNoSlots(
  codes: readonly PlannedCode[],
  reported: Readonly<Record<string, ReportedCode>>,
  options: PlanOptions,
): Map<string, number> {
  const until = options.nowMs + FORECAST_HORIZON_MS
  const found = new Map<string, number>()
  let nowMs = options.nowMs
  let held = reported
  const memo: PlanMemo = new Map()
  for (let step = 0; step < FORECAST_MAX_STEPS; step++) {
    const plan = planLock(codes, held, { ...options, nowMs }, memo)
    for (const id of plan.diff.full) if (!found.has(id)) found.set(id, nowMs)
    held = Object.fromEntries(plan.diff.admitted.map((id) => [id, held[id] ?? { d: '', u: 0 }]))
    if (plan.nextAt === null || plan.nextAt > until) break
    nowMs = Math.max(plan.nextAt, nowMs + 1)
  }
  return found
}
