/**
 * Why a lock cannot be reached, as the server knows it (SPEC §3: a message names the cause, never
 * "A or B" when the server knows which): it has no gateway, its gateway is offline (or retired),
 * or its gateway reports it out of range, or it rests (it took its commands of this hour). Null while
 * the lock channel can reach it.
 */
import { eq, type SQL, sql } from 'drizzle-orm'
import type { ServerDeps } from '../context.ts'
import type { Unreachable } from '../reconciler/index.ts'
import { type Gateway, gateways, type Lock, locks } from '../store/index.ts'

/**
 * The cause read from the lock's row and its gateway's alone; null when nothing there stands in the
 * way. A Matter lock has no gateway: the server's controller reaches it over IP, or does not.
 */
export function linkCause(
  lock: Pick<Lock, 'driver' | 'gatewayId' | 'online' | 'inRange'>,
  gateway: Pick<Gateway, 'online' | 'deletedAt'> | undefined | null,
): Unreachable {
  if (lock.driver === 'matter') return lock.online ? null : 'unreachable'
  if (lock.gatewayId === null || gateway == null || gateway.deletedAt !== null) return 'no_gateway'
  if (!gateway.online) return 'gateway_offline'
  if (!lock.inRange) return 'out_of_range'
  return null
}

/**
 * In SQL over `locks`, whether the lock is in reach by its link: online (for a latchkey lock, in
 * range of its gateway) and, but for a Matter lock, which has none, its gateway online.
 */
export const linkReachable: SQL = sql`(${locks.online} and (${locks.driver} = 'matter' or exists (select 1 from ${gateways} where ${gateways.id} = ${locks.gatewayId} and ${gateways.online} and ${gateways.deletedAt} is null)))`

export async function unreachableCause(
  deps: Pick<ServerDeps, 'db' | 'channel'>,
  lockId: string,
): Promise<Unreachable> {
  const [row] = await deps.db
    .select({
      lock: {
        driver: locks.driver,
        gatewayId: locks.gatewayId,
        online: locks.online,
        inRange: locks.inRange,
      },
      gateway: { online: gateways.online, deletedAt: gateways.deletedAt },
    })
    .from(locks)
    .leftJoin(gateways, eq(gateways.id, locks.gatewayId))
    .where(eq(locks.id, lockId))
  if (row === undefined) return 'no_gateway'
  if (await deps.channel.reachable(lockId)) return null
  return (
    linkCause(row.lock, row.gateway) ?? ((await deps.channel.resting?.(lockId)) ? 'resting' : 'unreachable')
  )
}
