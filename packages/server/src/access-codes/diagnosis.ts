/**
 * "Why doesn't this code work?" (SPEC §8). The checks follow what support asks first — the correct
 * lock, the correct dates and times, and that the lock isn't full of codes — then the lock's clock,
 * whether the code has reached the lock, a keypad lockout, and the lock's recent refusals of it.
 * Each check is `pass`, `warn` or `fail` with a sentence an owner can act on.
 */
import {
  type AccessRule,
  DEFAULT_GRACE_MS,
  type DenyReason,
  decide,
  nextOpening,
  windowEnd,
} from '@latchkey/core'
import { deniedPinHash, deriveLockKeys } from '@latchkey/protocol'
import { and, desc, eq, gte, isNull, ne, sql } from 'drizzle-orm'
import { getOrganizationSettings } from '../accounts/index.ts'
import {
  type Check,
  type CheckResult,
  clockCheck,
  DENIALS_SINCE_MS,
  decryptLockSecret,
  linkCheck,
  loadGateway,
  lockoutCheck,
  plural,
  readLockClock,
  worst,
} from '../devices/index.ts'
import { localTime } from '../local-time.ts'
import { LOCK_FULL_WHEN_DUE, loadLockSync } from '../reconciler/index.ts'
import type { Secrets } from '../secrets.ts'
import type { Db } from '../store/index.ts'
import { type AccessCode, events, type Lock, locks } from '../store/index.ts'
import { decryptPin, ruleOf } from './rule.ts'

export type { CheckResult } from '../devices/index.ts'
export const DIAGNOSIS_CHECKS = [
  'lock',
  'link',
  'window',
  'clock',
  'sync',
  'capacity',
  'lockout',
  'denials',
] as const
export type DiagnosisCheckName = (typeof DIAGNOSIS_CHECKS)[number]

export type DiagnosisCheck = Check<DiagnosisCheckName>

export interface Diagnosis {
  accessCodeId: string
  lockId: string
  /** The worst result of the checks. */
  result: CheckResult
  checkedAt: string
  checks: DiagnosisCheck[]
}

const HOUR_MS = 3_600_000
const DENIALS_SHOWN = 5
/** Refusals of unknown PINs at the organization's other locks looked at for a code typed there. */
const ELSEWHERE_LOOKED_AT = 50

const REASONS: Record<DenyReason, string> = {
  unknown_code: 'the lock does not know it',
  outside_schedule: 'outside its window or schedule',
  expired: 'its window had ended',
  already_used: 'it had been used already (one-time)',
  uses_exhausted: 'its uses were used up',
  locked_out: 'the keypad was locked out after wrong codes',
  clock_not_set: 'the lock’s clock was not set',
  revoked: 'it had been revoked',
}

export async function diagnoseAccessCode(
  db: Db,
  secrets: Secrets,
  code: AccessCode,
  nowMs: number,
): Promise<Diagnosis> {
  const [lock] = await db.select().from(locks).where(eq(locks.id, code.lockId))
  const checks: DiagnosisCheck[] = []
  const add = (check: DiagnosisCheckName, result: CheckResult, message: string) =>
    checks.push({ check, result, message })
  const rule = ruleOf(code)

  // 1. The correct lock.
  if (lock === undefined || lock.deletedAt !== null) {
    add('lock', 'fail', 'The lock this code was made for has been deleted.')
  } else if (code.deletedAt !== null) {
    add(
      'lock',
      'fail',
      `The code was deleted on ${localTime(code.deletedAt.getTime(), lock.timezone)}; it is for the lock “${lock.name}”.`,
    )
  } else {
    checks.push(await rightLockCheck(db, secrets, code, rule, lock, nowMs))
  }
  if (lock === undefined) return finish(code, nowMs, checks)

  // The lock's own reading of the time, as it is now.
  const clock = await readLockClock(db, lock)
  const lockNow = nowMs + clock.offsetMs
  const waiting = ['scheduled', 'setting', 'removing'].includes(code.status) && code.delivery === 'synced'
  checks.push(linkCheck(lock, await loadGateway(db, lock), waiting))
  checks.push(windowCheck(code, rule, lock, lockNow))
  checks.push(clockCheck(lock, clock, isTimeBound(code, rule)))
  checks.push(await syncCheck(db, code, lock, nowMs))
  checks.push(await capacityCheck(db, code, lock))
  checks.push(await lockoutCheck(db, lock, lockNow))
  checks.push(await denialsCheck(db, code, lock, nowMs))
  return finish(code, nowMs, checks)
}

