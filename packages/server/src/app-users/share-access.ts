/**
 * Whether a share lets its holder open the lock now, with @latchkey/core `decide` on the share's rule
 * in the lock's time zone (no grace: the server's clock is the reference). A refusal is recorded as
 * `lock.access_denied` and answered 403 `forbidden` with the reason.
 */
import { type AccessRule, type DenyReason, decide, LatchkeyError, nextOpening } from '@latchkey/core'
import { recordEvent } from '../events/index.ts'
import { localTime } from '../local-time.ts'
import { shareRuleOf } from '../permissions/index.ts'
import type { Db } from '../store/index.ts'
import type { AppShare } from './app-locks.ts'
import type { AppPrincipal } from './app-sessions.ts'

const REFUSALS: Partial<Record<DenyReason, string>> = {
  already_used: 'this one-time share has already been used',
  expired: 'this share has ended',
  outside_schedule: 'this share does not open the lock at this time',
}

/** The attribution of an app action in the audit log: which unique code or user, under which label. */
export function actorOf(principal: AppPrincipal): {
  uniqueCodeId: string | null
  actorUserId: string | null
  label: string | null
} {
  return principal.kind === 'unique_code'
    ? { uniqueCodeId: principal.uniqueCodeId, actorUserId: null, label: principal.label }
    : { uniqueCodeId: null, actorUserId: principal.userId, label: null }
}

/** The share's rule when it opens now; otherwise records the refusal and throws 403 `forbidden`. */
export async function assertShareOpensNow(
  db: Db,
  nowMs: number,
  principal: AppPrincipal,
  { share, lock }: AppShare,
  method: 'remote' | 'app',
): Promise<AccessRule> {
  let rule: AccessRule | null = null
  let reason: DenyReason
  // a share refused outside its window or schedule says when it opens next
  let opensAt: number | null = null
  try {
    rule = shareRuleOf(share)
    const usage = { uses: share.usedAt === null ? 0 : 1 }
    const clock = { nowMs, timezone: lock.timezone, graceMs: 0 }
    const decision = decide(rule, usage, clock)
    if (decision.allow) return rule
    reason = decision.reason
    if (reason === 'outside_schedule') opensAt = nextOpening(rule, usage, clock)
  } catch {
    reason = 'outside_schedule'
  }
  await recordEvent(db, {
    organizationId: principal.organizationId,
    type: 'lock.access_denied',
    occurredAt: new Date(nowMs),
    lockId: lock.id,
    ...actorOf(principal),
    data: {
      method,
      reason,
      lockName: lock.name,
      permissionId: share.id,
      source: 'server',
      ...(opensAt === null ? {} : { opensAt: new Date(opensAt).toISOString() }),
    },
  })
  const refusal = REFUSALS[reason] ?? `this share does not open the lock now (${reason})`
  throw new LatchkeyError(
    'forbidden',
    opensAt === null ? refusal : `${refusal}; it opens next on ${localTime(opensAt, lock.timezone)}`,
  )
}
