/**
 * Creating a unique code (owner or admin, SPEC §4): only while the organization's
 * `uniqueCodesEnabled` is on, expiring in the future and at most six calendar months from now.
 */
import { randomUUID } from 'node:crypto'
import { generateUniqueCode, LatchkeyError, validateUniqueCodeExpiry } from '@latchkey/core'
import { getOrganizationSettings } from '../accounts/index.ts'
import { recordEvent } from '../events/index.ts'
import type { Secrets } from '../secrets.ts'
import type { Db } from '../store/index.ts'
import { isUniqueViolation, uniqueCodes } from '../store/index.ts'
import { toUniqueCodeView, type UniqueCodeView, uniqueCodeContext } from './unique-codes.ts'

export interface CreateUniqueCodeInput {
  description: string
  expiresAt: Date
}

/** A fresh code colliding with a stored one (≈ n / 32^10) is drawn again, a few times at most. */
const DRAWS = 5

export async function createUniqueCode(
  db: Db,
  secrets: Secrets,
  nowMs: number,
  actor: { organizationId: string; userId: string },
  input: CreateUniqueCodeInput,
): Promise<UniqueCodeView> {
  const settings = await getOrganizationSettings(db, actor.organizationId)
  if (!settings.uniqueCodesEnabled) {
    throw new LatchkeyError(
      'unique_codes_disabled',
      'unique codes are turned off for this organization: an owner or admin turns them on in the settings',
    )
  }
  validateUniqueCodeExpiry(nowMs, input.expiresAt.getTime())
  const createdAt = new Date(nowMs)
  for (let draw = 1; ; draw++) {
    const id = randomUUID()
    const code = generateUniqueCode()
    try {
      return await db.transaction(async (tx) => {
        const [row] = await tx
          .insert(uniqueCodes)
          .values({
            id,
            organizationId: actor.organizationId,
            description: input.description,
            codeEncrypted: secrets.encrypt(code, uniqueCodeContext(id)),
            codeHash: secrets.lookupHash('unique_code', code),
            expiresAt: input.expiresAt,
            createdBy: actor.userId,
            createdAt,
          })
          .returning()
        await recordEvent(tx, {
          organizationId: actor.organizationId,
          type: 'unique_code.created',
          occurredAt: createdAt,
          uniqueCodeId: id,
          actorUserId: actor.userId,
          label: input.description,
          data: { expiresAt: input.expiresAt.toISOString() },
        })
        return toUniqueCodeView(secrets, row!, nowMs)
      })
    } catch (error) {
      if (!isUniqueViolation(error) || draw >= DRAWS) throw error
    }
  }
}
