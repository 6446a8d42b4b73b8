/**
 * The demo's Matter lock (`latchkey serve --demo --demo-matter`): a virtual Matter door lock the demo
 * runs in its own process, commissioned into the server's fabric as `POST /locks {driver: 'matter'}`
 * does (createMatterLock), once. Its lock id is kept beside the lock's own state, so a second start
 * finds it (renamed or not) and commissions nothing.
 */
import { LatchkeyError } from '@latchkey/core'
import type { CommissionTarget } from '@latchkey/matter'
import { and, eq, isNull } from 'drizzle-orm'
import type { ServerDeps } from '../context.ts'
import { createMatterLock, deleteLock } from '../devices/index.ts'
import { isUuid, locks } from '../store/index.ts'
import type { DemoData } from './seed.ts'

export const DEMO_MATTER_LOCK = 'Side gate'

export interface DemoMatterLockInput {
  /** The lock id this demo commissioned before (null on the first start). */
  lockId: string | null
  /** Whether the virtual lock belongs to a fabric (it keeps its fabrics across restarts). */
  commissioned: boolean
  /** How the server reaches it to commission it. */
  target: CommissionTarget
  timezone: string
}

/** The demo's Matter lock as the server knows it: found again, or commissioned now. */
export async function seedDemoMatterLock(
  deps: ServerDeps,
  data: Pick<DemoData, 'organizationId'>,
  input: DemoMatterLockInput,
): Promise<{ id: string; name: string; created: boolean }> {
  const actor = { organizationId: data.organizationId }
  const [known] =
    input.lockId !== null && isUuid(input.lockId)
      ? await deps.db
          .select({ id: locks.id, name: locks.name })
          .from(locks)
          .where(
            and(
              eq(locks.id, input.lockId),
              eq(locks.organizationId, data.organizationId),
              eq(locks.driver, 'matter'),
              isNull(locks.deletedAt),
            ),
          )
      : []
  if (known !== undefined && input.commissioned) return { ...known, created: false }
  if (known !== undefined) {
    // The lock's own state is gone (it opens for commissioning again): the old lock goes, a new one comes.
    await deleteLock(deps.db, deps.clock.now(), actor, known.id, deps.matter)
  } else if (input.commissioned) {
    throw new LatchkeyError(
      'conflict',
      'the demo’s Matter lock belongs to a fabric this server does not know (its database is not the one it was commissioned with): remove the data directory’s matter folder, or start without --demo-matter',
    )
  }
  const { lock } = await createMatterLock(deps.db, deps.secrets, deps.matter, deps.clock.now(), actor, {
    name: known?.name ?? DEMO_MATTER_LOCK,
    timezone: input.timezone,
    driver: 'matter',
    matter: input.target,
  })
  return { id: lock.id, name: lock.name, created: true }
}
