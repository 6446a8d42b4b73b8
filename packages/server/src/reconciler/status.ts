/**
 * The status, errors and warnings of a synced code after a look at its lock (SPEC §3), as a pure
 * function of where the code stands (plan.ts), what the lock holds and what is in flight.
 */

import { localTime } from '../local-time.ts'
import type { AccessCodeStatus, CodeIssue, PendingOp } from '../store/index.ts'
import type { CodePhase } from './plan.ts'

/** Why the lock cannot be reached now, or null when it can. */
export type Unreachable = 'no_gateway' | 'unreachable' | null

export interface StatusInput {
  status: AccessCodeStatus
  errors: readonly CodeIssue[]
  warnings: readonly CodeIssue[]
  /** Since when it waits for the lock (epoch ms), or null. */
  pendingSince: number | null
  phase: CodePhase
  /** The lock's last report (and the replies since) has it. */
  onLock: boolean
  /** It holds the PIN and rule it should. */
  matches: boolean
  /** Wanted but beyond the lock's capacity. */
  full: boolean
  pending: PendingOp | undefined
  unreachable: Unreachable
  nowMs: number
  capacity: number
  /** The lock's IANA zone (for times in messages). */
  timezone: string
  /** When this code, if scheduled, will find no slot (plan.ts `forecastNoSlots`), or null. */
  noSlotAt: number | null
  /** Waiting this long for the lock adds `delay_in_setting_on_lock`. */
  delayWarningMs: number
  /** After this many unacknowledged attempts, `failed_to_set`. */
  maxAttempts: number
}

export interface StatusOutcome {
  status: AccessCodeStatus
  errors: CodeIssue[]
  warnings: CodeIssue[]
  pendingSince: number | null
}

/** Errors the lock itself answered (kept until the code is set or changed). */
export const LOCK_REPLY_ISSUES = new Set([
  'lock_full',
  'duplicate_code_on_lock',
  'lock_clock_not_set',
  'failed_to_set',
])

export const DELAY_WARNING = 'delay_in_setting_on_lock'

const minutes = (ms: number) => {
  const n = Math.max(1, Math.round(ms / 60_000))
  return n === 1 ? '1 minute' : `${n} minutes`
}

export function lockFullIssue(capacity: number): CodeIssue {
  return {
    code: 'lock_full',
    message: `the lock is full: its ${capacity} slots hold codes that must be on it now; this code goes on as soon as a slot frees (delete a code or wait for one to end)`,
  }
}

/** Capacity planning: a scheduled code that will find no slot when it is due (plan.ts `forecastNoSlots`). */
export const LOCK_FULL_WHEN_DUE = 'lock_full_when_due'

export function lockFullWhenDueIssue(capacity: number, atMs: number, timezone: string): CodeIssue {
  return {
    code: LOCK_FULL_WHEN_DUE,
    message: `on ${localTime(atMs, timezone)} the lock’s ${capacity} slots will all hold codes that must be on it then, made before this one: it will not fit unless one of them is deleted or ends sooner`,
  }
}

/** Without the warnings each look at the lock (and each change of the code) works out again. */
export const withoutRenewedWarnings = (warnings: readonly CodeIssue[]): CodeIssue[] =>
  warnings.filter((w) => w.code !== DELAY_WARNING && w.code !== LOCK_FULL_WHEN_DUE)

export function noGatewayIssue(): CodeIssue {
  return {
    code: 'lock_offline',
    message: 'the lock has no gateway: the change waits until the lock is attached to a gateway',
  }
}

export function failedToSetIssue(attempts: number): CodeIssue {
  return {
    code: 'failed_to_set',
    message: `the lock did not confirm the code after ${attempts} attempts; still retrying`,
  }
}

export function failedToRemoveIssue(attempts: number): CodeIssue {
  return {
    code: 'failed_to_remove',
    message: `the lock did not confirm the removal after ${attempts} attempts; still retrying (the code may still open the lock)`,
  }
}

