/**
 * What is wrong with a lock, check by check (`GET /locks/{id}/diagnosis`), and the checks the
 * diagnosis of a code shares with it: the gateway and the radio link, the lock's clock as it is now
 * (from its events when they are newer than the last sync), a keypad lockout. Each check is `pass`,
 * `warn` or `fail` with a sentence an owner can act on.
 */
import { DEFAULT_GRACE_MS, LatchkeyError } from '@latchkey/core'
import { and, desc, eq, gte, isNotNull, isNull, sql } from 'drizzle-orm'
import { localTime } from '../local-time.ts'
import type { Db } from '../store/index.ts'
import { events, type Gateway, gateways, type Lock, lockCommands, locks } from '../store/index.ts'
import { getLock } from './locks.ts'
import { linkCause } from './unreachable-cause.ts'

export type CheckResult = 'pass' | 'warn' | 'fail'

export interface Check<Name extends string = string> {
  check: Name
  result: CheckResult
  message: string
}

export const worst = (checks: readonly Check[]): CheckResult =>
  checks.some((c) => c.result === 'fail') ? 'fail' : checks.some((c) => c.result === 'warn') ? 'warn' : 'pass'

const MINUTE_MS = 60_000
const HOUR_MS = 60 * MINUTE_MS
const DAY_MS = 24 * HOUR_MS
/** Refusals looked at: this far back, at most this many. */
export const DENIALS_SINCE_MS = 7 * DAY_MS
const DENIALS_SHOWN = 5
/** Events whose stamps are compared with their arrival: the newest this many. */
const CLOCK_SAMPLES = 20

