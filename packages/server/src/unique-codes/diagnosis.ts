/**
 * "Why can't this person get in with their unique code?" (`GET /unique-codes/{id}/diagnosis`): the
 * code itself (active, expired or deleted), the locks shared to it and at which level, the device it
 * is bound to, and its recent Code Logins and how they failed. Each check is `pass`, `warn` or `fail`
 * with a sentence an owner can act on.
 */
import { decide, LatchkeyError, type WeeklySchedule } from '@latchkey/core'
import { and, desc, eq, gte } from 'drizzle-orm'
import { type Check, type CheckResult, plural, worst } from '../devices/index.ts'
import { localTime } from '../local-time.ts'
import type { Db } from '../store/index.ts'
import { events, isUuid, locks, permissions, uniqueCodes } from '../store/index.ts'

export const UNIQUE_CODE_DIAGNOSIS_CHECKS = ['code', 'locks', 'device', 'logins'] as const
export type UniqueCodeCheckName = (typeof UNIQUE_CODE_DIAGNOSIS_CHECKS)[number]

export interface UniqueCodeDiagnosis {
  uniqueCodeId: string
  result: CheckResult
  checkedAt: string
  checks: Check<UniqueCodeCheckName>[]
}

const LOGINS_SINCE_MS = 7 * 24 * 3_600_000
const LOGINS_SHOWN = 5
/** Shown in the organization's zone when the code has no lock: UTC. */
const NO_ZONE = 'UTC'

const FAILURES: Record<string, string> = {
  expired: 'the code had expired',
  deleted: 'the code had been deleted',
  bound_to_other_device: 'another device than the one it is bound to',
}

export async function diagnoseUniqueCode(
  db: Db,
  organizationId: string,
  id: string,
  nowMs: number,
): Promise<UniqueCodeDiagnosis> {
  const [code] = isUuid(id)
    ? await db
        .select()
        .from(uniqueCodes)
        .where(and(eq(uniqueCodes.id, id), eq(uniqueCodes.organizationId, organizationId)))
    : []
  if (code === undefined) throw new LatchkeyError('not_found', `no unique code ${id}`)
  const shares = await db
    .select({
      lockName: locks.name,
      timezone: locks.timezone,
      level: permissions.level,
      startsAt: permissions.startsAt,
      endsAt: permissions.endsAt,
      schedule: permissions.schedule,
      usedAt: permissions.usedAt,
      revokedAt: permissions.revokedAt,
    })
    .from(permissions)
    .innerJoin(locks, eq(locks.id, permissions.lockId))
    .where(eq(permissions.uniqueCodeId, code.id))
    .orderBy(locks.name)
  const tz = shares[0]?.timezone ?? NO_ZONE
  const checks: Check<UniqueCodeCheckName>[] = []

  // 1. The code itself.
  if (code.deletedAt !== null) {
    checks.push({
      check: 'code',
      result: 'fail',
      message: `The code “${code.description}” was deleted on ${localTime(code.deletedAt.getTime(), tz)}: Code Login refuses it and every share it had is revoked.`,
    })
  } else if (code.expiresAt.getTime() <= nowMs) {
    checks.push({
      check: 'code',
      result: 'fail',
      message: `The code “${code.description}” expired on ${localTime(code.expiresAt.getTime(), tz)}: Code Login refuses it. Make a new one (a code lasts at most six months).`,
    })
  } else {
    checks.push({
      check: 'code',
      result: 'pass',
      message: `The code “${code.description}” is active until ${localTime(code.expiresAt.getTime(), tz)}.`,
    })
  }

  // 2. The locks shared to it.
  const live = shares.filter((s) => s.revokedAt === null)
  const revoked = shares.length - live.length
  const revokedText = revoked > 0 ? ` (${plural(revoked, 'share')} revoked)` : ''
  if (live.length === 0) {
    checks.push({
      check: 'locks',
      result: 'fail',
      message: `No lock is shared to this code${revokedText}: share a lock to it under My Locks → Share.`,
    })
  } else {
    let closed = 0
    const list = live
      .map((s) => {
        const level = s.level.replace('_', '-')
        if (s.level === 'one_time' && s.usedAt !== null) {
          closed++
          return `“${s.lockName}” at ${level}, used on ${localTime(s.usedAt.getTime(), s.timezone)}`
        }
        if (s.level !== 'restricted') return `“${s.lockName}” at ${level}`
        const rule =
          s.schedule !== null
            ? { kind: 'recurring' as const, schedule: s.schedule as WeeklySchedule }
            : {
                kind: 'timed' as const,
                ...(s.startsAt === null ? {} : { startsAt: s.startsAt.getTime() }),
                ...(s.endsAt === null ? {} : { endsAt: s.endsAt.getTime() }),
              }
        const open = decide(rule, { uses: 0 }, { nowMs, timezone: s.timezone, graceMs: 0 }).allow
        if (!open) closed++
        return `“${s.lockName}” at ${level}, ${open ? 'open now' : 'closed now (outside its window)'}`
      })
      .join('; ')
    checks.push({
      check: 'locks',
      result: closed === live.length ? 'fail' : closed > 0 ? 'warn' : 'pass',
      message: `Shared: ${list}${revokedText}.`,
    })
  }

  // 3. The device it is bound to.
  checks.push(
    code.boundDeviceId === null
      ? {
          check: 'device',
          result: 'pass',
          message: 'No device is bound yet: the first device that logs in with the code is bound to it.',
        }
      : {
          check: 'device',
          result: 'pass',
          message: `Bound to the device “${code.boundDeviceId}” since ${localTime((code.boundAt ?? code.createdAt).getTime(), tz)}; another device is refused until the binding is reset (POST /unique-codes/{id}/reset-device).`,
        },
  )

  // 4. Recent Code Logins.
  const logins = await db
    .select({ type: events.type, occurredAt: events.occurredAt, data: events.data })
    .from(events)
    .where(
      and(
        eq(events.organizationId, organizationId),
        eq(events.uniqueCodeId, code.id),
        gte(events.occurredAt, new Date(nowMs - LOGINS_SINCE_MS)),
      ),
    )
    .orderBy(desc(events.occurredAt), desc(events.id))
    .limit(50)
  const attempts = logins
    .filter((e) => e.type === 'unique_code.login' || e.type === 'unique_code.login_failed')
    .slice(0, LOGINS_SHOWN)
  if (attempts.length === 0) {
    checks.push({
      check: 'logins',
      result: 'pass',
      message: 'Nobody logged in with this code in the last 7 days.',
    })
  } else {
    const failed = attempts.filter((e) => e.type === 'unique_code.login_failed')
    const list = attempts
      .map((e) => {
        const when = localTime(e.occurredAt.getTime(), tz)
        const device = typeof e.data.deviceId === 'string' ? ` from the device “${e.data.deviceId}”` : ''
        if (e.type === 'unique_code.login') return `${when}: logged in${device}`
        const reason = String(e.data.reason ?? '')
        return `${when}: refused${device}, ${FAILURES[reason] ?? 'refused'}`
      })
      .join('; ')
    checks.push({
      check: 'logins',
      result: failed.length > 0 && attempts[0]?.type === 'unique_code.login_failed' ? 'warn' : 'pass',
      message: `Recent Code Logins (latest first) — ${list}.`,
    })
  }
  return { uniqueCodeId: code.id, result: worst(checks), checkedAt: new Date(nowMs).toISOString(), checks }
}
