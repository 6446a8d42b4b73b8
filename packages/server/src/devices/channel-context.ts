/**
 * What the handlers of the lock channel share: the store, the keys, the logger, the handlers
 * registered by other parts of the server, and the transitions of online state (each one recorded
 * once as an event, by a conditional update, whichever server process sees it first).
 */
import type { Clock } from '@latchkey/core'
import type { Command } from '@latchkey/protocol'
import { and, eq, isNull, lte, ne } from 'drizzle-orm'
import { recordEvent } from '../events/index.ts'
import type { MetricsRegistry } from '../http/index.ts'
import type { Secrets } from '../secrets.ts'
import type { Db } from '../store/index.ts'
import { gateways, locks } from '../store/index.ts'
import type { LockEventsHandler, ReplyHandler } from './lock-channel.ts'
import type { LockKeyCache } from './lock-keys.ts'

export interface LockChannelDeps {
  readonly db: Db
  readonly secrets: Secrets
  readonly clock: Clock
  readonly metrics: MetricsRegistry
}

/** The part of a pino logger the channel uses (fastify's logger fits). */
export interface ChannelLogger {
  debug(object: object, message: string): void
  info(object: object, message: string): void
  warn(object: object, message: string): void
  error(object: object, message: string): void
}

export const silentLogger: ChannelLogger = { debug() {}, info() {}, warn() {}, error() {} }

/** How a message received from the broker ended, for `/metrics`. */
export type MessageOutcome =
  | 'accepted'
  | 'unknown_topic'
  | 'unknown_lock'
  | 'unknown_gateway'
  | 'wrong_gateway'
  | 'invalid_payload'
  | 'frame_rejected'
  | 'replayed'
  /** a status or link older than one taken already */
  | 'stale'
  | 'unknown_command'
  | 'throttled'
  | 'overloaded'
  | 'error'

export interface ChannelContext {
  readonly deps: LockChannelDeps
  readonly keys: LockKeyCache
  readonly log: ChannelLogger
  readonly replyHandlers: ReplyHandler[]
  readonly eventHandlers: LockEventsHandler[]
  send(lockId: string, command: Command): Promise<{ commandId: string }>
}

/** The lock as the handlers of one message need it. */
export interface ChannelLock {
  id: string
  organizationId: string
  gatewayId: string | null
  name: string
  timezone: string
  secretEncrypted: string
  lastReceivedCounter: number
  capacity: number
  codesOnLock: number
  clockSyncedAt: Date | null
}

/** The columns of a lock every channel reads. */
export const lockColumns = {
  id: locks.id,
  organizationId: locks.organizationId,
  gatewayId: locks.gatewayId,
  name: locks.name,
  timezone: locks.timezone,
  secretEncrypted: locks.secretEncrypted,
  lastReceivedCounter: locks.lastReceivedCounter,
  capacity: locks.capacity,
  codesOnLock: locks.codesOnLock,
  clockSyncedAt: locks.clockSyncedAt,
  driver: locks.driver,
}

export type LoadOutcome = { lock: ChannelLock } | { refused: 'unknown_lock' | 'wrong_gateway' }

/**
 * The lock a message on gateway `gatewayId`'s topics speaks of. A gateway speaks only for its own
 * locks; a lock registered without a gateway is adopted by the first gateway of its organization
 * that reports it (commands stay sealed: adopting a lock only decides where they are published).
 */
export async function loadLockForGateway(
  ctx: ChannelContext,
  gatewayId: string,
  lockId: string,
): Promise<LoadOutcome> {
  const { db } = ctx.deps
  const [lock] = await db
    .select(lockColumns)
    .from(locks)
    .where(and(eq(locks.id, lockId), isNull(locks.deletedAt)))
  // A lock of another driver is never reached through a gateway, nor adopted by one.
  if (lock === undefined || lock.driver !== 'latchkey') return { refused: 'unknown_lock' }
  if (lock.gatewayId === gatewayId) return { lock }
  if (lock.gatewayId !== null) return { refused: 'wrong_gateway' }
  const [gateway] = await db
    .select({ organizationId: gateways.organizationId })
    .from(gateways)
    .where(and(eq(gateways.id, gatewayId), isNull(gateways.deletedAt)))
  if (gateway?.organizationId !== lock.organizationId) return { refused: 'wrong_gateway' }
  const adopted = await db
    .update(locks)
    .set({ gatewayId, updatedAt: new Date(ctx.deps.clock.now()) })
    .where(and(eq(locks.id, lockId), isNull(locks.gatewayId)))
    .returning({ id: locks.id })
  if (adopted.length === 1) ctx.log.info({ lockId, gatewayId }, 'lock adopted by the gateway that reports it')
  return { lock: { ...lock, gatewayId } }
}

/** How far below the highest counter accepted a frame from the lock may still be taken (once). */
export const RECEIVE_WINDOW = 48

export interface ReceiveWindow {
  /** The highest counter accepted. */
  last: number
  /** Bit i: the counter `last − 1 − i` was accepted too. */
  seen: number
}

/**
 * Takes `counter` into the window, or answers null for a replay or a frame older than the window.
 * Several server processes share a lock's frames (shared subscriptions), so they can be handled out
 * of order; each is still taken at most once.
 */
export function acceptCounter(window: ReceiveWindow, counter: number): ReceiveWindow | null {
  const mask = (1n << BigInt(RECEIVE_WINDOW)) - 1n
  if (counter > window.last) {
    const shift = BigInt(counter - window.last)
    const moved =
      shift > BigInt(RECEIVE_WINDOW) ? 0n : ((BigInt(window.seen) << shift) | (1n << (shift - 1n))) & mask
    return { last: counter, seen: Number(window.last === 0 ? 0n : moved) }
  }
  const distance = window.last - counter
  if (distance === 0 || distance > RECEIVE_WINDOW) return null
  const bit = 1n << BigInt(distance - 1)
  if ((BigInt(window.seen) & bit) !== 0n) return null
  return { last: window.last, seen: Number(BigInt(window.seen) | bit) }
}

