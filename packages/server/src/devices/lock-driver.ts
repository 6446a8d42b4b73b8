/**
 * Lock drivers (SPEC §12): how the server reaches a lock, chosen by `locks.driver`. Everything above
 * (reconciler, statuses, warnings, diagnosis, audit, routes) speaks to one `LockChannel`; this module
 * routes each lock's commands to its driver's channel and merges what the drivers report back:
 * - `latchkey`: sealed frames over MQTT through a Latchkey gateway (mqtt-lock-channel.ts);
 * - `matter`: the server's own Matter controller over IP (matter-channel.ts).
 * Features that only the latchkey driver has (offline codes, eKeys, clock sync) are refused for
 * another driver with `not_supported_by_driver`, naming it.
 */
import { LatchkeyError } from '@latchkey/core'
import type { CommissionTarget, LockCapacity } from '@latchkey/matter'
import { eq, isNull, ne, or, type SQL, sql } from 'drizzle-orm'
import type { Db, LockDriverName } from '../store/index.ts'
import { isUuid, locks } from '../store/index.ts'
import type { LockChannel } from './lock-channel.ts'

export type DriverFeature = 'offline_codes' | 'ekeys' | 'clock_sync'

const FEATURES: Record<LockDriverName, readonly DriverFeature[]> = {
  latchkey: ['offline_codes', 'ekeys', 'clock_sync'],
  matter: [],
}

/** The feature in words, and the verb that goes with them. */
const FEATURE_WORDS: Record<DriverFeature, [string, 'is' | 'are']> = {
  offline_codes: ['offline codes', 'are'],
  ekeys: ['eKeys', 'are'],
  clock_sync: ['clock sync', 'is'],
}

export function driverHas(driver: LockDriverName, feature: DriverFeature): boolean {
  return FEATURES[driver].includes(feature)
}

/** Throws `not_supported_by_driver` when the lock's driver lacks `feature`. */
export function requireDriverFeature(driver: LockDriverName, feature: DriverFeature): void {
  if (driverHas(driver, feature)) return
  const [word, verb] = FEATURE_WORDS[feature]
  throw new LatchkeyError(
    'not_supported_by_driver',
    `a lock on the ${driver} driver has no ${word}: ${word} ${verb} a feature of the latchkey driver`,
  )
}

/**
 * The locks a server process may work on: every lock of the latchkey driver (any process reaches it
 * through the broker), and the Matter locks of its own fabric (`controllerId`; none without one).
 * A Matter lock from before controllers were named is any fabric's.
 */
export function drivenHere(controllerId: string | null): SQL {
  const matterHere =
    controllerId === null
      ? sql`false`
      : or(isNull(sql`${locks.matter}->>'controller'`), eq(sql`${locks.matter}->>'controller'`, controllerId))
  return or(ne(locks.driver, 'matter'), matterHere) as SQL
}

export type DriverChannels = { latchkey: LockChannel } & Partial<Record<LockDriverName, LockChannel>>

async function driverOf(db: Db, lockId: string): Promise<LockDriverName | null> {
  if (!isUuid(lockId)) return null
  const [row] = await db.select({ driver: locks.driver }).from(locks).where(eq(locks.id, lockId))
  return row?.driver ?? null
}

/** One channel over every driver: each lock's commands go to the channel of its driver. */
export function routedChannel(db: Db, drivers: DriverChannels): LockChannel {
  const channels = Object.values(drivers).filter((c): c is LockChannel => c !== undefined)
  const channelOf = async (lockId: string): Promise<LockChannel> => {
    const driver = (await driverOf(db, lockId)) ?? 'latchkey'
    const channel = drivers[driver]
    if (channel === undefined)
      throw new LatchkeyError('lock_offline', `this server runs without its ${driver} driver`)
    return channel
  }
  return {
    send: async (lockId, command, options) => (await channelOf(lockId)).send(lockId, command, options),
    onReply: (handler) => {
      for (const channel of channels) channel.onReply(handler)
    },
    onLockEvents: (handler) => {
      for (const channel of channels) channel.onLockEvents(handler)
    },
    onReconnected: (handler) => {
      for (const channel of channels) channel.onReconnected?.(handler)
    },
    reachable: async (lockId) => {
      const driver = (await driverOf(db, lockId)) ?? 'latchkey'
      return (await drivers[driver]?.reachable(lockId)) ?? false
    },
    resting: async (lockId) => {
      const driver = (await driverOf(db, lockId)) ?? 'latchkey'
      return (await drivers[driver]?.resting?.(lockId)) ?? false
    },
    drivenElsewhere: async (lockId) => {
      const driver = (await driverOf(db, lockId)) ?? 'latchkey'
      return (await drivers[driver]?.drivenElsewhere?.(lockId)) ?? false
    },
  }
}

/** What the lock routes need of the Matter driver beyond the channel: commissioning and removal. */
export interface MatterDriver {
  /** Names this server's fabric: the locks it commissions carry it (`locks.matter.controller`). */
  readonly controllerId: string
  commission(target: CommissionTarget): Promise<{ nodeId: string; capacity: LockCapacity }>
  /** Takes the lock's node out of the fabric (best effort: an unreachable lock is forgotten anyway). */
  forget(nodeId: string): Promise<void>
}
