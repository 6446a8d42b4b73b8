/**
 * Deleting an access code (owner or admin). A synced code the lock may hold is `removing` until the
 * lock confirms, then `removed`; one the lock never got is `removed` at once. An offline code cannot
 * be revoked remotely: it is `removing` until the lock is next reached and takes it on its revocation
 * list (or until it could no longer open anyway).
 */
import { and, eq, isNull } from 'drizzle-orm'
import { unreachableCause } from '../devices/index.ts'
import { recordCodeEvent } from '../events/index.ts'
import {
  loadLockSync,
  lookSoonAfterCommit,
  markDue,
  offlineCouldOpen,
  stillOpensIssue,
  withoutRenewedWarnings,
} from '../reconciler/index.ts'
import { type AccessCode, accessCodes } from '../store/index.ts'
import type { Actor, Deps } from './create-access-code.ts'
import { findCode } from './lookup.ts'

export async function deleteAccessCode(deps: Deps, auth: Actor, codeId: string): Promise<AccessCode> {
  const nowMs = deps.clock.now()
  const code = await findCode(deps.db, auth.organizationId, codeId)
  if (code.deletedAt !== null) return code
  const now = new Date(nowMs)
  let mayBeOnLock: boolean
  if (code.delivery === 'offline') {
    mayBeOnLock = offlineCouldOpen(code, nowMs)
  } else {
    const sync = await loadLockSync(deps.db, code.lockId)
    mayBeOnLock =
      code.status === 'set' ||
      code.status === 'removing' ||
      (sync !== undefined && (Object.hasOwn(sync.reported, code.id) || Object.hasOwn(sync.pending, code.id)))
  }
  const cause = code.delivery === 'synced' && mayBeOnLock ? await unreachableCause(deps, code.lockId) : null
  const stillOpens = cause === null ? null : stillOpensIssue(cause, true)
  // The deletion, its event and the look it needs commit together.
  const deleted = await deps.db.transaction(async (tx) => {
    const [row] = await tx
      .update(accessCodes)
      .set({
        deletedAt: now,
        updatedAt: now,
        status: mayBeOnLock ? 'removing' : 'removed',
        errors: [],
        warnings: [...withoutRenewedWarnings(code.warnings), ...(stillOpens === null ? [] : [stillOpens])],
        pendingSince: mayBeOnLock ? now : null,
      })
      .where(and(eq(accessCodes.id, code.id), isNull(accessCodes.deletedAt)))
      .returning()
    if (row === undefined) return undefined
    await recordCodeEvent(tx, code, 'access_code.deleted', {
      nowMs,
      actorUserId: auth.userId,
      data: { delivery: code.delivery, status: row.status },
    })
    await markDue(tx, code.lockId, nowMs)
    return row
  })
  if (deleted === undefined) return findCode(deps.db, auth.organizationId, codeId)
  lookSoonAfterCommit(deps.db, [code.lockId])
  return deleted
}
