/**
 * Creating an access code (SPEC §3): validated against the lock's rules, delivered `synced` (through
 * a gateway, just in time) or `offline` (derived from the lock's secret), `auto` choosing synced when
 * the lock is reachable. Only owners and admins create codes.
 */
import { randomUUID } from 'node:crypto'
import {
  type AccessCodeKind,
  type AccessRule,
  assertTimezone,
  generatePin,
  type IssuedOfflinePin,
  isLatchkeyError,
  LatchkeyError,
  resolveRequestTime,
  validatePin,
  validateRule,
  type WeeklySchedule,
  windowEnd,
} from '@latchkey/core'
import type { ServerDeps } from '../context.ts'
import { driverHas, requireDriverFeature, unreachableCause } from '../devices/index.ts'
import { recordCodeEvent } from '../events/index.ts'
import { localTime } from '../local-time.ts'
import { lookSoonAfterCommit, markDue, type Unreachable, unreachableWords } from '../reconciler/index.ts'
import {
  type AccessCode,
  type AccessCodeDelivery,
  accessCodes,
  type CodeIssue,
  type Lock,
} from '../store/index.ts'
import { isPinLive, livePins, withPinLock } from './live-pins.ts'
import { findLock } from './lookup.ts'
import {
  issueOfflineCode,
  offlineUnavailable,
  offlineUnavailableReason,
  offlineWarnings,
  oneTimeInstead,
} from './offline.ts'
import { placeSyncedCode } from './placement.ts'
import { pinContext } from './rule.ts'

/** Generated PINs have this many digits. */
export const GENERATED_PIN_LENGTH = 6

export interface CreateAccessCodeInput {
  name: string
  kind: AccessCodeKind
  code?: string | undefined
  startsAt?: string | undefined
  endsAt?: string | undefined
  schedule?: WeeklySchedule | undefined
  maxUses?: number | undefined
  delivery?: AccessCodeDelivery | 'auto' | undefined
  /** The stay the code belongs to (set by properties/, never by the API). */
  stayId?: string | undefined
}

/** Who makes a change: a user of the organization, or the server itself (a calendar sync: userId null). */
export interface Actor {
  organizationId: string
  userId: string | null
}

export type Deps = Pick<ServerDeps, 'db' | 'secrets' | 'clock' | 'channel'>

/** The rule of a request (instants in ms, local times read in the lock's `timezone`); throws what validateRule refuses. */
export function ruleFromInput(
  input: {
    kind: AccessCodeKind
    startsAt?: string | null | undefined
    endsAt?: string | null | undefined
    schedule?: WeeklySchedule | null | undefined
    maxUses?: number | null | undefined
  },
  timezone: string,
): AccessRule {
  const rule: AccessRule = { kind: input.kind }
  if (input.startsAt !== undefined && input.startsAt !== null)
    rule.startsAt = resolveRequestTime(input.startsAt, timezone, 'startsAt')
  if (input.endsAt !== undefined && input.endsAt !== null)
    rule.endsAt = resolveRequestTime(input.endsAt, timezone, 'endsAt')
  if (input.schedule !== undefined && input.schedule !== null) rule.schedule = input.schedule
  if (input.maxUses !== undefined && input.maxUses !== null) rule.maxUses = input.maxUses
  validateRule(rule)
  return rule
}

/** Refuses a window that is over already: such a code could never open. */
export function assertNotOver(rule: AccessRule, timezone: string, nowMs: number): void {
  const end = windowEnd(rule, timezone)
  if (end !== null && end <= nowMs) {
    throw new LatchkeyError('invalid_window', 'the code’s window has already ended; it could never open')
  }
}

export async function assertPinFree(
  deps: Deps,
  lockId: string,
  pin: string,
  nowMs: number,
  exceptId?: string,
) {
  if (await isPinLive(deps.db, deps.secrets, lockId, pin, nowMs, exceptId)) {
    throw new LatchkeyError(
      'duplicate_code_on_lock',
      'this PIN is already in use on the lock; choose another',
    )
  }
}