/** The lowest counter the frame check may let through (the window decides about the rest). */
export const lowestReceivable = (last: number): number => Math.max(0, last - RECEIVE_WINDOW - 1)

/**
 * Atomically takes the frame's counter into the lock's receive window (row lock for the rest of the
 * caller's transaction); false for a replay or a frame older than the window.
 */
export async function advanceReceiveCounter(
  db: Db,
  lockId: string,
  counter: number,
  now: Date,
): Promise<boolean> {
  const [row] = await db
    .select({ last: locks.lastReceivedCounter, seen: locks.receivedWindow })
    .from(locks)
    .where(eq(locks.id, lockId))
    .for('update')
  const next = row === undefined ? null : acceptCounter(row, counter)
  if (next === null) return false
  await db
    .update(locks)
    .set({ lastReceivedCounter: next.last, receivedWindow: next.seen, lastSeenAt: now })
    .where(eq(locks.id, lockId))
  return true
}

/** Sets a lock online or offline; records `lock.online|offline` when that changed it. */
export async function setLockOnline(
  db: Db,
  lockId: string,
  online: boolean,
  now: Date,
  reason: string,
): Promise<boolean> {
  const changed = await db
    .update(locks)
    .set({ online })
    .where(and(eq(locks.id, lockId), ne(locks.online, online)))
    .returning({ organizationId: locks.organizationId, name: locks.name, gatewayId: locks.gatewayId })
  for (const lock of changed) {
    await recordEvent(db, {
      organizationId: lock.organizationId,
      type: online ? 'lock.online' : 'lock.offline',
      occurredAt: now,
      lockId,
      gatewayId: lock.gatewayId,
      data: { lockName: lock.name, reason },
    })
  }
  return changed.length > 0
}

/**
 * Sets a gateway online or offline; records `gateway.online|offline` when that changed it. The locks
 * behind it follow: offline with it, online again when their last reported link was in range.
 */
export async function setGatewayOnline(
  db: Db,
  gatewayId: string,
  online: boolean,
  now: Date,
  reason: string,
): Promise<boolean> {
  if (online) await db.update(gateways).set({ lastSeenAt: now }).where(eq(gateways.id, gatewayId))
  const changed = await db
    .update(gateways)
    .set({ online })
    .where(and(eq(gateways.id, gatewayId), isNull(gateways.deletedAt), ne(gateways.online, online)))
    .returning({ organizationId: gateways.organizationId, name: gateways.name })
  for (const gateway of changed) {
    await recordEvent(db, {
      organizationId: gateway.organizationId,
      type: online ? 'gateway.online' : 'gateway.offline',
      occurredAt: now,
      gatewayId,
      label: gateway.name,
      data: { reason },
    })
  }
  const behind = await db
    .select({ id: locks.id })
    .from(locks)
    .where(
      and(
        eq(locks.gatewayId, gatewayId),
        isNull(locks.deletedAt),
        ne(locks.online, online),
        online ? eq(locks.inRange, true) : undefined,
      ),
    )
  for (const lock of behind) {
    await setLockOnline(db, lock.id, online, now, online ? 'gateway_online' : 'gateway_offline')
  }
  return changed.length > 0
}

/**
 * Takes what a gateway says of itself (its retained status, or the last will the broker publishes for
 * it) unless it belongs to an older connection than the status taken already: two server processes
 * may handle one connection's will after the next connection's status. The gateway's row is locked
 * while this and its locks' links are taken, so they apply one at a time across processes.
 */
export async function takeGatewayStatus(
  db: Db,
  gatewayId: string,
  status: { online: boolean; session: number },
  now: Date,
): Promise<'accepted' | 'stale' | 'unknown_gateway'> {
  return db.transaction(async (tx) => {
    const [row] = await tx
      .select({ session: gateways.statusSession })
      .from(gateways)
      .where(and(eq(gateways.id, gatewayId), isNull(gateways.deletedAt)))
      .for('update')
    if (row === undefined) return 'unknown_gateway'
    if (status.session < row.session) return 'stale'
    if (status.session > row.session) {
      await tx.update(gateways).set({ statusSession: status.session }).where(eq(gateways.id, gatewayId))
    }
    await setGatewayOnline(tx, gatewayId, status.online, now, status.online ? 'connected' : 'disconnected')
    return 'accepted'
  })
}

/**
 * Takes a lock's radio link as its gateway reported it, unless a later report was taken already; the
 * lock is reachable when it is in range and its gateway is online.
 */
export async function takeLockLink(
  db: Db,
  gatewayId: string,
  lockId: string,
  link: { inRange: boolean; battery: number | null; at: number },
  now: Date,
): Promise<'accepted' | 'stale'> {
  return db.transaction(async (tx) => {
    const [gateway] = await tx
      .select({ online: gateways.online })
      .from(gateways)
      .where(eq(gateways.id, gatewayId))
      .for('update')
    const taken = await tx
      .update(locks)
      .set({
        inRange: link.inRange,
        linkAt: link.at,
        ...(link.battery === null ? {} : { battery: Math.round(link.battery) }),
        ...(link.inRange ? { lastSeenAt: now } : {}),
      })
      .where(and(eq(locks.id, lockId), lte(locks.linkAt, link.at)))
      .returning({ id: locks.id })
    if (taken.length === 0) return 'stale'
    const reachable = link.inRange && gateway?.online === true
    await setLockOnline(tx, lockId, reachable, now, link.inRange ? 'in_range' : 'out_of_range')
    return 'accepted'
  })
}
