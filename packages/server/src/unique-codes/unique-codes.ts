/**
 * Unique codes (SPEC §4): what owners and admins see of them, and finding one of the organization.
 * The code itself is kept encrypted (AAD `unique_code:<id>`) and shown formatted (`ABCDE-FGHJK`);
 * `lookupHash('unique_code', canonical)` finds it at Code Login without decrypting anything.
 */
import { formatUniqueCode, LatchkeyError } from '@latchkey/core'
import { and, desc, eq, gt, isNull, lte, type SQL } from 'drizzle-orm'
import type { Secrets } from '../secrets.ts'
import { type Db, isUuid, locks, type UniqueCode, uniqueCodes } from '../store/index.ts'

export const UNIQUE_CODE_STATUSES = ['active', 'expired'] as const
export type UniqueCodeStatus = (typeof UNIQUE_CODE_STATUSES)[number]

export interface UniqueCodeView {
  id: string
  /** `ABCDE-FGHJK`. */
  code: string
  description: string
  expiresAt: Date
  status: UniqueCodeStatus
  /** Whether a device has logged in with it (another device is refused until a reset). */
  boundDevice: boolean
  createdAt: Date
}

/** AAD of a unique code's ciphertext: it decrypts only in its own row. */
export const uniqueCodeContext = (id: string): string => `unique_code:${id}`

export const uniqueCodeStatus = (expiresAt: Date, nowMs: number): UniqueCodeStatus =>
  expiresAt.getTime() > nowMs ? 'active' : 'expired'

export function toUniqueCodeView(secrets: Secrets, row: UniqueCode, nowMs: number): UniqueCodeView {
  return {
    id: row.id,
    code: formatUniqueCode(secrets.decryptText(row.codeEncrypted, uniqueCodeContext(row.id))),
    description: row.description,
    expiresAt: row.expiresAt,
    status: uniqueCodeStatus(row.expiresAt, nowMs),
    boundDevice: row.boundDeviceId !== null,
    createdAt: row.createdAt,
  }
}

/** The organization's codes (not deleted), newest first; `status` filters active or expired ones. */
export async function listUniqueCodes(
  db: Db,
  secrets: Secrets,
  nowMs: number,
  organizationId: string,
  status?: UniqueCodeStatus,
): Promise<UniqueCodeView[]> {
  const now = new Date(nowMs)
  const filters: SQL[] = [eq(uniqueCodes.organizationId, organizationId), isNull(uniqueCodes.deletedAt)]
  if (status === 'active') filters.push(gt(uniqueCodes.expiresAt, now))
  if (status === 'expired') filters.push(lte(uniqueCodes.expiresAt, now))
  const rows = await db
    .select()
    .from(uniqueCodes)
    .where(and(...filters))
    .orderBy(desc(uniqueCodes.createdAt), desc(uniqueCodes.id))
  return rows.map((row) => toUniqueCodeView(secrets, row, nowMs))
}

/**
 * The zone a unique code's times are read and shown in (it opens locks of any zone): the one zone
 * all the organization's locks share, else UTC. A request may give its own `timezone` instead.
 */
export async function organizationTimezone(db: Db, organizationId: string): Promise<string> {
  const zones = await db
    .selectDistinct({ timezone: locks.timezone })
    .from(locks)
    .where(and(eq(locks.organizationId, organizationId), isNull(locks.deletedAt)))
    .limit(2)
  return zones.length === 1 ? zones[0]!.timezone : 'UTC'
}

/** A code of the organization that is not deleted; 404 `not_found` otherwise (also for another organization's). */
export async function findUniqueCode(db: Db, organizationId: string, id: string): Promise<UniqueCode> {
  const [row] = isUuid(id)
    ? await db
        .select()
        .from(uniqueCodes)
        .where(
          and(
            eq(uniqueCodes.id, id),
            eq(uniqueCodes.organizationId, organizationId),
            isNull(uniqueCodes.deletedAt),
          ),
        )
    : []
  if (row === undefined) throw new LatchkeyError('not_found', `no unique code ${id}`)
  return row
}
