/**
 * Opening a lock from the app through the server (SPEC §4, §8): the share must open now, the lock
 * must be reachable, and a sealed `unlock` command goes to it through its gateway. A one_time share
 * is spent by the command (given back if the command could not be sent). The lock's own `unlocked`
 * event (method `remote`) names the unique code or user who asked.
 */
import { type Clock, LatchkeyError } from '@latchkey/core'
import { and, eq, isNull } from 'drizzle-orm'
import { type LockChannel, UNLOCK_TTL_MS } from '../devices/index.ts'
import type { Db } from '../store/index.ts'
import { permissions } from '../store/index.ts'
import { findAppShare } from './app-locks.ts'
import type { AppPrincipal } from './app-sessions.ts'
import { assertShareOpensNow } from './share-access.ts'

export interface AppUnlockDeps {
  db: Db
  clock: Clock
  /** How commands reach locks. */
  channel: LockChannel
}

/** Claims the one opening of a one_time share; false when it was spent already (maybe just now by another request). */
export async function spendOneTimeShare(db: Db, permissionId: string, now: Date): Promise<boolean> {
  const spent = await db
    .update(permissions)
    .set({ usedAt: now })
    .where(and(eq(permissions.id, permissionId), isNull(permissions.usedAt), isNull(permissions.revokedAt)))
    .returning({ id: permissions.id })
  return spent.length === 1
}

export async function giveBackOneTimeShare(db: Db, permissionId: string, usedAt: Date): Promise<void> {
  await db
    .update(permissions)
    .set({ usedAt: null })
    .where(and(eq(permissions.id, permissionId), eq(permissions.usedAt, usedAt)))
}

const offline = (lockName: string) =>
  new LatchkeyError('lock_offline', `${lockName} cannot be reached now; open it with an eKey near the lock`)

export async function unlockFromApp(
  deps: AppUnlockDeps,
  principal: AppPrincipal,
  lockId: string,
): Promise<{ commandId: string }> {
  const nowMs = deps.clock.now()
  const now = new Date(nowMs)
  const found = await findAppShare(deps.db, principal, lockId)
  await assertShareOpensNow(deps.db, nowMs, principal, found, 'remote')
  const { share, lock } = found
  const channel = deps.channel
  if (!(await channel.reachable(lock.id))) throw offline(lock.name)
  const oneTime = share.level === 'one_time'
  if (oneTime && !(await spendOneTimeShare(deps.db, share.id, now))) {
    throw new LatchkeyError('forbidden', 'this one-time share has already been used')
  }
  let commandId: string
  try {
    ;({ commandId } = await channel.send(
      lock.id,
      { type: 'unlock', notAfter: nowMs + UNLOCK_TTL_MS },
      {
        requestedBy:
          principal.kind === 'unique_code'
            ? { uniqueCodeId: principal.uniqueCodeId }
            : { userId: principal.userId },
      },
    ))
  } catch (error) {
    if (oneTime) await giveBackOneTimeShare(deps.db, share.id, now)
    throw error
  }
  return { commandId }
}
