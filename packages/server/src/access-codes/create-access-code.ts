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
  LatchkeyError,
  validatePin,
  validateRule,
  type WeeklySchedule,
  windowEnd,
} from '@latchkey/core'
import type { ServerDeps } from '../context.ts'
import { recordCodeEvent } from '../reconciler/events.ts'
import { requestReconcile } from '../reconciler/reconciler.ts'
import { type AccessCode, type AccessCodeDelivery, accessCodes, type Lock } from '../store/schema.ts'
import { isPinLive, livePins, withPinLock } from './live-pins.ts'
import { findLock } from './lookup.ts'
import { issueOfflineCode, offlineUnavailable, offlineUnavailableReason, offlineWarnings } from './offline.ts'
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

/** The rule of a request (instants in ms); throws what validateRule refuses. */
export function ruleFromInput(input: {
  kind: AccessCodeKind
  startsAt?: string | null | undefined
  endsAt?: string | null | undefined
  schedule?: WeeklySchedule | null | undefined
  maxUses?: number | null | undefined
}): AccessRule {
  const rule: AccessRule = { kind: input.kind }
  if (input.startsAt !== undefined && input.startsAt !== null) rule.startsAt = Date.parse(input.startsAt)
  if (input.endsAt !== undefined && input.endsAt !== null) rule.endsAt = Date.parse(input.endsAt)
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
  const rule = ruleFromInput(input)
  assertNotOver(rule, lock.timezone, nowMs)
  const customPin = input.code !== undefined
  if (customPin) validatePin(input.code)

  const delivery = await chooseDelivery(deps, lock, rule, customPin, input.delivery ?? 'auto')
  const created = await withPinLock(deps.db, lock.id, async (db) => {
    const inTx = { ...deps, db }
    const row =
      delivery === 'offline'
        ? await offlineRow(inTx, lock, rule, nowMs)
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
    return inserted
  })
  await requestReconcile(deps, lock.id, { readTable: false })
  return created
}

async function chooseDelivery(
  deps: Deps,
  lock: Lock,
  rule: AccessRule,
  customPin: boolean,
  requested: AccessCodeDelivery | 'auto',
): Promise<AccessCodeDelivery> {
  const unavailable = offlineUnavailableReason(rule, customPin)
  if (requested === 'offline') {
    if (unavailable !== null) throw offlineUnavailable(unavailable)
    return 'offline'
  }
  if (requested === 'synced' || unavailable !== null) return 'synced'
  return (await deps.channel.reachable(lock.id)) ? 'synced' : 'offline'
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

async function offlineRow(deps: Deps, lock: Lock, rule: AccessRule, nowMs: number): Promise<RowFields> {
  const issued = issueOfflineCode(
    deps.secrets,
    lock,
    rule,
    await livePins(deps.db, deps.secrets, lock.id, nowMs),
    nowMs,
  )
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
    warnings: offlineWarnings(issued),
  }
}
