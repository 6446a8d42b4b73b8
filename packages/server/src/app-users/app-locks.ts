/**
 * The locks an app user may open: their shares in force (not revoked, not ended by time, a one_time
 * share not yet spent) on locks that are not deleted, and the share behind one lock.
 */
import { LatchkeyError, type PermissionLevel, type WeeklySchedule } from '@latchkey/core'
import { and, asc, eq, isNull, type SQL } from 'drizzle-orm'
import { accessEndsAt, permissionStatus } from '../permissions/index.ts'
import type { Db } from '../store/index.ts'
import { isUuid, type Lock, locks, type Permission, permissions } from '../store/index.ts'
import type { AppPrincipal } from './app-sessions.ts'

export interface AppLockView {
  /** The lock's id. */
  id: string
  name: string
  timezone: string
  level: PermissionLevel
  startsAt: Date | null
  endsAt: Date | null
  schedule: WeeklySchedule | null
  /** When access ends by itself (window end, unique code expiry); null when never. */
  accessEndsAt: Date | null
}

export interface AppShare {
  share: Permission
  lock: Pick<Lock, 'id' | 'name' | 'timezone' | 'driver'>
}

function granteeOf(principal: AppPrincipal): SQL {
  return principal.kind === 'unique_code'
    ? eq(permissions.uniqueCodeId, principal.uniqueCodeId)
    : eq(permissions.userId, principal.userId)
}

const codeExpiry = (principal: AppPrincipal): Date | null =>
  principal.kind === 'unique_code' ? principal.codeExpiresAt : null

/** The principal's shares that are not revoked, on locks that are not deleted. */
async function sharesOf(db: Db, principal: AppPrincipal, lockId?: string): Promise<AppShare[]> {
  return db
    .select({
      share: permissions,
      lock: { id: locks.id, name: locks.name, timezone: locks.timezone, driver: locks.driver },
    })
    .from(permissions)
    .innerJoin(locks, eq(locks.id, permissions.lockId))
    .where(
      and(
        eq(permissions.organizationId, principal.organizationId),
        granteeOf(principal),
        isNull(permissions.revokedAt),
        isNull(locks.deletedAt),
        ...(lockId === undefined ? [] : [eq(permissions.lockId, lockId)]),
      ),
    )
    .orderBy(asc(locks.name), asc(locks.id))
}

export async function listAppLocks(db: Db, nowMs: number, principal: AppPrincipal): Promise<AppLockView[]> {
  const shares = await sharesOf(db, principal)
  return shares
    .filter(
      ({ share, lock }) => permissionStatus(share, lock.timezone, codeExpiry(principal), nowMs) === 'active',
    )
    .map(({ share, lock }) => {
      const end = accessEndsAt(share, lock.timezone, codeExpiry(principal))
      return {
        id: lock.id,
        name: lock.name,
        timezone: lock.timezone,
        level: share.level,
        startsAt: share.startsAt,
        endsAt: share.endsAt,
        schedule: share.schedule,
        accessEndsAt: end === null ? null : new Date(end),
      }
    })
}

/**
 * The principal's share of this lock, whether or not it allows opening now (the caller decides);
 * 404 `not_found` when there is none (never shared, revoked, lock deleted).
 */
export async function findAppShare(db: Db, principal: AppPrincipal, lockId: string): Promise<AppShare> {
  const [found] = isUuid(lockId) ? await sharesOf(db, principal, lockId) : []
  if (found === undefined) throw new LatchkeyError('not_found', `no lock ${lockId} is shared with you`)
  return found
}
