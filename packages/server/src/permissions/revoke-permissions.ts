/**
 * Revoking shares: the share stops at once for everything through the server (app unlock, new
 * eKeys), its unexpired eKeys go onto the lock's revocation list, and `permission.revoked` is recorded.
 */
import { LatchkeyError } from '@latchkey/core'
import { and, eq, inArray, isNull, type SQL } from 'drizzle-orm'
import { requestRevocationSync, revokeEKeys } from '../app-users/index.ts'
import { recordEvent } from '../events/index.ts'
import type { Db } from '../store/index.ts'
import { isUuid, locks, permissions, uniqueCodes, users } from '../store/index.ts'

/** Why a share ended: revoked by a user, replaced by a new share of the same lock, or its unique code deleted. */
export type RevokeReason = 'revoked' | 'replaced' | 'unique_code_deleted'

export interface EndSharesInput {
  organizationId: string
  /** Which of the organization's shares in force to end. */
  where: SQL
  now: Date
  actorUserId: string | null
  reason: RevokeReason
}

export interface EndedShares {
  ended: { id: string; lockId: string }[]
  /** Locks whose revocation list changed (for `requestRevocationSync` after the commit). */
  revocationsChanged: string[]
}

/** Ends the matching shares (call it inside a transaction). */
export async function endShares(db: Db, input: EndSharesInput): Promise<EndedShares> {
  const rows = await db
    .select({
      id: permissions.id,
      lockId: permissions.lockId,
      lockName: locks.name,
      level: permissions.level,
      granteeType: permissions.granteeType,
      uniqueCodeId: permissions.uniqueCodeId,
      userId: permissions.userId,
      description: uniqueCodes.description,
      email: users.email,
    })
    .from(permissions)
    .innerJoin(locks, eq(locks.id, permissions.lockId))
    .leftJoin(uniqueCodes, eq(uniqueCodes.id, permissions.uniqueCodeId))
    .leftJoin(users, eq(users.id, permissions.userId))
    .where(
      and(eq(permissions.organizationId, input.organizationId), isNull(permissions.revokedAt), input.where),
    )
  if (rows.length === 0) return { ended: [], revocationsChanged: [] }
  await db
    .update(permissions)
    .set({ revokedAt: input.now, revokedBy: input.actorUserId })
    .where(
      inArray(
        permissions.id,
        rows.map((row) => row.id),
      ),
    )
  const revocationsChanged: string[] = []
  for (const row of rows) {
    revocationsChanged.push(...(await revokeEKeys(db, { permissionId: row.id }, input.now)))
    await recordEvent(db, {
      organizationId: input.organizationId,
      type: 'permission.revoked',
      occurredAt: input.now,
      lockId: row.lockId,
      uniqueCodeId: row.uniqueCodeId,
      actorUserId: input.actorUserId,
      label: row.description ?? row.email,
      data: {
        permissionId: row.id,
        lockName: row.lockName,
        level: row.level,
        grantee:
          row.granteeType === 'unique_code'
            ? { type: 'unique_code', uniqueCodeId: row.uniqueCodeId }
            : { type: 'user', userId: row.userId },
        reason: input.reason,
      },
    })
  }
  return { ended: rows.map(({ id, lockId }) => ({ id, lockId })), revocationsChanged }
}

/** DELETE /permissions/{id}: revokes one share of the organization; 404 for an unknown or revoked one. */
export async function revokePermission(
  db: Db,
  nowMs: number,
  actor: { organizationId: string; userId: string },
  id: string,
): Promise<void> {
  const result = isUuid(id)
    ? await db.transaction((tx) =>
        endShares(tx, {
          organizationId: actor.organizationId,
          where: eq(permissions.id, id),
          now: new Date(nowMs),
          actorUserId: actor.userId,
          reason: 'revoked',
        }),
      )
    : null
  if (result === null || result.ended.length === 0)
    throw new LatchkeyError('not_found', `no permission ${id}`)
  await requestRevocationSync(db, nowMs, result.revocationsChanged)
}
