/**
 * Where a synced code stands when it is created or changed: waiting for its lead time
 * (`scheduled`), on its way to the lock (`setting`), or `failed` with `lock_full` when the lock's
 * slots are taken by codes that must be on it now. The reconciler's own plan decides, so the API and
 * the reconciler never disagree.
 */
import type { AccessRule } from '@latchkey/core'
import { and, asc, eq, isNull, ne } from 'drizzle-orm'
import { getOrganizationSettings } from '../accounts/index.ts'
import {
  forecastNoSlots,
  loadLockSync,
  lockFullIssue,
  lockFullWhenDueIssue,
  type PlannedCode,
  type PlanOptions,
  planLock,
} from '../reconciler/index.ts'
import type { Db } from '../store/index.ts'
import { type AccessCodeStatus, accessCodes, type CodeIssue, type Lock } from '../store/index.ts'
import { ruleOf } from './rule.ts'

const HOUR_MS = 3_600_000
/** A used-up code stays on the lock a day (the reconciler's default). */
const USED_UP_RETENTION_MS = 24 * HOUR_MS

export interface Placement {
  status: AccessCodeStatus
  errors: CodeIssue[]
  /** `lock_full_when_due` for a scheduled code that will find no slot when it is due. */
  warnings: CodeIssue[]
  /** Set when the code now waits for the lock. */
  pendingSince: Date | null
}

/** The lock's synced codes not yet removed, as the reconciler plans them (oldest first). */
async function plannedCodesOf(
  db: Db,
  lockId: string,
  exceptId?: string,
): Promise<Array<PlannedCode & { createdAt: Date }>> {
  const rows = await db
    .select()
    .from(accessCodes)
    .where(
      and(
        eq(accessCodes.lockId, lockId),
        eq(accessCodes.delivery, 'synced'),
        isNull(accessCodes.deletedAt),
        ne(accessCodes.status, 'removed'),
        exceptId === undefined ? undefined : ne(accessCodes.id, exceptId),
      ),
    )
    .orderBy(asc(accessCodes.createdAt), asc(accessCodes.id))
  return rows.map((code) => ({
    id: code.id,
    rule: ruleOf(code),
    digest: '',
    deleted: false,
    uses: code.uses,
    lastUsedAt: code.lastUsedAt?.getTime() ?? null,
    createdAt: code.createdAt,
  }))
}

/** What the reconciler is told of a lock when planning it. */
async function planOptionsOf(db: Db, lock: Lock, nowMs: number): Promise<PlanOptions> {
  const settings = await getOrganizationSettings(db, lock.organizationId)
  return {
    nowMs,
    leadMs: settings.syncLeadHours * HOUR_MS,
    timezone: lock.timezone,
    capacity: lock.capacity,
    usedUpRetentionMs: USED_UP_RETENTION_MS,
  }
}

export async function placeSyncedCode(
  db: Db,
  lock: Lock,
  candidate: { id: string; rule: AccessRule; uses: number; lastUsedAt: Date | null; createdAt: Date },
  nowMs: number,
): Promise<Placement> {
  const others = await plannedCodesOf(db, lock.id, candidate.id)
  const planned: PlannedCode[] = [...others]
  const mine: PlannedCode = {
    id: candidate.id,
    rule: candidate.rule,
    digest: '',
    deleted: false,
    uses: candidate.uses,
    lastUsedAt: candidate.lastUsedAt?.getTime() ?? null,
  }
  // In creation order, as the reconciler sees them.
  const at = others.findIndex((c) => c.createdAt > candidate.createdAt)
  planned.splice(at < 0 ? planned.length : at, 0, mine)
  const sync = await loadLockSync(db, lock.id)
  const options = await planOptionsOf(db, lock, nowMs)
  const plan = planLock(planned, sync?.reported ?? {}, options)
  const phase = plan.codes.get(candidate.id)?.phase
  if (phase === 'scheduled') {
    const noSlotAt = forecastNoSlots(planned, sync?.reported ?? {}, options).get(candidate.id)
    const warnings =
      noSlotAt === undefined
        ? []
        : [lockFullWhenDueIssue(lock.capacity, noSlotAt, options.leadMs, lock.timezone)]
    return { status: 'scheduled', errors: [], warnings, pendingSince: null }
  }
  if (plan.diff.full.includes(candidate.id)) {
    return { status: 'setting', errors: [lockFullIssue(lock.capacity)], warnings: [], pendingSince: null }
  }
  return { status: 'setting', errors: [], warnings: [], pendingSince: new Date(nowMs) }
}