function delayWarning(waitingMs: number, removing: boolean, unreachable: Unreachable): CodeIssue {
  const why = unreachable === 'unreachable' ? ' (the gateway is offline or the lock is out of its range)' : ''
  return {
    code: DELAY_WARNING,
    message: removing
      ? `not yet removed from the lock after ${minutes(waitingMs)}${why}: it still opens the lock until the lock is reached`
      : `not yet set on the lock after ${minutes(waitingMs)}${why}: it does not open the lock yet`,
  }
}

/** What a finished wait leaves behind when it took long: the code says it was late. */
export function lateWarning(waitingMs: number, removed: boolean): CodeIssue {
  return {
    code: DELAY_WARNING,
    message: removed
      ? `removed from the lock ${minutes(waitingMs)} after the change: it opened the lock until then`
      : `set on the lock ${minutes(waitingMs)} after the change`,
  }
}

export function nextStatus(input: StatusInput): StatusOutcome {
  const { nowMs, phase, onLock, pending } = input
  const others = withoutRenewedWarnings(input.warnings)
  const waiting = input.pendingSince ?? nowMs
  const waited = nowMs - waiting
  const late = input.pendingSince !== null && waited >= input.delayWarningMs

  if (phase === 'deleted' || phase === 'ended' || phase === 'used_up' || phase === 'scheduled') {
    const stillThere = onLock || (pending !== undefined && pending.op === 'set')
    if (phase === 'scheduled') {
      const noSlot =
        input.noSlotAt === null ? [] : [lockFullWhenDueIssue(input.capacity, input.noSlotAt, input.timezone)]
      return { status: 'scheduled', errors: [], warnings: [...others, ...noSlot], pendingSince: null }
    }
    if (!stillThere) {
      const wasWaiting = input.status === 'removing'
      return {
        status: 'removed',
        errors: [],
        warnings: wasWaiting && late ? [...others, lateWarning(waited, true)] : others,
        pendingSince: null,
      }
    }
    const errors: CodeIssue[] = input.unreachable === 'no_gateway' ? [noGatewayIssue()] : []
    const removeAttempts = pending?.op === 'remove' ? pending.attempts : 0
    if (removeAttempts >= input.maxAttempts && input.unreachable === null) {
      errors.push(failedToRemoveIssue(removeAttempts))
    }
    return {
      status: 'removing',
      errors,
      warnings:
        waited >= input.delayWarningMs ? [...others, delayWarning(waited, true, input.unreachable)] : others,
      pendingSince: waiting,
    }
  }

  // wanted
  if (input.full) {
    return { status: 'failed', errors: [lockFullIssue(input.capacity)], warnings: others, pendingSince: null }
  }
  if (onLock && input.matches) {
    if (input.status === 'set')
      return { status: 'set', errors: [], warnings: [...input.warnings], pendingSince: null }
    const wasWaiting = input.status === 'setting' || input.status === 'failed'
    return {
      status: 'set',
      errors: [],
      warnings: wasWaiting && late ? [...others, lateWarning(waited, false)] : others,
      pendingSince: null,
    }
  }
  const errors: CodeIssue[] = []
  if (input.unreachable === 'no_gateway') errors.push(noGatewayIssue())
  // What the lock answered (duplicate, clock, refusal) stands until the code is set or changed; a full
  // table is judged again here, since there is room now.
  for (const e of input.errors) if (LOCK_REPLY_ISSUES.has(e.code) && e.code !== 'lock_full') errors.push(e)
  const attempts = pending?.op === 'set' ? pending.attempts : 0
  if (
    attempts >= input.maxAttempts &&
    input.unreachable === null &&
    !errors.some((e) => e.code === 'failed_to_set')
  ) {
    errors.push(failedToSetIssue(attempts))
  }
  const failed = errors.some((e) => LOCK_REPLY_ISSUES.has(e.code))
  return {
    status: failed ? 'failed' : 'setting',
    errors,
    warnings:
      waited >= input.delayWarningMs ? [...others, delayWarning(waited, false, input.unreachable)] : others,
    pendingSince: waiting,
  }
}