export const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`

/** "3 h 5 min", "12 min", "40 s". */
export function duration(ms: number): string {
  const abs = Math.abs(ms)
  const minutes = Math.round(abs / MINUTE_MS)
  if (minutes >= 60) {
    const h = Math.floor(minutes / 60)
    const min = minutes - h * 60
    return min === 0 ? `${h} h` : `${h} h ${min} min`
  }
  if (abs >= MINUTE_MS) return `${minutes} min`
  return `${Math.round(abs / 1000)} s`
}

// ---------------------------------------------------------------- gateway and radio link

export async function loadGateway(db: Db, lock: Lock): Promise<Gateway | undefined> {
  if (lock.gatewayId === null) return undefined
  const [gateway] = await db.select().from(gateways).where(eq(gateways.id, lock.gatewayId))
  return gateway
}

/**
 * Whether the lock can be reached now: its gateway online, the lock in its radio range. `needed`:
 * what waits for the lock (a code to set or remove) fails when it cannot be; otherwise it is a warning.
 */
export function linkCheck(lock: Lock, gateway: Gateway | undefined, needed: boolean): Check<'link'> {
  const seen = lock.lastSeenAt
    ? `last heard from on ${localTime(lock.lastSeenAt.getTime(), lock.timezone)}`
    : 'never heard from'
  const bad = needed ? 'fail' : 'warn'
  const unreachable = needed
    ? 'nothing reaches the lock until then (new codes, deletions, time syncs)'
    : 'codes already on the lock still open, but changes wait until it is reached'
  const cause = linkCause(lock, gateway)
  if (lock.driver === 'matter') {
    return cause === null
      ? {
          check: 'link',
          result: 'pass',
          message: `The server’s Matter controller reaches the lock (${seen}).`,
        }
      : {
          check: 'link',
          result: bad,
          message: `The Matter lock does not answer the server (it was ${seen}): ${unreachable}. Check that it is powered and on the network.`,
        }
  }
  switch (cause) {
    case 'no_gateway':
      return {
        check: 'link',
        result: bad,
        message: `The lock has no gateway (it was ${seen}): synced codes, deletions and time syncs cannot reach it; offline codes still work.`,
      }
    case 'gateway_offline': {
      const gwSeen = gateway?.lastSeenAt
        ? ` since ${localTime(gateway.lastSeenAt.getTime(), lock.timezone)}`
        : ''
      return {
        check: 'link',
        result: bad,
        message: `The gateway “${gateway?.name}” is offline${gwSeen} (the lock was ${seen}): ${unreachable}.`,
      }
    }
    case 'out_of_range':
      return {
        check: 'link',
        result: bad,
        message: `The gateway “${gateway?.name}” is online, but the lock is out of its radio range (${seen}): ${unreachable}. Move the gateway closer or check the lock’s battery.`,
      }
    default:
      return {
        check: 'link',
        result: 'pass',
        message: `The lock is in range of the gateway “${gateway?.name}”, which is online (${seen}).`,
      }
  }
}

// ---------------------------------------------------------------- clock

/** The lock's clock as it is now, as far as the server can tell. */
export interface LockClock {
  /** The lock's clock minus the server's, now (0 when unknown). */
  offsetMs: number
  /**
   * `events`: from the lock's own stamps on events newer than the last sync, against when they
   * arrived; `sync`: the last sync set it; `unknown`: neither.
   */
  source: 'events' | 'sync' | 'unknown'
  /** `events`: when the newest of them arrived. */
  seenAt: number | null
}

/**
 * An event stamped `at` by the lock's clock arrives at the server `delay ≥ 0` later, so
 * `at − arrival = offset − delay`: the largest of the newest batch (events that arrived together)
 * is the closest to the offset. Only events the lock logged after its last clock sync count (their
 * seq is above the sync's).
 */
export async function readLockClock(db: Db, lock: Lock): Promise<LockClock> {
  const lastSync = sql`coalesce((select max(${events.lockSeq}) from ${events} where ${events.lockId} = ${lock.id} and ${events.type} = 'lock.clock_synced'), 0)`
  const rows = await db
    .select({ occurredAt: events.occurredAt, recordedAt: events.recordedAt })
    .from(events)
    .where(
      and(
        eq(events.lockId, lock.id),
        isNotNull(events.lockSeq),
        sql`${events.data}->>'lockTime' is not null`,
        sql`${events.type} <> 'lock.clock_synced'`,
        sql`${events.lockSeq} > ${lastSync}`,
        lock.clockSyncedAt === null ? undefined : gte(events.recordedAt, lock.clockSyncedAt),
      ),
    )
    .orderBy(desc(events.lockSeq))
    .limit(CLOCK_SAMPLES)
  // The newest batch speaks for the clock as it is now (a clock can jump, not only drift).
  const newest = rows[0]
  if (newest !== undefined) {
    const batch = rows.filter((r) => r.recordedAt.getTime() === newest.recordedAt.getTime())
    const offsetMs = Math.max(...batch.map((r) => r.occurredAt.getTime() - r.recordedAt.getTime()))
    return { offsetMs, source: 'events', seenAt: newest.recordedAt.getTime() }
  }
  // A sync sets the lock's clock to the server's: what it was off by before is corrected.
  if (lock.clockSyncedAt !== null) return { offsetMs: 0, source: 'sync', seenAt: null }
  return { offsetMs: 0, source: 'unknown', seenAt: null }
}

/** `timeBound`: whether the thing diagnosed needs the lock's clock (a code with dates or times). */
export function clockCheck(lock: Lock, clock: LockClock, timeBound: boolean): Check<'clock'> {
  if (lock.driver === 'matter') {
    return {
      check: 'clock',
      result: 'pass',
      message: 'The Matter lock keeps its own time: the server neither sets nor reads it.',
    }
  }
  if (lock.lastSeenAt === null) {
    return {
      check: 'clock',
      result: 'warn',
      message: 'The lock has not been in touch yet, so its clock is unknown.',
    }
  }
  if (!lock.clockSet) {
    return timeBound
      ? {
          check: 'clock',
          result: 'fail',
          message:
            'The lock’s clock is not set (it lost power?): codes with dates or times are refused until a gateway sets it.',
        }
      : {
          check: 'clock',
          result: 'warn',
          message: 'The lock’s clock is not set (it lost power?); codes with no time limit still open.',
        }
  }
  const tz = lock.timezone
  const synced = lock.clockSyncedAt ? ` on ${localTime(lock.clockSyncedAt.getTime(), tz)}` : ''
  if (clock.source === 'events') {
    const off = Math.abs(clock.offsetMs)
    const seen =
      clock.seenAt === null ? '' : ` (from its events, the latest on ${localTime(clock.seenAt, tz)})`
    if (off > DEFAULT_GRACE_MS) {
      return {
        check: 'clock',
        result: timeBound ? 'fail' : 'warn',
        message: `The lock’s clock is ${duration(off)} ${clock.offsetMs < 0 ? 'slow' : 'fast'}${seen}: it judges windows by its own time, so ${timeBound ? `this code opens and closes ${duration(off)} ${clock.offsetMs < 0 ? 'late' : 'early'}` : 'codes with dates or times open at the wrong hour'}. A time sync (POST /locks/{id}/sync-time) sets it right.`,
      }
    }
    return {
      check: 'clock',
      result: 'pass',
      message: `The lock’s clock is right (within ${duration(off)})${seen}.`,
    }
  }
  const before = Math.abs(lock.clockOffsetMs ?? 0)
  if (clock.source === 'sync' && before > DEFAULT_GRACE_MS) {
    return {
      check: 'clock',
      result: 'pass',
      message: `The lock’s clock was ${duration(before)} ${(lock.clockOffsetMs ?? 0) < 0 ? 'slow' : 'fast'} and was set right when synced${synced}; attempts before then were judged by the wrong time.`,
    }
  }
  return {
    check: 'clock',
    result: 'pass',
    message: `The lock’s clock is set (off by ${Math.round(before / 1000)} s when last synced${synced}).`,
  }
}

// ---------------------------------------------------------------- lockout

export async function lockoutCheck(db: Db, lock: Lock, lockNow: number): Promise<Check<'lockout'>> {
  const [last] = await db
    .select({ occurredAt: events.occurredAt, data: events.data })
    .from(events)
    .where(
      and(
        eq(events.lockId, lock.id),
        eq(events.type, 'lock.locked_out'),
        gte(events.occurredAt, new Date(lockNow - DAY_MS)),
      ),
    )
    .orderBy(desc(events.occurredAt))
    .limit(1)
  if (last === undefined)
    return {
      check: 'lockout',
      result: 'pass',
      message: 'The keypad has not been locked out in the last 24 hours.',
    }
  const until = typeof last.data.until === 'string' ? Date.parse(last.data.until) : Number.NaN
  const wrong =
    typeof last.data.wrongAttempts === 'number'
      ? ` after ${plural(last.data.wrongAttempts, 'wrong code')}`
      : ''
  if (Number.isFinite(until) && until > lockNow) {
    return {
      check: 'lockout',
      result: 'fail',
      message: `The keypad is locked out${wrong} until ${localTime(until, lock.timezone)}: every code is refused until then.`,
    }
  }
  return {
    check: 'lockout',
    result: 'warn',
    message: `The keypad was locked out${wrong} on ${localTime(last.occurredAt.getTime(), lock.timezone)}; it accepts codes again now.`,
  }
}

// ---------------------------------------------------------------- the lock's own diagnosis

export const LOCK_DIAGNOSIS_CHECKS = [
  'link',
  'clock',
  'battery',
  'capacity',
  'lockout',
  'denials',
  'commands',
] as const
export type LockCheckName = (typeof LOCK_DIAGNOSIS_CHECKS)[number]

export interface LockDiagnosis {
  lockId: string
  result: CheckResult
  checkedAt: string
  checks: Check<LockCheckName>[]
}

const BATTERY_LOW = 20

export async function diagnoseLock(
  db: Db,
  organizationId: string,
  id: string,
  nowMs: number,
): Promise<LockDiagnosis> {
  const { id: lockId } = await getLock(db, organizationId, id)
  const [lock] = await db.select().from(locks).where(eq(locks.id, lockId))
  if (lock === undefined) throw new LatchkeyError('not_found', `no lock ${id}`)
  const gateway = await loadGateway(db, lock)
  const clock = await readLockClock(db, lock)
  const lockNow = nowMs + clock.offsetMs
  const checks: Check<LockCheckName>[] = [
    linkCheck(lock, gateway, true),
    clockCheck(lock, clock, true),
    batteryCheck(lock),
    capacityCheck(lock),
    await lockoutCheck(db, lock, lockNow),
    await recentDenialsCheck(db, lock, nowMs),
    await commandsCheck(db, lock, nowMs),
  ]
  return { lockId: lock.id, result: worst(checks), checkedAt: new Date(nowMs).toISOString(), checks }
}

function batteryCheck(lock: Lock): Check<'battery'> {
  if (lock.battery === null)
    return { check: 'battery', result: 'warn', message: 'The lock has not reported its battery yet.' }
  if (lock.battery <= BATTERY_LOW)
    return {
      check: 'battery',
      result: 'warn',
      message: `The battery is low (${lock.battery} %): replace it soon; a lock that loses power forgets the time until it is synced again.`,
    }
  return { check: 'battery', result: 'pass', message: `The battery is at ${lock.battery} %.` }
}

function capacityCheck(lock: Lock): Check<'capacity'> {
  const slots = `${lock.codesOnLock} of ${lock.capacity} slots are in use`
  if (lock.codesOnLock >= lock.capacity)
    return {
      check: 'capacity',
      result: 'warn',
      message: `The lock is full (${slots}): new synced codes wait for a free slot; offline codes take none.`,
    }
  return { check: 'capacity', result: 'pass', message: `The lock is not full: ${slots}.` }
}

const REFUSALS: Record<string, string> = {
  unknown_code: 'a PIN the lock does not know',
  outside_schedule: 'a code outside its window or schedule',
  expired: 'a code whose window had ended',
  already_used: 'a one-time code used already',
  uses_exhausted: 'a code whose uses were used up',
  locked_out: 'the keypad locked out',
  clock_not_set: 'the clock not set',
  revoked: 'a deleted or revoked code',
}

async function recentDenialsCheck(db: Db, lock: Lock, nowMs: number): Promise<Check<'denials'>> {
  const rows = await db
    .select({ occurredAt: events.occurredAt, data: events.data })
    .from(events)
    .where(
      and(
        eq(events.lockId, lock.id),
        eq(events.type, 'lock.access_denied'),
        gte(events.recordedAt, new Date(nowMs - DENIALS_SINCE_MS)),
      ),
    )
    .orderBy(desc(events.occurredAt), desc(events.id))
    .limit(DENIALS_SHOWN)
  if (rows.length === 0)
    return { check: 'denials', result: 'pass', message: 'The lock has refused nothing in the last 7 days.' }
  const list = rows
    .map((row) => {
      const reason = String(row.data.reason ?? '')
      const label = typeof row.data.label === 'string' ? ` “${row.data.label}”` : ''
      return `${localTime(row.occurredAt.getTime(), lock.timezone)}: ${REFUSALS[reason] ?? 'refused'}${label}`
    })
    .join('; ')
  return { check: 'denials', result: 'warn', message: `The lock refused recently (latest first) — ${list}.` }
}

async function commandsCheck(db: Db, lock: Lock, nowMs: number): Promise<Check<'commands'>> {
  const [pending] = await db
    .select({ count: sql<number>`count(*)::int`, oldest: sql<Date | null>`min(${lockCommands.sentAt})` })
    .from(lockCommands)
    .where(
      and(
        eq(lockCommands.lockId, lock.id),
        eq(lockCommands.status, 'pending'),
        isNull(lockCommands.repliedAt),
      ),
    )
  const count = pending?.count ?? 0
  if (count === 0)
    return { check: 'commands', result: 'pass', message: 'No command is waiting for the lock to answer.' }
  const oldest = pending?.oldest ? new Date(pending.oldest).getTime() : nowMs
  return {
    check: 'commands',
    result: 'warn',
    message: `${plural(count, 'command')} ${count === 1 ? 'waits' : 'wait'} for the lock to answer, the oldest sent on ${localTime(oldest, lock.timezone)}.`,
  }
}