const isTimeBound = (code: AccessCode, rule: AccessRule) =>
  !(rule.kind === 'permanent' || (rule.kind === 'one_time' && code.startsAt === null && code.endsAt === null))

/**
 * The right lock: a PIN typed at another lock of the organization is refused there as unknown. A lock
 * that names the PIN by its keyed hash says which code it was; without one (an older lock), a refusal
 * there while this code was valid, with no attempt of it at its own lock that minute, is probably it.
 */
async function rightLockCheck(
  db: Db,
  secrets: Secrets,
  code: AccessCode,
  rule: AccessRule,
  lock: Lock,
  nowMs: number,
): Promise<DiagnosisCheck> {
  const only = `The code is for the lock “${lock.name}” only; it does not open other locks.`
  const elsewhere = await db
    .select({
      lockId: events.lockId,
      occurredAt: events.occurredAt,
      pinHash: events.pinHash,
      lockName: locks.name,
      secretEncrypted: locks.secretEncrypted,
    })
    .from(events)
    .innerJoin(locks, eq(locks.id, events.lockId))
    .where(
      and(
        eq(events.organizationId, code.organizationId),
        ne(events.lockId, lock.id),
        eq(events.type, 'lock.access_denied'),
        isNull(events.accessCodeId),
        sql`${events.data}->>'reason' = 'unknown_code'`,
        gte(events.recordedAt, new Date(Math.max(nowMs - DENIALS_SINCE_MS, code.createdAt.getTime()))),
      ),
    )
    .orderBy(desc(events.occurredAt))
    .limit(ELSEWHERE_LOOKED_AT)
  if (elsewhere.length === 0) return { check: 'lock', result: 'pass', message: only }
  const pin = decryptPin(secrets, code)
  const hashes = new Map<string, string>()
  const hashAt = (row: (typeof elsewhere)[number]) => {
    const id = row.lockId as string
    let hash = hashes.get(id)
    if (hash === undefined) {
      hash = deniedPinHash(
        deriveLockKeys(decryptLockSecret(secrets, { id, secretEncrypted: row.secretEncrypted })).denied,
        pin,
      )
      hashes.set(id, hash)
    }
    return hash
  }
  const typed = elsewhere.find((row) => row.pinHash !== null && row.pinHash === hashAt(row))
  if (typed !== undefined) {
    return {
      check: 'lock',
      result: 'fail',
      message: `The code was typed at the lock “${typed.lockName}” on ${localTime(typed.occurredAt.getTime(), lock.timezone)}, which refused it: it opens only “${lock.name}”.`,
    }
  }
  // An older lock reports no hash: match by the minute.
  const ownAttempts = await db
    .select({ occurredAt: events.occurredAt })
    .from(events)
    .where(
      and(
        eq(events.lockId, lock.id),
        eq(events.accessCodeId, code.id),
        sql`${events.type} in ('lock.unlocked', 'lock.access_denied')`,
      ),
    )
  const minute = (ms: number) => Math.floor(ms / 60_000)
  const tried = new Set(ownAttempts.map((a) => minute(a.occurredAt.getTime())))
  const probable = elsewhere.find(
    (row) =>
      row.pinHash === null &&
      !tried.has(minute(row.occurredAt.getTime())) &&
      decide(
        rule,
        { uses: code.uses },
        { nowMs: row.occurredAt.getTime(), timezone: lock.timezone, graceMs: 0 },
      ).allow,
  )
  if (probable !== undefined) {
    return {
      check: 'lock',
      result: 'warn',
      message: `The lock “${probable.lockName}” refused an unknown code on ${localTime(probable.occurredAt.getTime(), lock.timezone)}, while this code was valid and “${lock.name}” saw no attempt of it: it was probably typed at “${probable.lockName}”. It opens only “${lock.name}”.`,
    }
  }
  return { check: 'lock', result: 'pass', message: only }
}

function finish(code: AccessCode, nowMs: number, checks: DiagnosisCheck[]): Diagnosis {
  const result: CheckResult = worst(checks)
  return {
    accessCodeId: code.id,
    lockId: code.lockId,
    result,
    checkedAt: new Date(nowMs).toISOString(),
    checks,
  }
}

