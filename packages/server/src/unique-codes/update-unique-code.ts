/**
 * Changing a unique code (owner or admin, SPEC §4): its description and its expiry, which stays in
 * the future and at most six calendar months after the code was created. A shorter expiry ends app
 * sessions at once (they read the code's expiry on every request).
 */
import { LatchkeyError, maxUniqueCodeExpiry } from '@latchkey/core'
import { and, eq, isNull } from 'drizzle-orm'
import { recordEvent } from '../events/index.ts'
import type { Secrets } from '../secrets.ts'
import type { Db } from '../store/index.ts'
import { uniqueCodes } from '../store/index.ts'
import { findUniqueCode, toUniqueCodeView, type UniqueCodeView } from './unique-codes.ts'

export interface UpdateUniqueCodeInput {
  description?: string | undefined
  expiresAt?: Date | undefined
}

export async function updateUniqueCode(
  db: Db,
  secrets: Secrets,
  nowMs: number,
  actor: { organizationId: string; userId: string },
  id: string,
  input: UpdateUniqueCodeInput,
): Promise<UniqueCodeView> {
  const code = await findUniqueCode(db, actor.organizationId, id)
  if (input.expiresAt !== undefined) {
    const expiresAt = input.expiresAt.getTime()
    if (expiresAt <= nowMs) {
      throw new LatchkeyError(
        'expiry_in_past',
        'the new expiry has passed already; give a time in the future',
      )
    }
    const latest = maxUniqueCodeExpiry(code.createdAt.getTime())
    if (expiresAt > latest) {
      throw new LatchkeyError(
        'expiry_too_far',
        `a unique code expires at most six months after it was created (${code.createdAt.toISOString()}), by ${new Date(latest).toISOString()}`,
        { details: { maxExpiresAt: new Date(latest).toISOString() } },
      )
    }
  }
  const changes = {
    ...(input.description === undefined || input.description === code.description
      ? {}
      : { description: input.description }),
    ...(input.expiresAt === undefined || input.expiresAt.getTime() === code.expiresAt.getTime()
      ? {}
      : { expiresAt: input.expiresAt }),
  }
  if (Object.keys(changes).length === 0) return toUniqueCodeView(secrets, code, nowMs)
  const row = await db.transaction(async (tx) => {
    const [updated] = await tx
      .update(uniqueCodes)
      .set(changes)
      .where(and(eq(uniqueCodes.id, code.id), isNull(uniqueCodes.deletedAt)))
      .returning()
    if (updated === undefined) throw new LatchkeyError('not_found', `no unique code ${id}`)
    await recordEvent(tx, {
      organizationId: actor.organizationId,
      type: 'unique_code.updated',
      occurredAt: new Date(nowMs),
      uniqueCodeId: code.id,
      actorUserId: actor.userId,
      label: updated.description,
      data: {
        ...(changes.description === undefined ? {} : { previousDescription: code.description }),
        ...(changes.expiresAt === undefined
          ? {}
          : { expiresAt: changes.expiresAt.toISOString(), previousExpiresAt: code.expiresAt.toISOString() }),
      },
    })
    return updated
  })
  return toUniqueCodeView(secrets, row, nowMs)
}
