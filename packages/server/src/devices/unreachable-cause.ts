/**
 * Why a lock cannot be reached, as the server knows it (SPEC §3: a message names the cause, never
 * "A or B" when the server knows which): it has no gateway, its gateway is offline (or retired),
 * or its gateway reports it out of range. Null while the lock channel can reach it.
 */
import { eq } from 'drizzle-orm'
import type { ServerDeps } from '../context.ts'
import type { Unreachable } from '../reconciler/index.ts'
import { gateways, locks } from '../store/index.ts'

export async function unreachableCause(
  deps: Pick<ServerDeps, 'db' | 'channel'>,
  lockId: string,
): Promise<Unreachable> {
  const [row] = await deps.db
    .select({
      driver: locks.driver,
      gatewayId: locks.gatewayId,
      lockOnline: locks.online,
      gatewayOnline: gateways.online,
      gatewayDeleted: gateways.deletedAt,
    })
    .from(locks)
    .leftJoin(gateways, eq(gateways.id, locks.gatewayId))
    .where(eq(locks.id, lockId))
  // A Matter lock has no gateway: the server's controller reaches it over IP, or does not.
  if (row?.driver === 'matter') return (await deps.channel.reachable(lockId)) ? null : 'unreachable'
  if (row === undefined || row.gatewayId === null) return 'no_gateway'
  if (await deps.channel.reachable(lockId)) return null
  if (row.gatewayOnline !== true || row.gatewayDeleted !== null) return 'gateway_offline'
  if (!row.lockOnline) return 'out_of_range'
  return 'unreachable'
}
