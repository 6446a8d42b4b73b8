/**
 * Shares (SPEC §4): a lock shared to a unique code or to a user at a permission level, and what it
 * lets its holder do — `shareRule` of @latchkey/core turns it into the AccessRule that `decide` reads.
 * A share is in force until it is revoked, its window ends, its one use is spent, or its unique code
 * expires or is deleted.
 */
import {
  type AccessRule,
  LatchkeyError,
  type PermissionLevel,
  shareRule,
  type WeeklySchedule,
  windowEnd,
} from '@latchkey/core'
import { and, asc, eq, inArray, isNull, type SQL } from 'drizzle-orm'
import type { Db } from '../store/index.ts'
import { isUuid, locks, type Permission, permissions, uniqueCodes, users } from '../store/index.ts'

export const PERMISSION_STATUSES = ['active', 'used', 'expired'] as const
export type PermissionStatus = (typeof PERMISSION_STATUSES)[number]

export type GranteeView =
  | { type: 'unique_code'; uniqueCodeId: string; description: string }
  | { type: 'user'; userId: string; email: string }

export interface PermissionView {
  id: string
  lockId: string
  lockName: string
  /** The lock's time zone. */
  timezone: string
  grantee: GranteeView
  level: PermissionLevel
  startsAt: Date | null
  endsAt: Date | null
  schedule: WeeklySchedule | null
  status: PermissionStatus
  /** When access through this share ends by itself (window end, unique code expiry); null when never. */
  accessEndsAt: Date | null
  createdAt: Date
}

/** The rule of a stored share (it was validated when it was created). */
export function shareRuleOf(row: Pick<Permission, 'level' | 'startsAt' | 'endsAt' | 'schedule'>): AccessRule {
  return shareRule({
    level: row.level,
    ...(row.startsAt === null ? {} : { startsAt: row.startsAt.getTime() }),
    ...(row.endsAt === null ? {} : { endsAt: row.endsAt.getTime() }),
    ...(row.schedule === null ? {} : { schedule: row.schedule }),
  })
}

/**
 * When access through a share ends by itself: the end of its window (in the lock's zone) or the
 * unique code's expiry, whichever comes first; null when neither ends it.
 */
export function accessEndsAt(
  row: Pick<Permission, 'level' | 'startsAt' | 'endsAt' | 'schedule'>,
  timezone: string,
  codeExpiresAt: Date | null,
): number | null {
  let end: number | null
  try {
    end = windowEnd(shareRuleOf(row), timezone)
  } catch {
    // a rule that no longer reads (e.g. an unknown zone) opens nothing: it has ended
    return Number.NEGATIVE_INFINITY
  }
  const expiry = codeExpiresAt?.getTime() ?? null
  if (end === null) return expiry
  return expiry === null ? end : Math.min(end, expiry)
}

export function permissionStatus(
  row: Pick<Permission, 'level' | 'startsAt' | 'endsAt' | 'schedule' | 'usedAt'>,
  timezone: string,
  codeExpiresAt: Date | null,
  nowMs: number,
): PermissionStatus {
  if (row.level === 'one_time' && row.usedAt !== null) return 'used'
  const end = accessEndsAt(row, timezone, codeExpiresAt)
  return end !== null && end <= nowMs ? 'expired' : 'active'
}

const columns = {
  permission: permissions,
  lockName: locks.name,
  timezone: locks.timezone,
  codeDescription: uniqueCodes.description,
  codeExpiresAt: uniqueCodes.expiresAt,
  userEmail: users.email,
}

type Joined = {
  permission: Permission
  lockName: string
  timezone: string
  codeDescription: string | null
  codeExpiresAt: Date | null
  userEmail: string | null
}

function toView(row: Joined, nowMs: number): PermissionView {
  const p = row.permission
  const grantee: GranteeView =
    p.granteeType === 'unique_code'
      ? { type: 'unique_code', uniqueCodeId: p.uniqueCodeId!, description: row.codeDescription ?? '' }
      : { type: 'user', userId: p.userId!, email: row.userEmail ?? '' }
  const end = accessEndsAt(p, row.timezone, row.codeExpiresAt)
  return {
    id: p.id,
    lockId: p.lockId,
    lockName: row.lockName,
    timezone: row.timezone,
    grantee,
    level: p.level,
    startsAt: p.startsAt,
    endsAt: p.endsAt,
    schedule: p.schedule,
    status: permissionStatus(p, row.timezone, row.codeExpiresAt, nowMs),
    accessEndsAt: end === null || !Number.isFinite(end) ? null : new Date(end),
    createdAt: p.createdAt,
  }
}

export interface PermissionFilter {
  lockId?: string | undefined
  uniqueCodeId?: string | undefined
  userId?: string | undefined
  ids?: string[]
}

/**
 * The organization's shares in force or ended by time (not revoked), on locks that are not deleted,
 * oldest first. Filters on lock, unique code or user; an id that is not a UUID matches nothing.
 */
export async function listPermissions(
  db: Db,
  nowMs: number,
  organizationId: string,
  filter: PermissionFilter = {},
): Promise<PermissionView[]> {
  const where: SQL[] = [
    eq(permissions.organizationId, organizationId),
    isNull(permissions.revokedAt),
    isNull(locks.deletedAt),
  ]
  for (const [column, value] of [
    [permissions.lockId, filter.lockId],
    [permissions.uniqueCodeId, filter.uniqueCodeId],
    [permissions.userId, filter.userId],
  ] as const) {
    if (value === undefined) continue
    if (!isUuid(value)) return []
    where.push(eq(column, value))
  }
  if (filter.ids !== undefined) {
    if (filter.ids.length === 0) return []
    where.push(inArray(permissions.id, filter.ids))
  }
  const rows = await db
    .select(columns)
    .from(permissions)
    .innerJoin(locks, eq(locks.id, permissions.lockId))
    .leftJoin(uniqueCodes, eq(uniqueCodes.id, permissions.uniqueCodeId))
    .leftJoin(users, eq(users.id, permissions.userId))
    .where(and(...where))
    .orderBy(asc(permissions.createdAt), asc(locks.name), asc(permissions.id))
  return rows.map((row) => toView(row, nowMs))
}

/** A share of the organization that is not revoked; 404 `not_found` otherwise. */
export async function findPermission(db: Db, organizationId: string, id: string): Promise<Permission> {
  const [row] = isUuid(id)
    ? await db
        .select()
        .from(permissions)
        .where(
          and(
            eq(permissions.id, id),
            eq(permissions.organizationId, organizationId),
            isNull(permissions.revokedAt),
          ),
        )
    : []
  if (row === undefined) throw new LatchkeyError('not_found', `no permission ${id}`)
  return row
}
