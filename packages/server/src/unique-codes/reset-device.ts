/**
 * Resetting the device binding of a unique code (owner or admin): the device that used it is signed
 * out, and the next device to log in with the code is bound to it.
 */
import { and, eq, isNull } from 'drizzle-orm'
import { recordEvent } from '../events/index.ts'
import type { Secrets } from '../secrets.ts'
import type { Db } from '../store/index.ts'
import { appSessions, uniqueCodes } from '../store/index.ts'
import { findUniqueCode, toUniqueCodeView, type UniqueCodeView } from './unique-codes.ts'

export async function resetUniqueCodeDevice(
  db: Db,
  secrets: Secrets,
  nowMs: number,
  actor: { organizationId: string; userId: string },
  id: string,
): Promise<UniqueCodeView> {
  const code = await findUniqueCode(db, actor.organizationId, id)
  const now = new Date(nowMs)
  const row = await db.transaction(async (tx) => {
    const [updated] = await tx
      .update(uniqueCodes)
      .set({ boundDeviceId: null, boundAt: null })
      .where(and(eq(uniqueCodes.id, code.id), isNull(uniqueCodes.deletedAt)))
      .returning()
    await tx.delete(appSessions).where(eq(appSessions.uniqueCodeId, code.id))
    await recordEvent(tx, {
      organizationId: actor.organizationId,
      type: 'unique_code.device_reset',
      occurredAt: now,
      uniqueCodeId: code.id,
      actorUserId: actor.userId,
      label: code.description,
      data: { hadDevice: code.boundDeviceId !== null },
    })
    return updated ?? { ...code, boundDeviceId: null, boundAt: null }
  })
  return toUniqueCodeView(secrets, row, nowMs)
}
