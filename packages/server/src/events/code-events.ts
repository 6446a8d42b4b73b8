/**
 * The audit events about access codes (SPEC §7): each carries the code's label and its lock's name
 * (docs/EVENTS.md), so that the audit reads well after either was renamed or deleted.
 */
import { eq } from 'drizzle-orm'
import type { Db } from '../store/index.ts'
import { type AccessCode, locks } from '../store/index.ts'
import { recordEvent } from './record.ts'

export type CodeEventType =
  | 'access_code.created'
  | 'access_code.updated'
  | 'access_code.deleted'
  | 'access_code.set_on_lock'
  | 'access_code.failed_to_set'
  | 'access_code.removed_from_lock'
  | 'access_code.expired'

export interface CodeEventOptions {
  nowMs: number
  /** When it happened, if earlier than it is recorded (a window's end). */
  occurredAtMs?: number
  actorUserId?: string | null
  /** The lock's name when the caller has it (else it is looked up). */
  lockName?: string
  data?: Record<string, unknown>
}

export async function recordCodeEvent(
  db: Db,
  code: Pick<AccessCode, 'id' | 'organizationId' | 'lockId' | 'name'>,
  type: CodeEventType,
  options: CodeEventOptions,
): Promise<number> {
  let lockName = options.lockName
  if (lockName === undefined) {
    const [lock] = await db.select({ name: locks.name }).from(locks).where(eq(locks.id, code.lockId))
    lockName = lock?.name
  }
  return recordEvent(db, {
    organizationId: code.organizationId,
    lockId: code.lockId,
    accessCodeId: code.id,
    actorUserId: options.actorUserId ?? null,
    type,
    label: code.name,
    occurredAt: new Date(options.occurredAtMs ?? options.nowMs),
    recordedAt: new Date(options.nowMs),
    data: { ...(options.data ?? {}), ...(lockName === undefined ? {} : { lockName }) },
  })
}
