/**
 * Offline codes (SPEC §3, §6): derived from the lock's secret, nothing is sent to the lock, so they
 * work with no gateway. Hour precision; the first use must fall within 24 h of the start (one-time:
 * 6 h); a deleted one stops only when the lock is next reached (its revocation list).
 */
import {
  type AccessRule,
  FIRST_USE_LIMIT_MS,
  type IssuedOfflinePin,
  issueOfflinePin,
  LatchkeyError,
  type OfflineKind,
} from '@latchkey/core'
import { deriveLockKeys, hmacSha256 } from '@latchkey/protocol'
import { decryptLockSecret } from '../devices/index.ts'
import type { Secrets } from '../secrets.ts'
import type { CodeIssue, Lock } from '../store/index.ts'

/** Why the offline scheme cannot give this code, or null when it can. */
export function offlineUnavailableReason(rule: AccessRule, customPin: boolean): string | null {
  if (customPin)
    return 'an offline code is derived from the lock’s secret, so its PIN cannot be chosen; leave out `code` or use delivery synced'
  if (rule.kind === 'recurring')
    return 'the offline scheme has no weekly schedules; a recurring code must be synced to the lock (through a gateway)'
  if (rule.maxUses !== undefined && rule.maxUses > 1) {
    return 'the offline scheme has no use limit besides one-time; a code with maxUses above 1 must be synced to the lock (through a gateway)'
  }
  if (rule.maxUses !== undefined && rule.kind !== 'one_time') {
    return `an offline ${rule.kind} code has no use limit: it would open any number of times; leave out maxUses, make it kind one_time, or use delivery synced`
  }
  return null
}

export function offlineUnavailable(reason: string): LatchkeyError {
  return new LatchkeyError('offline_code_unavailable', reason)
}

const fmt = (ms: number) => new Date(ms).toISOString().replace(':00.000Z', 'Z')

/** Issues the code; `livePins` are every live PIN of the lock. */
export function issueOfflineCode(
  secrets: Secrets,
  lock: Lock,
  rule: AccessRule,
  livePins: ReadonlySet<string>,
  nowMs: number,
): IssuedOfflinePin {
  const kind: OfflineKind = rule.kind === 'recurring' ? 'timed' : rule.kind
  const startsAt = rule.startsAt ?? nowMs
  const pinKey = deriveLockKeys(decryptLockSecret(secrets, lock)).pin
  const issued = issueOfflinePin({
    hmac: hmacSha256,
    pinKey,
    lockId: lock.id,
    kind,
    startsAt,
    ...(kind === 'timed' && rule.endsAt !== undefined ? { endsAt: rule.endsAt } : {}),
    livePins,
  })
  if (issued.firstUseBy <= nowMs) {
    throw new LatchkeyError(
      'invalid_window',
      `an offline code must be typed for the first time within ${FIRST_USE_LIMIT_MS[kind] / 3_600_000} hours of its start; ${fmt(issued.startsAt)} is too long ago`,
    )
  }
  if (
    kind === 'one_time' &&
    rule.endsAt !== undefined &&
    issued.endsAt !== null &&
    rule.endsAt < issued.endsAt
  ) {
    throw offlineUnavailable(
      `an offline one-time code is valid for 6 hours from its start hour (until ${fmt(issued.endsAt)}); leave out endsAt, end it later, or use delivery synced`,
    )
  }
  return issued
}

/**
 * `auto` with the lock out of reach, for a timed code with `maxUses: 1`: the offline one-time code of
 * the same start, when it opens no longer than the window asked for (it is valid 6 hours from its
 * start hour). Refused with the reason otherwise.
 */
export function oneTimeInstead(rule: AccessRule, lockName: string): AccessRule {
  const unreachable = `${lockName} cannot be reached now, and an offline ${rule.kind} code has no use limit`
  if (
    rule.kind !== 'timed' ||
    rule.maxUses !== 1 ||
    rule.startsAt === undefined ||
    rule.endsAt === undefined
  ) {
    throw offlineUnavailable(
      `${unreachable}; use delivery synced to put it on the lock when it is next reached, or leave out maxUses`,
    )
  }
  return { kind: 'one_time', startsAt: rule.startsAt, endsAt: rule.endsAt }
}

/** What `auto` says when it issued a one-time offline code for a timed code with `maxUses: 1`. */
export function offlineWarnings(issued: IssuedOfflinePin): CodeIssue[] {
  const oneTime = issued.kind === 'one_time'
  const until = issued.endsAt === null ? 'for good' : `until ${fmt(issued.endsAt)}`
  return [
    {
      code: oneTime ? 'must_be_used_within_6_hours' : 'must_be_used_within_24_hours',
      message: `type it on the lock for the first time before ${fmt(issued.firstUseBy)} (within ${oneTime ? 6 : 24} hours of its start), or it never opens`,
    },
    {
      code: 'offline_code_cannot_be_revoked_remotely',
      message: `an offline code is not stored on the lock: if it is deleted, the lock refuses it only once the lock is next reached through a gateway; until then it opens ${until}`,
    },
  ]
}
