/**
 * Sharing locks (owner or admin, SPEC §4): one share per lock to a unique code or to a user of the
 * organization, at a level the granter may give (a unique code at most `maintenance`). A lock
 * already shared to the same grantee gets the new share in place of the old one.
 */
import {
  assertGrantable,
  LatchkeyError,
  type PermissionLevel,
  resolveRequestTime,
  shareRule,
  type WeeklySchedule,
} from '@latchkey/core'
import { and, eq, inArray, isNull } from 'drizzle-orm'
import { normalizeEmail } from '../accounts/index.ts'
import { requestRevocationSync } from '../app-users/index.ts'
import { recordEvent } from '../events/index.ts'
import type { Db } from '../store/index.ts'
import {
  isUniqueViolation,
  isUuid,
  locks,
  memberships,
  permissions,
  type Role,
  users,
} from '../store/index.ts'
import { findUniqueCode } from '../unique-codes/index.ts'
import { listPermissions, type PermissionView } from './permissions.ts'
import { endShares } from './revoke-permissions.ts'

export type GranteeInput = { type: 'unique_code'; uniqueCodeId: string } | { type: 'user'; email: string }

export interface CreatePermissionsInput {
  lockIds: string[]
  grantee: GranteeInput
  level: PermissionLevel
  /** Request times: a local one is read in each lock's own zone. */
  startsAt?: string | undefined
  endsAt?: string | undefined
  schedule?: WeeklySchedule | undefined
}

interface ResolvedGrantee {
  type: 'unique_code' | 'user'
  uniqueCodeId: string | null
  userId: string | null
  label: string
}

async function resolveGrantee(
  db: Db,
  nowMs: number,
  organizationId: string,
  grantee: GranteeInput,
): Promise<ResolvedGrantee> {
  if (grantee.type === 'unique_code') {
    const code = await findUniqueCode(db, organizationId, grantee.uniqueCodeId)
    if (code.expiresAt.getTime() <= nowMs) {
      throw new LatchkeyError('conflict', `unique code ${code.id} expired at ${code.expiresAt.toISOString()}`)
    }
    return { type: 'unique_code', uniqueCodeId: code.id, userId: null, label: code.description }
  }
  const email = normalizeEmail(grantee.email)
  const [member] = await db
    .select({ userId: users.id, email: users.email })
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(and(eq(memberships.organizationId, organizationId), eq(users.email, email)))
  if (member === undefined) throw new LatchkeyError('not_found', `no member ${email} in this organization`)
  return { type: 'user', uniqueCodeId: null, userId: member.userId, label: member.email }
}

export async function createPermissions(
  db: Db,
  nowMs: number,
  actor: { organizationId: string; userId: string; role: Role },
  input: CreatePermissionsInput,
): Promise<PermissionView[]> {
  assertGrantable({ granterRole: actor.role, level: input.level, grantee: input.grantee.type })
  // the window in each lock's zone (a local time reads differently in Sydney and in Berlin)
  const windowIn = (timezone: string) => {
    const rule = shareRule({
      level: input.level,
      ...(input.startsAt === undefined
        ? {}
        : { startsAt: resolveRequestTime(input.startsAt, timezone, 'startsAt') }),
      ...(input.endsAt === undefined ? {} : { endsAt: resolveRequestTime(input.endsAt, timezone, 'endsAt') }),
      ...(input.schedule === undefined ? {} : { schedule: input.schedule }),
    })
    if (rule.endsAt !== undefined && rule.endsAt <= nowMs) {
      throw new LatchkeyError('invalid_window', 'the window has already ended')
    }
    return {
      startsAt: rule.startsAt === undefined ? null : new Date(rule.startsAt),
      endsAt: rule.endsAt === undefined ? null : new Date(rule.endsAt),
    }
  }
  const grantee = await resolveGrantee(db, nowMs, actor.organizationId, input.grantee)
  const lockIds = [...new Set(input.lockIds)]
  const found = lockIds.every(isUuid)
    ? await db
        .select({ id: locks.id, name: locks.name, timezone: locks.timezone })
        .from(locks)
        .where(
          and(
            eq(locks.organizationId, actor.organizationId),
            inArray(locks.id, lockIds),
            isNull(locks.deletedAt),
          ),
        )
    : []
  const missing = lockIds.find((id) => !found.some((lock) => lock.id === id))
  if (missing !== undefined) throw new LatchkeyError('not_found', `no lock ${missing}`)
  const windows = new Map(found.map((lock) => [lock.id, windowIn(lock.timezone)]))

  const now = new Date(nowMs)
  const sameGrantee =
    grantee.uniqueCodeId !== null
      ? eq(permissions.uniqueCodeId, grantee.uniqueCodeId)
      : eq(permissions.userId, grantee.userId!)
  let ids: string[]
  let revocationsChanged: string[] = []
  try {
    ids = await db.transaction(async (tx) => {
      ;({ revocationsChanged } = await endShares(tx, {
        organizationId: actor.organizationId,
        where: and(inArray(permissions.lockId, lockIds), sameGrantee)!,
        now,
        actorUserId: actor.userId,
        reason: 'replaced',
      }))
      const inserted = await tx
        .insert(permissions)
        .values(
          lockIds.map((lockId) => ({
            organizationId: actor.organizationId,
            lockId,
            granteeType: grantee.type,
            uniqueCodeId: grantee.uniqueCodeId,
            userId: grantee.userId,
            level: input.level,
            ...windows.get(lockId)!,
            schedule: input.schedule ?? null,
            createdBy: actor.userId,
            createdAt: now,
          })),
        )
        .returning({ id: permissions.id, lockId: permissions.lockId })
      for (const row of inserted) {
        await recordEvent(tx, {
          organizationId: actor.organizationId,
          type: 'permission.granted',
          occurredAt: now,
          lockId: row.lockId,
          uniqueCodeId: grantee.uniqueCodeId,
          actorUserId: actor.userId,
          label: grantee.label,
          data: {
            permissionId: row.id,
            lockName: found.find((lock) => lock.id === row.lockId)!.name,
            level: input.level,
            grantee:
              grantee.type === 'unique_code'
                ? { type: 'unique_code', uniqueCodeId: grantee.uniqueCodeId }
                : { type: 'user', userId: grantee.userId },
            ...windowData(windows.get(row.lockId)!),
            ...(input.schedule === undefined ? {} : { schedule: input.schedule }),
          },
        })
      }
      // in the order the locks were given
      return lockIds.map((lockId) => inserted.find((row) => row.lockId === lockId)!.id)
    })
  } catch (error) {
    // the same lock shared to the same grantee at the same moment by someone else
    if (isUniqueViolation(error))
      throw new LatchkeyError('conflict', 'one of these locks was shared to it meanwhile')
    throw error
  }
  await requestRevocationSync(db, nowMs, revocationsChanged)
  const views = await listPermissions(db, nowMs, actor.organizationId, { ids })
  return ids.map((id) => views.find((view) => view.id === id)!)
}

function windowData(window: { startsAt: Date | null; endsAt: Date | null }) {
  return {
    ...(window.startsAt === null ? {} : { startsAt: window.startsAt.toISOString() }),
    ...(window.endsAt === null ? {} : { endsAt: window.endsAt.toISOString() }),
  }
}