export async function createAccessCode(
  deps: Deps,
  auth: Actor,
  lockId: string,
  input: CreateAccessCodeInput,
): Promise<AccessCode> {
  const nowMs = deps.clock.now()
  const lock = await findLock(deps.db, auth.organizationId, lockId)
  assertTimezone(lock.timezone)
  const asked = ruleFromInput(input, lock.timezone)
  assertNotOver(asked, lock.timezone, nowMs)
  const customPin = input.code !== undefined
  if (customPin) validatePin(input.code)

  const { delivery, rule, oneTime, offlineBecause } = await chooseDelivery(
    deps,
    lock,
    asked,
    customPin,
    input.delivery ?? 'auto',
  )
  const created = await withPinLock(deps.db, lock.id, async (db) => {
    const inTx = { ...deps, db }
    const row =
      delivery === 'offline'
        ? await offlineRow(inTx, lock, rule, nowMs, oneTime, offlineBecause)
        : await syncedRow(inTx, lock, rule, input.code, nowMs)
    const now = new Date(nowMs)
    const [code] = await db
      .insert(accessCodes)
      .values({
        ...row,
        organizationId: auth.organizationId,
        lockId: lock.id,
        name: input.name,
        kind: rule.kind,
        delivery,
        stayId: input.stayId ?? null,
        createdBy: auth.userId,
        createdAt: now,
        updatedAt: now,
      })
      .returning()
    const inserted = code!
    await recordCodeEvent(db, inserted, 'access_code.created', {
      nowMs,
      actorUserId: auth.userId,
      lockName: lock.name,
      data: { kind: inserted.kind, delivery, status: inserted.status },
    })
    if (inserted.status === 'failed') {
      await recordCodeEvent(db, inserted, 'access_code.failed_to_set', {
        nowMs,
        lockName: lock.name,
        data: { error: inserted.errors[0]?.code ?? 'failed_to_set' },
      })
    }
    await markDue(db, lock.id, nowMs)
    return inserted
  })
  lookSoonAfterCommit(deps.db, [lock.id])
  return created
}

/**
 * Where the code goes, and its rule there. `auto` with the lock out of reach issues an offline code,
 * except for what the offline scheme cannot carry: a recurring code or a chosen PIN goes synced (it
 * reaches the lock when the lock is next reached); a use limit is refused, but a timed code with
 * `maxUses: 1` whose window fits becomes an offline one-time code, and says so.
 */
async function chooseDelivery(
  deps: Deps,
  lock: Lock,
  rule: AccessRule,
  customPin: boolean,
  requested: AccessCodeDelivery | 'auto',
): Promise<{
  delivery: AccessCodeDelivery
  rule: AccessRule
  oneTime: boolean
  offlineBecause: Exclude<Unreachable, null> | null
}> {
  const synced = { delivery: 'synced' as const, rule, oneTime: false, offlineBecause: null }
  // Offline codes are the latchkey driver's: another driver's lock takes synced codes only.
  if (!driverHas(lock.driver, 'offline_codes')) {
    if (requested === 'offline') requireDriverFeature(lock.driver, 'offline_codes')
    return synced
  }
  const unavailable = offlineUnavailableReason(rule, customPin)
  if (requested === 'offline') {
    if (unavailable !== null) throw offlineUnavailable(unavailable)
    return { delivery: 'offline', rule, oneTime: false, offlineBecause: null }
  }
  if (requested === 'synced') return synced
  const cause = await unreachableCause(deps, lock.id)
  if (cause === null || customPin || rule.kind === 'recurring') return synced
  if (rule.maxUses !== undefined && rule.kind !== 'one_time') {
    return {
      delivery: 'offline',
      rule: oneTimeInstead(rule, lock.name),
      oneTime: true,
      offlineBecause: cause,
    }
  }
  return unavailable === null ? { delivery: 'offline', rule, oneTime: false, offlineBecause: cause } : synced
}

