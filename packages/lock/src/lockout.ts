/**
 * Wrong-code lockout, as Matter's WrongCodeEntryLimit / UserCodeTemporaryDisableTime: after
 * WRONG_CODE_LIMIT wrong entries in a row the keypad is disabled for 60 s; each further lockout
 * doubles that, up to 1 h. While locked out every entry is refused with `locked_out`, even a right
 * code, and does not count. A successful entry resets both the count and the doubling. The state is
 * in flash, so a restart (or a power loss) neither clears the count nor ends a lockout early.
 *
 * What counts as wrong: an entry that matches no code the lock could check — `unknown_code`, and a
 * 10-digit entry that could only be an offline code while the clock is unset (`clock_not_set`; it
 * cannot be told apart from a guess). An entry that matches a real code but is refused for its
 * schedule, expiry or uses (`outside_schedule`, `expired`, `already_used`, `uses_exhausted`) does not
 * count: whoever typed it knows a real code, and a cleaner trying too early must not lock the door
 * for everyone.
 *
 * The lockout runs on the lock's own timer, not on the RTC, so it works with the clock unset.
 */
import type { LockoutState } from './state.ts'

export const WRONG_CODE_LIMIT = 5
export const FIRST_LOCKOUT_MS = 60_000
export const MAX_LOCKOUT_MS = 3_600_000

export function lockoutDurationMs(level: number): number {
  return Math.min(FIRST_LOCKOUT_MS * 2 ** Math.min(level, 16), MAX_LOCKOUT_MS)
}

/** Remaining lockout in ms at this instant (0 when the keypad works). */
export function lockoutRemainingMs(lockout: LockoutState, worldMs: number): number {
  if (lockout.untilWorldMs === null) return 0
  return Math.max(0, lockout.untilWorldMs - worldMs)
}

/**
 * Counts a wrong entry. Returns the lockout it started ({durationMs, wrongAttempts}) or null.
 * Call only when not locked out.
 */
export function registerWrong(
  lockout: LockoutState,
  worldMs: number,
): { durationMs: number; wrongAttempts: number } | null {
  lockout.untilWorldMs = null
  lockout.wrong += 1
  if (lockout.wrong < WRONG_CODE_LIMIT) return null
  const durationMs = lockoutDurationMs(lockout.level)
  const wrongAttempts = lockout.wrong
  lockout.level = Math.min(lockout.level + 1, 16)
  lockout.wrong = 0
  lockout.untilWorldMs = worldMs + durationMs
  return { durationMs, wrongAttempts }
}

/** A right code opened: the count and the doubling start again. */
export function registerSuccess(lockout: LockoutState): void {
  lockout.wrong = 0
  lockout.level = 0
  lockout.untilWorldMs = null
}
