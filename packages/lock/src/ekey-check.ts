/**
 * An app credential (eKey) presented over the radio link. The lock checks, in order: the server's
 * signature, that it is for this lock, the revocation list (by the key's share), its clock (an eKey is always time-bound:
 * unset → `clock_not_set`), the window [notBefore − grace, notAfter + grace), the weekly schedule if
 * any (in the lock's time zone), and a one-time eKey's single use (it remembers the keyIds used until
 * they expire). Each presentation is logged with method `app` and the keyId. Lockout is a keypad
 * matter and does not apply.
 */

import type { DenyReason } from '@latchkey/core'
import { decide, isLatchkeyError } from '@latchkey/core'
import type { EKeyClaims } from '@latchkey/protocol'
import { verifyEKey } from '@latchkey/protocol'
import type { LockContext } from './context.ts'
import type { AccessResult } from './keypad.ts'
import { isKeyRevoked } from './revocations.ts'

/** How many used one-time eKeys the lock remembers at once (each until its end). */
export const USED_EKEY_CAPACITY = 1000

function check(ctx: LockContext, key: EKeyClaims): { allow: true } | { allow: false; reason: DenyReason } {
  const { state } = ctx
  if (key.lockId !== ctx.bundle.lockId) return { allow: false, reason: 'unknown_code' }
  if (isKeyRevoked(state, key)) return { allow: false, reason: 'revoked' }
  const now = ctx.clockNow()
  if (now === null) return { allow: false, reason: 'clock_not_set' }
  const { graceMs, timezone } = state.settings
  if (now < key.notBefore - graceMs) return { allow: false, reason: 'outside_schedule' }
  if (now >= key.notAfter + graceMs) return { allow: false, reason: 'expired' }
  if (key.schedule) {
    const decision = decide(
      { kind: 'recurring', schedule: key.schedule },
      { uses: 0 },
      { nowMs: now, timezone, graceMs },
    )
    if (!decision.allow) return decision
  }
  if (key.oneTime === true || key.level === 'one_time') {
    const used = state.ekeys
    used.usedOneTime = used.usedOneTime.filter((k) => now < k.notAfter + graceMs)
    if (used.usedOneTime.some((k) => k.keyId === key.keyId)) return { allow: false, reason: 'already_used' }
    if (used.usedOneTime.length >= USED_EKEY_CAPACITY) return { allow: false, reason: 'uses_exhausted' }
    used.usedOneTime.push({ keyId: key.keyId, notAfter: key.notAfter })
  }
  return { allow: true }
}

export function presentEKey(ctx: LockContext, credential: string): AccessResult {
  let key: EKeyClaims
  try {
    key = verifyEKey(ctx.bundle.serverPublicKey, credential)
  } catch (error) {
    if (!isLatchkeyError(error)) throw error
    ctx.log({ type: 'access_denied', method: 'app', reason: 'unknown_code' })
    return { result: 'denied', reason: 'unknown_code' }
  }
  const decision = check(ctx, key)
  if (!decision.allow) {
    ctx.log({ type: 'access_denied', method: 'app', reason: decision.reason, keyId: key.keyId })
    return { result: 'denied', reason: decision.reason }
  }
  ctx.log({ type: 'unlocked', method: 'app', keyId: key.keyId })
  return { result: 'unlocked' }
}
