/**
 * One keypad entry, start to end:
 * 1. While the keypad is locked out every entry is refused with `locked_out` (and does not count).
 * 2. The digits are compared with every synced code (constant time); a match is decided by the code's
 *    rule against the RTC (`decide`: time-bound codes fail closed while the clock is unset).
 * 3. Ten digits that match no synced code are tried as an offline code: first among the offline codes
 *    already recorded (one keyed hash), then by the offline verifier (at most 27 HMACs, needs the clock).
 * 4. Anything else is `unknown_code` with the keyed hash of the digits (`pinHash`), which counts toward
 *    the lockout (see lockout.ts).
 * Every entry is logged: `unlocked` or `access_denied` with its reason, method `keypad`.
 */

import type { DenyReason } from '@latchkey/core'
import { decide, LatchkeyError, verifyOfflinePin } from '@latchkey/core'
import { deniedPinHash, hmacSha256 } from '@latchkey/protocol'
import { MAX_DIGITS, matchCode } from './code-table.ts'
import type { LockContext } from './context.ts'
import { lockoutRemainingMs, registerSuccess, registerWrong } from './lockout.ts'
import { activatedDecision, findRecorded, pinHash, recordFirstUse } from './offline-codes.ts'
import { isOfflineRevoked } from './revocations.ts'

export type AccessResult = { result: 'unlocked' } | { result: 'denied'; reason: DenyReason }

export const OFFLINE_PIN_DIGITS = 10

const DIGITS = new RegExp(`^[0-9]{1,${MAX_DIGITS}}$`)

type Offline = { h: number; startsAt: number }

function unlocked(ctx: LockContext, who: { codeId?: string; offline?: Offline }): AccessResult {
  registerSuccess(ctx.state.lockout)
  ctx.log({ type: 'unlocked', method: 'keypad', ...who })
  return { result: 'unlocked' }
}

function denied(
  ctx: LockContext,
  reason: DenyReason,
  who: { codeId?: string; offline?: Offline; pinHash?: string } = {},
): AccessResult {
  ctx.log({ type: 'access_denied', method: 'keypad', reason, ...who })
  return { result: 'denied', reason }
}

/**
 * An entry that matched nothing the lock could check: it counts toward the lockout. An unknown PIN is
 * named by its keyed hash (`deniedPinHash`), so the server can tell a code it removed ("the cleaner came
 * late", "typed at the wrong door") while the gateway that relays the event learns nothing.
 */
function wrong(ctx: LockContext, reason: 'unknown_code' | 'clock_not_set', digits: string): AccessResult {
  const result = denied(
    ctx,
    reason,
    reason === 'unknown_code' ? { pinHash: deniedPinHash(ctx.keys.denied, digits) } : {},
  )
  const lockout = registerWrong(ctx.state.lockout, ctx.worldNow())
  if (lockout) {
    const at = ctx.clockNow()
    // untilMs is on the lock's clock; with the clock unset (at: null) it is the lockout's length.
    ctx.log({
      type: 'locked_out',
      untilMs: (at ?? 0) + lockout.durationMs,
      wrongAttempts: lockout.wrongAttempts,
    })
  }
  return result
}

function offlineEntry(ctx: LockContext, digits: string): AccessResult {
  const { state } = ctx
  const now = ctx.clockNow()
  const hash = pinHash(ctx.keys.record, digits)
  const recorded = findRecorded(state.offline, hash)
  if (recorded) {
    const offline = { h: recorded.entry.h, startsAt: recorded.entry.startsAt }
    if (isOfflineRevoked(state, offline)) return denied(ctx, 'revoked', { offline })
    if (recorded.table === 'one_time') return denied(ctx, 'already_used', { offline })
    const decision = activatedDecision(recorded.entry, now)
    if (!decision.allow) return denied(ctx, decision.reason, { offline })
    recorded.entry.uses += 1
    return unlocked(ctx, { offline })
  }
  if (now === null) return wrong(ctx, 'clock_not_set', digits)
  const verified = verifyOfflinePin({
    hmac: hmacSha256,
    pinKey: ctx.keys.pin,
    lockId: ctx.bundle.lockId,
    digits,
    nowMs: now,
  })
  if (verified.result === 'no_match') return wrong(ctx, 'unknown_code', digits)
  const offline = { h: verified.code.h, startsAt: verified.code.startsAt }
  if (isOfflineRevoked(state, offline)) return denied(ctx, 'revoked', { offline })
  if (verified.result === 'expired') return denied(ctx, 'expired', { offline })
  // A full ledger refuses a new code rather than forget a live one; the closest reason is that the
  // lock has no uses left to give.
  if (!recordFirstUse(state.offline, ctx.bundle.ledgerCapacity, hash, verified.code, now)) {
    return denied(ctx, 'uses_exhausted', { offline })
  }
  return unlocked(ctx, { offline })
}

export function keypadEntry(ctx: LockContext, digits: string): AccessResult {
  if (typeof digits !== 'string' || !DIGITS.test(digits)) {
    throw new LatchkeyError('validation_failed', `a keypad entry is 1 to ${MAX_DIGITS} digits`)
  }
  const { state } = ctx
  if (lockoutRemainingMs(state.lockout, ctx.worldNow()) > 0) return denied(ctx, 'locked_out')
  const entry = matchCode(state.codes, digits)
  if (entry) {
    const who = { codeId: entry.codeId }
    const decision = decide(
      entry.rule,
      { uses: entry.uses },
      { nowMs: ctx.clockNow(), timezone: state.settings.timezone, graceMs: state.settings.graceMs },
    )
    if (!decision.allow) return denied(ctx, decision.reason, who)
    entry.uses += 1
    return unlocked(ctx, who)
  }
  if (digits.length === OFFLINE_PIN_DIGITS) return offlineEntry(ctx, digits)
  return wrong(ctx, 'unknown_code', digits)
}