function windowText(code: AccessCode, rule: AccessRule, tz: string): string {
  if (rule.kind === 'recurring' && rule.schedule) {
    const days = ['', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun']
    const slots = rule.schedule.slots
      .map((s) => `${s.days.map((d) => days[d]).join(', ')} ${s.start}–${s.end}`)
      .join('; ')
    const range = [
      rule.schedule.startsOn ? `from ${rule.schedule.startsOn}` : '',
      rule.schedule.endsOn ? `until ${rule.schedule.endsOn}` : '',
    ]
      .filter(Boolean)
      .join(' ')
    return `every ${slots}${range ? ` ${range}` : ''}`
  }
  const from = code.startsAt ? `from ${localTime(code.startsAt.getTime(), tz)}` : ''
  const to = code.endsAt ? `until ${localTime(code.endsAt.getTime(), tz)}` : ''
  return [from, to].filter(Boolean).join(' ') || 'at any time'
}

function windowCheck(code: AccessCode, rule: AccessRule, lock: Lock, lockNow: number): DiagnosisCheck {
  const tz = lock.timezone
  const at = `It is ${localTime(lockNow, tz)} at the lock`
  const valid = `it is valid ${windowText(code, rule, tz)}`
  if (
    code.delivery === 'offline' &&
    code.uses === 0 &&
    code.offlineFirstUseBy !== null &&
    code.offlineFirstUseBy.getTime() <= lockNow
  ) {
    return {
      check: 'window',
      result: 'fail',
      message: `${at}: the offline code had to be typed for the first time before ${localTime(code.offlineFirstUseBy.getTime(), tz)}, and never opens now.`,
    }
  }
  const clock = { nowMs: lockNow, timezone: tz, graceMs: DEFAULT_GRACE_MS }
  const decision = decide(rule, { uses: code.uses }, clock)
  if (decision.allow) {
    const firstUse =
      code.delivery === 'offline' && code.uses === 0 && code.offlineFirstUseBy !== null
        ? ` It must be typed for the first time before ${localTime(code.offlineFirstUseBy.getTime(), tz)}.`
        : ''
    return { check: 'window', result: 'pass', message: `${at}; ${valid}, so it opens now.${firstUse}` }
  }
  switch (decision.reason) {
    case 'outside_schedule': {
      const next = nextOpening(rule, { uses: code.uses }, { ...clock, graceMs: 0 })
      const when = next === null ? 'and will not open again' : `and opens next on ${localTime(next, tz)}`
      return { check: 'window', result: 'fail', message: `${at}; ${valid}, so it does not open now ${when}.` }
    }
    case 'expired': {
      const end = windowEnd(rule, tz)
      const ended = end === null ? 'its window has ended' : `its window ended on ${localTime(end, tz)}`
      return { check: 'window', result: 'fail', message: `${at}; ${ended}, so it no longer opens.` }
    }
    case 'already_used':
      return {
        check: 'window',
        result: 'fail',
        message: `It is a one-time code and was used already${code.lastUsedAt ? ` (${localTime(code.lastUsedAt.getTime(), tz)})` : ''}.`,
      }
    case 'uses_exhausted':
      return {
        check: 'window',
        result: 'fail',
        message: `It was used ${plural(code.uses, 'time')}, its limit of ${code.maxUses ?? code.uses}.`,
      }
    default:
      return {
        check: 'window',
        result: 'fail',
        message: `${at}; ${valid}, but it does not open now (${REASONS[decision.reason]}).`,
      }
  }
}

async function syncCheck(db: Db, code: AccessCode, lock: Lock, nowMs: number): Promise<DiagnosisCheck> {
  const errors = code.errors.map((e) => `${e.message} (${e.code})`).join('; ')
  const warnings = code.warnings
    .filter((w) => w.code === 'delay_in_setting_on_lock')
    .map((w) => w.message)
    .join('; ')
  if (code.delivery === 'offline') {
    if (code.status === 'removing') {
      return {
        check: 'sync',
        result: 'warn',
        message:
          'Deleted offline code: it still opens until the lock is next reached through a gateway and revokes it.',
      }
    }
    if (code.status === 'removed')
      return { check: 'sync', result: 'fail', message: 'The code was deleted and the lock has revoked it.' }
    return {
      check: 'sync',
      result: 'pass',
      message: 'An offline code: nothing needs to reach the lock, it works without a gateway.',
    }
  }
  switch (code.status) {
    case 'set':
      return {
        check: 'sync',
        result: 'pass',
        message: `The code is on the lock${code.setOnLockAt ? ` since ${localTime(code.setOnLockAt.getTime(), lock.timezone)}` : ''}.`,
      }
    case 'scheduled': {
      const settings = await getOrganizationSettings(db, lock.organizationId)
      const start = nextOpening(
        ruleOf(code),
        { uses: code.uses },
        { nowMs, timezone: lock.timezone, graceMs: 0 },
      )
      const when =
        start === null ? '' : ` around ${localTime(start - settings.syncLeadHours * HOUR_MS, lock.timezone)}`
      return {
        check: 'sync',
        result: 'pass',
        message: `The code goes onto the lock ${plural(settings.syncLeadHours, 'hour')} before it first opens${when}.`,
      }
    }
    case 'setting':
      return {
        check: 'sync',
        result: 'warn',
        message: `The code is on its way to the lock and does not open yet${errors ? `: ${errors}` : ''}${warnings ? `; ${warnings}` : ''}.`,
      }
    case 'failed':
      return {
        check: 'sync',
        result: 'fail',
        message: `The code could not be put on the lock: ${errors || 'the lock refused it'}.`,
      }
    case 'removing':
      return {
        check: 'sync',
        result: 'warn',
        message: `The code is being taken off the lock${warnings ? `: ${warnings}` : ''}.`,
      }
    default:
      return { check: 'sync', result: 'fail', message: 'The code has been taken off the lock.' }
  }
}

async function capacityCheck(db: Db, code: AccessCode, lock: Lock): Promise<DiagnosisCheck> {
  const sync = await loadLockSync(db, lock.id)
  const used = sync === undefined ? lock.codesOnLock : Object.keys(sync.reported).length
  const slots = `${used} of ${lock.capacity} slots are in use`
  if (code.errors.some((e) => e.code === 'lock_full')) {
    return {
      check: 'capacity',
      result: 'fail',
      message: `The lock is full (${slots}): delete a code on it, or wait for one to end, to make room.`,
    }
  }
  if (code.delivery === 'offline')
    return { check: 'capacity', result: 'pass', message: `An offline code takes no slot (${slots}).` }
  if (code.status === 'scheduled') {
    // Capacity planning: the reconciler works it out on every look at the lock (status.ts).
    const noSlot = code.warnings.find((w) => w.code === LOCK_FULL_WHEN_DUE)
    if (noSlot !== undefined) {
      return {
        check: 'capacity',
        result: 'warn',
        message: `${noSlot.message.charAt(0).toUpperCase()}${noSlot.message.slice(1)} (${slots} now).`,
      }
    }
    return {
      check: 'capacity',
      result: 'pass',
      message: `There will be a slot for it when it is due (${slots} now).`,
    }
  }
  if (used >= lock.capacity) {
    return {
      check: 'capacity',
      result: 'warn',
      message: `The lock is full (${slots}); codes that are not on it yet must wait for a free slot.`,
    }
  }
  return { check: 'capacity', result: 'pass', message: `The lock is not full: ${slots}.` }
}

async function denialsCheck(db: Db, code: AccessCode, lock: Lock, nowMs: number): Promise<DiagnosisCheck> {
  const rows = await db
    .select({ occurredAt: events.occurredAt, data: events.data })
    .from(events)
    .where(
      and(
        eq(events.lockId, lock.id),
        eq(events.accessCodeId, code.id),
        eq(events.type, 'lock.access_denied'),
        gte(events.occurredAt, new Date(nowMs - DENIALS_SINCE_MS)),
      ),
    )
    .orderBy(desc(events.occurredAt), desc(events.id))
    .limit(DENIALS_SHOWN)
  if (rows.length === 0) {
    return {
      check: 'denials',
      result: 'pass',
      message: 'The lock has not refused this code in the last 7 days.',
    }
  }
  // An offline code never opened yet that is refused for its uses found the lock's memory of offline
  // codes full: the lock refuses a new one rather than forget one still live.
  const ledgerFull = code.delivery === 'offline' && code.uses === 0
  const why = (reason: DenyReason) =>
    reason === 'uses_exhausted' && ledgerFull
      ? `the lock’s memory of offline codes in use (${lock.ledgerCapacity} entries) was full, so it could not record a first use`
      : REASONS[reason]
  const list = rows
    .map((row) => {
      const reason = row.data.reason as DenyReason | undefined
      return `${localTime(row.occurredAt.getTime(), lock.timezone)}: ${reason && reason in REASONS ? why(reason) : 'refused'}`
    })
    .join('; ')
  return {
    check: 'denials',
    result: 'warn',
    message: `The lock refused this code recently (latest first) — ${list}.`,
  }
}
