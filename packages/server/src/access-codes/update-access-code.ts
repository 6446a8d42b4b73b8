/**
 * Changing an access code (owner or admin). A synced code may change its name, PIN, kind, window,
 * schedule and use limit; a change the lock must know goes back to `setting` (or `scheduled`) until
 * the lock confirms it, and the lock keeps the code's use count. An offline code was derived for its
 * window: only its name changes.
 */
import {
  type AccessCodeKind,
  assertTimezone,
  LatchkeyError,
  validatePin,
  type WeeklySchedule,
} from '@latchkey/core'
import { and, eq } from 'drizzle-orm'
import { unreachableCause } from '../devices/index.ts'
import { recordCodeEvent } from '../events/index.ts'
import {
  canonicalRule,
  lookSoonAfterCommit,
  markDue,
  stillOpensIssue,
  withoutRenewedWarnings,
} from '../reconciler/index.ts'
import { type AccessCode, accessCodes } from '../store/index.ts'
import { type Actor, assertNotOver, assertPinFree, type Deps, ruleFromInput } from './create-access-code.ts'
import { withPinLock } from './live-pins.ts'
import { findCode, findLock } from './lookup.ts'
import { offlineUnavailable } from './offline.ts'
import { placeSyncedCode } from './placement.ts'
import { decryptPin, pinContext, ruleOf } from './rule.ts'

export interface UpdateAccessCodeInput {
  name?: string | undefined
  code?: string | undefined
  kind?: AccessCodeKind | undefined
  /** null clears it. */
  startsAt?: string | null | undefined
  endsAt?: string | null | undefined
  schedule?: WeeklySchedule | null | undefined
  maxUses?: number | null | undefined
}

const RULE_FIELDS = ['kind', 'startsAt', 'endsAt', 'schedule', 'maxUses'] as const

export async function updateAccessCode(
  deps: Deps,
  auth: Actor,
  codeId: string,
  input: UpdateAccessCodeInput,
): Promise<AccessCode> {
  const nowMs = deps.clock.now()
  const code = await findCode(deps.db, auth.organizationId, codeId)
  if (code.deletedAt !== null) throw new LatchkeyError('conflict', 'the code was deleted; create a new one')
  const changesRule = RULE_FIELDS.some((f) => input[f] !== undefined) || input.code !== undefined
  if (code.delivery === 'offline' && changesRule) {
    throw offlineUnavailable(
      'an offline code was derived for its PIN and window: only its name can change; delete it and issue a new one',
    )
  }
  const lock = await findLock(deps.db, auth.organizationId, code.lockId)
  assertTimezone(lock.timezone)
  if (code.delivery === 'offline') return rename(deps, auth, code, input.name, nowMs)

  const before = ruleOf(code)
  const rule = ruleFromInput(
    {
      kind: input.kind ?? code.kind,
      startsAt: pick(input.startsAt, code.startsAt),
      endsAt: pick(input.endsAt, code.endsAt),
      schedule: input.schedule === undefined ? code.schedule : input.schedule,
      maxUses: input.maxUses === undefined ? code.maxUses : input.maxUses,
    },
    lock.timezone,
  )
  const ruleChanged = canonicalRule(rule) !== canonicalRule(before)
  if (ruleChanged) assertNotOver(rule, lock.timezone, nowMs)
  // a change the lock cannot take now: what it holds still opens the door, and the answer says so
  const cause = code.status === 'set' ? await unreachableCause(deps, lock.id) : null
  // The PIN check and the change are one step per lock: another request cannot take the same PIN between them.
  const { updated, pinChanged } = await withPinLock(deps.db, lock.id, async (db) => {
    let pinChanged = false
    if (input.code !== undefined) {
      validatePin(input.code)
      pinChanged = input.code !== decryptPin(deps.secrets, code)
      if (pinChanged) await assertPinFree({ ...deps, db }, lock.id, input.code, nowMs, code.id)
    }
    const renamed = input.name !== undefined && input.name !== code.name
    if (!ruleChanged && !pinChanged && !renamed) return { updated: code, pinChanged }

    const now = new Date(nowMs)
    const changes: Partial<typeof accessCodes.$inferInsert> = { updatedAt: now }
    if (renamed) changes.name = input.name
    if (ruleChanged) {
      Object.assign(changes, {
        kind: rule.kind,
        startsAt: rule.startsAt === undefined ? null : new Date(rule.startsAt),
        endsAt: rule.endsAt === undefined ? null : new Date(rule.endsAt),
        schedule: rule.schedule ?? null,
        maxUses: rule.maxUses ?? null,
        expiredAt: null,
      })
    }
    if (pinChanged) {
      changes.pinEncrypted = deps.secrets.encrypt(input.code!, pinContext(code.id))
      changes.pinHash = deps.secrets.lookupHash('pin', input.code!)
    }
    if (ruleChanged || pinChanged) {
      const placement = await placeSyncedCode(db, lock, { ...code, rule }, nowMs)
      Object.assign(changes, {
        status: placement.status,
        errors: placement.errors,
        warnings: [
          ...withoutRenewedWarnings(code.warnings),
          ...placement.warnings,
          ...(cause === null ? [] : [stillOpensIssue(cause, false)]),
        ],
        pendingSince: placement.pendingSince,
        attempts: 0,
      })
    }
    const [updated] = await db
      .update(accessCodes)
      .set(changes)
      .where(and(eq(accessCodes.id, code.id), eq(accessCodes.organizationId, auth.organizationId)))
      .returning()
    const changed = [
      ...(renamed ? ['name'] : []),
      ...(pinChanged ? ['code'] : []),
      ...RULE_FIELDS.filter((f) => input[f] !== undefined && ruleChanged),
    ]
    await recordCodeEvent(db, updated!, 'access_code.updated', {
      nowMs,
      actorUserId: auth.userId,
      lockName: lock.name,
      data: { changed },
    })
    if (ruleChanged || pinChanged) await markDue(db, lock.id, nowMs)
    return { updated: updated!, pinChanged }
  })
  if (ruleChanged || pinChanged) lookSoonAfterCommit(deps.db, [lock.id])
  return updated
}

function pick(value: string | null | undefined, current: Date | null): string | null {
  if (value === undefined) return current === null ? null : current.toISOString()
  return value
}

async function rename(
  deps: Deps,
  auth: Actor,
  code: AccessCode,
  name: string | undefined,
  nowMs: number,
): Promise<AccessCode> {
  if (name === undefined || name === code.name) return code
  const now = new Date(nowMs)
  const [updated] = await deps.db
    .update(accessCodes)
    .set({ name, updatedAt: now })
    .where(and(eq(accessCodes.id, code.id), eq(accessCodes.organizationId, auth.organizationId)))
    .returning()
  await recordCodeEvent(deps.db, updated!, 'access_code.updated', {
    nowMs,
    actorUserId: auth.userId,
    data: { changed: ['name'] },
  })
  return updated!
}
