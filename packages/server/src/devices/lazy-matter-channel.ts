/**
 * The Matter driver's channel, started when first needed (matter-channel.ts is the channel itself).
 */
import { randomUUID } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { networkInterfaces } from 'node:os'
import { join } from 'node:path'
import { LatchkeyError } from '@latchkey/core'
import { and, eq, isNull, not } from 'drizzle-orm'
import { locks } from '../store/index.ts'
import type { ChannelLogger, LockChannelDeps } from './channel-context.ts'
import type { LockEventsHandler, ReplyHandler } from './lock-channel.ts'
import { drivenHere } from './lock-driver.ts'
import type { RunningMatterChannel } from './matter-channel.ts'

/** How long a command may take at the lock before it counts as not answered. */
export const MATTER_COMMAND_TIME_LIMIT_MS = 15_000
/** The commands a Matter lock takes in any hour (LATCHKEY_MATTER_COMMANDS_PER_HOUR). */
export const MATTER_COMMANDS_PER_HOUR = 120

export interface MatterSettings {
  commandTimeLimitMs?: number
  commandsPerHour?: number
  /**
   * The network interface on which the controller finds and reaches locks (LATCHKEY_MATTER_INTERFACE,
   * e.g. `eth0`): mDNS there, UDP on every address. Unset: loopback only, for the demo and tests.
   */
  networkInterface?: string
}

/** A command for a Matter lock of another server process's fabric. */
export function drivenElsewhereError(): LatchkeyError {
  return new LatchkeyError(
    'service_unavailable',
    'this Matter lock is driven by the server process that commissioned it (its fabric is in that process’s data directory): ask again, to reach that one',
  )
}

/** A setting that is a whole number from 1, if it is set; anything else stops the start. */
function wholeNumber(env: Record<string, string | undefined>, name: string): number | undefined {
  const raw = env[name]
  if (raw === undefined || raw === '') return undefined
  const value = Number(raw)
  if (!Number.isInteger(value) || value < 1)
    throw new LatchkeyError('validation_failed', `${name} must be a whole number from 1, not “${raw}”`)
  return value
}

/**
 * The Matter settings of the environment: LATCHKEY_MATTER_COMMANDS_PER_HOUR and
 * LATCHKEY_MATTER_COMMAND_TIME_LIMIT_MS, whole numbers from 1, and LATCHKEY_MATTER_INTERFACE, an
 * interface of this machine; anything else stops the start.
 */
export function matterSettingsFrom(env: Record<string, string | undefined>): MatterSettings {
  const settings: MatterSettings = {}
  const perHour = wholeNumber(env, 'LATCHKEY_MATTER_COMMANDS_PER_HOUR')
  if (perHour !== undefined) settings.commandsPerHour = perHour
  const timeLimitMs = wholeNumber(env, 'LATCHKEY_MATTER_COMMAND_TIME_LIMIT_MS')
  if (timeLimitMs !== undefined) settings.commandTimeLimitMs = timeLimitMs
  const networkInterface = env.LATCHKEY_MATTER_INTERFACE
  if (networkInterface !== undefined && networkInterface !== '') {
    const known = Object.keys(networkInterfaces())
    if (!known.includes(networkInterface))
      throw new LatchkeyError(
        'validation_failed',
        `LATCHKEY_MATTER_INTERFACE must be a network interface of this machine (${known.join(', ')}), not “${networkInterface}”`,
      )
    settings.networkInterface = networkInterface
  }
  return settings
}

/**
 * The id of the fabric kept in `storagePath` (made at its first use): the locks it commissions carry
 * it, so that of several server processes only the one holding that fabric drives them.
 */
export function matterControllerId(storagePath: string): string {
  const file = join(storagePath, 'latchkey-controller-id')
  try {
    return readFileSync(file, 'utf8').trim()
  } catch {
    mkdirSync(storagePath, { recursive: true })
    const id = randomUUID()
    writeFileSync(file, `${id}\n`, { flag: 'wx' })
    return id
  }
}

/**
 * The Matter channel, started when first needed: at start when the store holds a Matter lock, else
 * at the first commissioning. A server with no Matter lock runs no Matter node (no UDP port, no
 * fabric). Handlers registered before it starts are handed over when it does.
 */
export function lazyMatterChannel(options: {
  deps: LockChannelDeps
  storagePath: string
  settings?: MatterSettings
  log?: ChannelLogger
}): RunningMatterChannel & { startIfNeeded(): Promise<void> } {
  const controllerId = matterControllerId(options.storagePath)
  const drivenElsewhere = async (lockId: string): Promise<boolean> => {
    const [row] = await options.deps.db
      .select({ id: locks.id })
      .from(locks)
      .where(and(eq(locks.id, lockId), eq(locks.driver, 'matter'), not(drivenHere(controllerId))))
    return row !== undefined
  }
  const replyHandlers: ReplyHandler[] = []
  const eventHandlers: LockEventsHandler[] = []
  let started: Promise<RunningMatterChannel> | null = null
  let closed = false
  const start = () => {
    if (closed) throw new LatchkeyError('service_unavailable', 'the server is shutting down')
    // matter.js is loaded only here: a server with no Matter lock never loads it (it is most of a start)
    started ??= import('./matter-channel.ts')
      .then(({ startMatterChannel }) => startMatterChannel({ ...options, controllerId }))
      .then((channel) => {
        for (const handler of replyHandlers) channel.onReply(handler)
        for (const handler of eventHandlers) channel.onLockEvents(handler)
        return channel
      })
    return started
  }
  return {
    controllerId,
    async startIfNeeded() {
      const [row] = await options.deps.db
        .select({ id: locks.id })
        .from(locks)
        .where(and(eq(locks.driver, 'matter'), isNull(locks.deletedAt), drivenHere(controllerId)))
        .limit(1)
      if (row !== undefined) await start()
    },
    drivenElsewhere,
    send: async (lockId, command, sendOptions) => {
      if (await drivenElsewhere(lockId)) throw drivenElsewhereError()
      if (started === null) throw new LatchkeyError('lock_offline', 'the Matter lock cannot be reached')
      return (await started).send(lockId, command, sendOptions)
    },
    onReply: (handler) => {
      if (started === null) replyHandlers.push(handler)
      else void started.then((channel) => channel.onReply(handler))
    },
    onLockEvents: (handler) => {
      if (started === null) eventHandlers.push(handler)
      else void started.then((channel) => channel.onLockEvents(handler))
    },
    reachable: async (lockId) => (started === null ? false : (await started).reachable(lockId)),
    resting: async (lockId) => (started === null ? false : ((await started).resting?.(lockId) ?? false)),
    commission: async (target) => (await start()).commission(target),
    forget: async (nodeId) => (await start()).forget(nodeId),
    idle: async () => {
      await (await started)?.idle()
    },
    async close() {
      closed = true
      await (await started?.catch(() => null))?.close()
    },
  }
}