type RowFields = Omit<
  typeof accessCodes.$inferInsert,
  'organizationId' | 'lockId' | 'name' | 'kind' | 'delivery' | 'createdAt' | 'updatedAt'
> & { id: string }

function windowFields(rule: AccessRule) {
  return {
    startsAt: rule.startsAt === undefined ? null : new Date(rule.startsAt),
    endsAt: rule.endsAt === undefined ? null : new Date(rule.endsAt),
    schedule: rule.schedule ?? null,
    maxUses: rule.maxUses ?? null,
  }
}

export async function syncedRow(
  deps: Deps,
  lock: Lock,
  rule: AccessRule,
  custom: string | undefined,
  nowMs: number,
): Promise<RowFields> {
  let pin: string
  if (custom !== undefined) {
    await assertPinFree(deps, lock.id, custom, nowMs)
    pin = custom
  } else {
    pin = generatePin(GENERATED_PIN_LENGTH, await livePins(deps.db, deps.secrets, lock.id, nowMs))
  }
  const id = randomUUID()
  const placement = await placeSyncedCode(
    deps.db,
    lock,
    { id, rule, uses: 0, lastUsedAt: null, createdAt: new Date(nowMs) },
    nowMs,
  )
  return {
    id,
    ...windowFields(rule),
    pinEncrypted: deps.secrets.encrypt(pin, pinContext(id)),
    pinHash: deps.secrets.lookupHash('pin', pin),
    status: placement.status,
    errors: placement.errors,
    warnings: placement.warnings,
    pendingSince: placement.pendingSince,
  }
}

async function offlineRow(
  deps: Deps,
  lock: Lock,
  rule: AccessRule,
  nowMs: number,
  oneTimeForLimit: boolean,
  autoBecause: Exclude<Unreachable, null> | null,
): Promise<RowFields> {
  const pins = await livePins(deps.db, deps.secrets, lock.id, nowMs)
  let issued: IssuedOfflinePin
  try {
    issued = issueOfflineCode(deps.secrets, lock, rule, pins, nowMs)
  } catch (error) {
    if (!oneTimeForLimit || !isLatchkeyError(error) || error.code !== 'offline_code_unavailable') throw error
    throw offlineUnavailable(
      `${lock.name} cannot be reached now, and an offline timed code has no use limit; as a one-time code it would open for 6 hours from its start hour, past the end asked for: end it at least that late, use delivery synced, or leave out maxUses`,
    )
  }
  const id = randomUUID()
  return {
    id,
    startsAt: new Date(issued.startsAt),
    endsAt: issued.endsAt === null ? null : new Date(issued.endsAt),
    schedule: null,
    maxUses: null,
    pinEncrypted: deps.secrets.encrypt(issued.pin, pinContext(id)),
    pinHash: deps.secrets.lookupHash('pin', issued.pin),
    offlineH: issued.h,
    offlineFirstUseBy: new Date(issued.firstUseBy),
    status: 'issued',
    errors: [],
    warnings: [
      ...(autoBecause === null
        ? []
        : [deliveredOfflineIssue(autoBecause, issued, lock.timezone, oneTimeForLimit)]),
      ...offlineWarnings(issued),
    ],
  }
}

/** `auto` found the lock out of reach and issued an offline code: what that changes. */
function deliveredOfflineIssue(
  cause: Exclude<Unreachable, null>,
  issued: { startsAt: number; endsAt: number | null },
  timezone: string,
  oneTime: boolean,
): CodeIssue {
  const window =
    issued.endsAt === null
      ? `from ${localTime(issued.startsAt, timezone)}`
      : `from ${localTime(issued.startsAt, timezone)} to ${localTime(issued.endsAt, timezone)}`
  return {
    code: 'delivered_offline',
    message: `${unreachableWords(cause)}, so this is an offline ${oneTime ? 'one-time code, since an offline code counts no other use limit' : 'code'}: nothing was sent to the lock; it opens ${oneTime ? 'once, ' : ''}${window}, whole hours only, and a delete reaches the lock only when the lock is next reached`,
  }
}
