/**
 * Deleting a unique code ends every access it gives at once: Code Login refuses it, its app
 * sessions end, its shares are revoked and its unexpired eKeys go onto the locks' revocation lists.
 * The row stays (deleted) for the audit log.
 */
import { LatchkeyError } from '@latchkey/core'
import { and, eq, isNull } from 'drizzle-orm'
import { requestRevocationSync, revokeEKeys } from '../app-users/index.ts'
import { recordEvent } from '../events/index.ts'
import { endShares } from '../permissions/index.ts'
import type { Db } from '../store/index.ts'
import { appSessions, isUuid, permissions, uniqueCodes } from '../store/index.ts'

export async function deleteUniqueCode(
  db: Db,
  nowMs: number,
  actor: { organizationId: string; userId: string },
  id: string,
): Promise<void> {
  if (!isUuid(id)) throw new LatchkeyError('not_found', `no unique code ${id}`)
  const now = new Date(nowMs)
  const deleted = await db.transaction(async (tx) => {
    const [code] = await tx
      .update(uniqueCodes)
      .set({ deletedAt: now })
      .where(
        and(
          eq(uniqueCodes.id, id),
          eq(uniqueCodes.organizationId, actor.organizationId),
          isNull(uniqueCodes.deletedAt),
        ),
      )
      .returning({ id: uniqueCodes.id, description: uniqueCodes.description })
    if (code === undefined) return null
    await tx.delete(appSessions).where(eq(appSessions.uniqueCodeId, id))
    const shares = await endShares(tx, {
      organizationId: actor.organizationId,
      where: eq(permissions.uniqueCodeId, id),
      now,
      actorUserId: actor.userId,
      reason: 'unique_code_deleted',
    })
    // keys of shares revoked earlier are on the lists already; this catches any left
    const left = await revokeEKeys(tx, { uniqueCodeId: id }, now)
    await recordEvent(tx, {
      organizationId: actor.organizationId,
      type: 'unique_code.deleted',
      occurredAt: now,
      uniqueCodeId: id,
      actorUserId: actor.userId,
      label: code.description,
      data: { revokedPermissions: shares.ended.length },
    })
    return [...shares.revocationsChanged, ...left]
  })
  if (deleted === null) throw new LatchkeyError('not_found', `no unique code ${id}`)
  await requestRevocationSync(db, nowMs, deleted)
}
