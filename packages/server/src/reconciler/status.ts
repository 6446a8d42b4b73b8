/**
 * The status, errors and warnings of a synced code after a look at its lock (SPEC §3), as a pure
 * function of where the code stands (plan.ts), what the lock holds and what is in flight.
 */

import { localTime } from '../local-time.ts'
import type { AccessCodeStatus, CodeIssue, PendingOp } from '../store/index.ts'
import type { CodePhase } from './plan.ts'

/**
 * Why the lock cannot be reached now, or null when it can: it has no gateway, its gateway is
 * offline, it is out of its gateway's range, it has taken its commands of this hour (`resting`: a
 * battery lock is spared); `unreachable` only when the server knows no cause.
 */
export type Unreachable = 'no_gateway' | 'gateway_offline' | 'out_of_range' | 'resting' | 'unreachable' | null

/** The cause the server knows, in words: "its gateway is offline". */
export function unreachableWords(cause: Exclude<Unreachable, null>): string {
  switch (cause) {
    case 'no_gateway':
      return 'the lock has no gateway'
    case 'gateway_offline':
      return 'the lock’s gateway is offline'
    case 'out_of_range':
      return 'the lock is out of its gateway’s range'
    case 'resting':
      return 'the lock has taken as many commands as it takes in an hour (its battery is spared): it takes more within the hour'
    case 'unreachable':
      return 'the lock cannot be reached'
  }
}

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
  /** Just-in-time lead: a code goes onto the lock this long before it starts. */
  leadMs: number
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
export const REMOVAL_DELAY_WARNING = 'delay_in_removing_from_lock'
/** A change or delete made while the lock cannot be reached: the old PIN opens until the lock is reached. */
export const STILL_OPENS = 'still_opens_until_lock_reached'

export function stillOpensIssue(cause: Exclude<Unreachable, null>, removing: boolean): CodeIssue {
  return {
    code: STILL_OPENS,
    message: removing
      ? `${unreachableWords(cause)}: the code still opens the door until the lock is reached and takes the removal`
      : `${unreachableWords(cause)}: the lock keeps the code as it was (its old PIN and times still open the door) until the lock is reached and takes the change`,
  }
}

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

/**
 * `atMs`: when the code comes due (its start less the lead, as the forecast finds it); the message
 * names the day the code itself starts, and the lead when the lack of room comes before that.
 */
export function lockFullWhenDueIssue(
  capacity: number,
  atMs: number,
  leadMs: number,
  timezone: string,
): CodeIssue {
  const full = `the lock’s ${capacity} slots will all hold codes made before this one that must be on it then`
  const fix = 'it will not fit unless one of them is deleted or ends sooner'
  if (leadMs <= 0) {
    return {
      code: LOCK_FULL_WHEN_DUE,
      message: `when it starts on ${localTime(atMs, timezone)}, ${full}: ${fix}`,
    }
  }
  const hours = Math.round(leadMs / 3_600_000)
  const lead = hours === 1 ? '1 hour' : `${hours} hours`
  return {
    code: LOCK_FULL_WHEN_DUE,
    message: `the code starts on ${localTime(atMs + leadMs, timezone)}; a code goes onto the lock ${lead} before it starts, on ${localTime(atMs, timezone)}, and by then ${full}: ${fix}`,
  }
}

/** Without the warnings each look at the lock (and each change of the code) works out again. */
const RENEWED = new Set([DELAY_WARNING, REMOVAL_DELAY_WARNING, LOCK_FULL_WHEN_DUE, STILL_OPENS])
export const withoutRenewedWarnings = (warnings: readonly CodeIssue[]): CodeIssue[] =>
  warnings.filter((w) => !RENEWED.has(w.code))

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
  const why = unreachable === null ? '' : ` (${unreachableWords(unreachable)})`
  return {
    code: removing ? REMOVAL_DELAY_WARNING : DELAY_WARNING,
    message: removing
      ? `not yet removed from the lock after ${minutes(waitingMs)}${why}: it still opens the lock until the lock is reached`
      : `not yet set on the lock after ${minutes(waitingMs)}${why}: it does not open the lock yet`,
  }
}

/** What a finished wait leaves behind when it took long: the code says it was late. */
export function lateWarning(waitingMs: number, removed: boolean): CodeIssue {
  return {
    code: removed ? REMOVAL_DELAY_WARNING : DELAY_WARNING,
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
        input.noSlotAt === null
          ? []
          : [lockFullWhenDueIssue(input.capacity, input.noSlotAt, input.leadMs, input.timezone)]
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
    const stillOpens = input.unreachable === null ? [] : [stillOpensIssue(input.unreachable, true)]
    const removeAttempts = pending?.op === 'remove' ? pending.attempts : 0
    if (removeAttempts >= input.maxAttempts && input.unreachable === null) {
      errors.push(failedToRemoveIssue(removeAttempts))
    }
    return {
      status: 'removing',
      errors,
      warnings: [
        ...others,
        ...stillOpens,
        ...(waited >= input.delayWarningMs ? [delayWarning(waited, true, input.unreachable)] : []),
      ],
      pendingSince: waiting,
    }
  }

  // wanted
  // waiting for a slot is not a failure: it goes on by itself when one frees
  if (input.full) {
    return {
      status: 'setting',
      errors: [lockFullIssue(input.capacity)],
      warnings: others,
      pendingSince: null,
    }
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
  // a change the lock has not taken: what it holds (the old PIN or times) still opens
  const stillOpens = onLock && input.unreachable !== null ? [stillOpensIssue(input.unreachable, false)] : []
  return {
    status: failed ? 'failed' : 'setting',
    errors,
    warnings: [
      ...others,
      ...stillOpens,
      ...(waited >= input.delayWarningMs ? [delayWarning(waited, false, input.unreachable)] : []),
    ],
    pendingSince: waiting,
  }
}
