/**
 * Frames from a lock (`lockUp`): authenticated with the lock's command key, accepted once (the
 * receive counter advances atomically in the same transaction as what the frame changes), then
 * - a reply completes its `lock_commands` row, updates what the lock reported (clock, table size)
 *   and goes to the reply handlers;
 * - an event batch is stored once per (lock, seq), acknowledged up to its highest seq (sealed
 *   `ack_events`), and the newly stored events go to the event handlers.
 * A frame that does not authenticate, is replayed or does not parse is dropped and counted.
 */
import { isLatchkeyError } from '@latchkey/core'
import { type Command, type LockEvent, openLockMessage, type Reply, ZTableReport } from '@latchkey/protocol'
import { and, eq, type SQL, sql } from 'drizzle-orm'
import {
  appendLockEvents,
  lockEventRow,
  lookupActors,
  lookupCodeLabels,
  recordEvent,
} from '../events/index.ts'
import type { Secrets } from '../secrets.ts'
import type { CommandRequester, Db, NewEventRow } from '../store/index.ts'
import { gateways, isUuid, lockCommands, locks, retryOnConflict } from '../store/index.ts'
import {
  advanceReceiveCounter,
  type ChannelContext,
  type ChannelLock,
  loadLockForGateway,
  lowestReceivable,
  type MessageOutcome,
  RECEIVE_WINDOW,
} from './channel-context.ts'
import { channelCounters } from './channel-metrics.ts'

/** A table report at or above this share of the lock's capacity records `lock.capacity_low`. */
export const CAPACITY_LOW_SHARE = 0.9

/** AAD of a set_code PIN kept with its command. */
export const commandPinContext = (commandId: string): string => `lock_command:${commandId}`

/**
 * The row of a command on its way to a lock, whatever the driver: the command as sent, its PIN
 * (set_code) encrypted apart, bound to the row, and `pending` until the lock's reply.
 */
export function pendingCommandRow(
  secrets: Secrets,
  command: Command,
  at: {
    id: string
    organizationId: string
    lockId: string
    counter: number
    requestedBy?: CommandRequester | undefined
    sentAtMs: number
  },
): typeof lockCommands.$inferInsert {
  const { pin, ...withoutPin } = command as Command & { pin?: string }
  return {
    id: at.id,
    organizationId: at.organizationId,
    lockId: at.lockId,
    type: command.type,
    counter: at.counter,
    command: withoutPin,
    pinEncrypted: pin === undefined ? null : secrets.encrypt(pin, commandPinContext(at.id)),
    status: 'pending',
    requestedBy: at.requestedBy ?? null,
    sentAt: new Date(at.sentAtMs),
  }
}

export async function handleLockUp(
  ctx: ChannelContext,
  gatewayId: string,
  lockId: string,
  frame: Uint8Array,
): Promise<MessageOutcome> {
  if (!isUuid(lockId)) return 'unknown_lock'
  const loaded = await loadLockForGateway(ctx, gatewayId, lockId)
  if ('refused' in loaded) return loaded.refused
  const { lock } = loaded
  let opened: ReturnType<typeof openLockMessage>
  try {
    opened = openLockMessage(
      ctx.keys.keys(lock).command,
      lockId,
      lowestReceivable(lock.lastReceivedCounter),
      frame,
    )
  } catch (error) {
    if (!isLatchkeyError(error)) throw error
    if (error.code === 'frame_replayed') {
      ctx.log.warn({ lockId, gatewayId }, 'frame from the lock dropped: replayed')
      return 'replayed'
    }
    ctx.log.warn({ lockId, gatewayId, code: error.code }, `frame from the lock dropped: ${error.message}`)
    return error.code === 'validation_failed' ? 'invalid_payload' : 'frame_rejected'
  }
  const now = new Date(ctx.deps.clock.now())
  const { counter, message } = opened
  const outcome =
    message.kind === 'reply'
      ? await handleReply(ctx, lock, counter, message, now)
      : await handleEventBatch(ctx, lock, counter, message.events, now)
  // Reachability is what the gateway's status and the lock's link say (link-status.ts), not a frame:
  // a frame handled late must not bring back a lock whose gateway is gone. It does say when they spoke.
  if (outcome === 'accepted') await noteGatewaySeen(ctx, gatewayId, now)
  return outcome
}

/** A gateway's `lastSeenAt` is written at most this often by one process (every frame of its locks says it). */
export const GATEWAY_SEEN_EVERY_MS = 1_000

/** When each process (its deps) last wrote each gateway's `lastSeenAt`. */
const gatewaySeen = new WeakMap<object, Map<string, number>>()

/**
 * The gateway spoke at `now`. All its locks' frames say so, and each write of the one gateway row
 * waits behind the others: it is written once per GATEWAY_SEEN_EVERY_MS (of the server's clock).
 */
async function noteGatewaySeen(ctx: ChannelContext, gatewayId: string, now: Date): Promise<void> {
  let seen = gatewaySeen.get(ctx.deps)
  if (seen === undefined) {
    seen = new Map()
    gatewaySeen.set(ctx.deps, seen)
  }
  const last = seen.get(gatewayId)
  const at = now.getTime()
  if (last !== undefined && at >= last && at - last < GATEWAY_SEEN_EVERY_MS) return
  await ctx.deps.db.update(gateways).set({ lastSeenAt: now }).where(eq(gateways.id, gatewayId))
  seen.set(gatewayId, at)
}

/** A copy without any `pin` field (a table report holds every PIN of the lock). */
function withoutPins(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutPins)
  if (typeof value !== 'object' || value === null) return value
  return Object.fromEntries(
    Object.entries(value)
      .filter(([key]) => key !== 'pin')
      .map(([key, v]) => [key, withoutPins(v)]),
  )
}

export async function handleReply(
  ctx: ChannelContext,
  lock: ChannelLock,
  counter: number,
  reply: Reply,
  now: Date,
): Promise<MessageOutcome> {
  const { db, secrets } = ctx.deps
  const stored = {
    status: reply.status,
    ...(reply.status === 'ok' ? { data: reply.data } : { error: reply.error }),
  }
  // A deadlock with another transaction on the lock's row (another process, a command sent) leaves
  // nothing behind: taken again at once, not left to the command's retry.
  const row = await retryOnConflict(() =>
    db.transaction(async (tx) => {
      if (!(await advanceReceiveCounter(tx, lock.id, counter, now))) return 'replayed' as const
      if (!isUuid(reply.id)) return null
      const [updated] = await tx
        .update(lockCommands)
        .set({
          status: reply.status === 'ok' ? 'done' : 'failed',
          reply: withoutPins(stored) as Record<string, unknown>,
          repliedAt: now,
        })
        .where(and(eq(lockCommands.id, reply.id), eq(lockCommands.lockId, lock.id)))
        .returning()
      if (updated === undefined) return null
      if (reply.status === 'ok') await applyReply(tx, ctx, lock, counter, updated.type, reply.data, now)
      return updated
    }),
  )
  if (row === 'replayed') {
    ctx.log.warn(
      { lockId: lock.id, counter },
      'frame from the lock dropped: replayed, or older than the receive window',
    )
    return 'replayed'
  }
  if (row === null) {
    ctx.log.warn({ lockId: lock.id, commandId: reply.id }, 'reply to a command that was never sent')
    return 'unknown_command'
  }
  channelCounters(ctx.deps.metrics).replies.inc({
    type: row.type,
    outcome: reply.status === 'ok' ? 'acknowledged' : 'failed',
  })
  if (row.type === 'read_table' && reply.status === 'ok') await repairSettings(ctx, lock, reply.data)
  const command = {
    ...row.command,
    ...(row.pinEncrypted === null
      ? {}
      : { pin: secrets.decryptText(row.pinEncrypted, commandPinContext(row.id)) }),
  } as Command
  for (const handler of ctx.replyHandlers) {
    try {
      await handler({
        lockId: lock.id,
        organizationId: lock.organizationId,
        commandId: row.id,
        command,
        reply,
        counter,
      })
    } catch (error) {
      ctx.log.error({ err: error, lockId: lock.id, commandId: row.id }, 'a reply handler failed')
    }
  }
  return 'accepted'
}

/** A lock that reports another time zone than the server keeps for it gets the right one. */
async function repairSettings(ctx: ChannelContext, lock: ChannelLock, data: unknown): Promise<void> {
  const report = ZTableReport.safeParse(data)
  if (!report.success || report.data.timezone === lock.timezone) return
  ctx.log.info(
    { lockId: lock.id, reported: report.data.timezone, timezone: lock.timezone },
    'lock time zone repaired',
  )
  try {
    await ctx.send(lock.id, { type: 'configure', timezone: lock.timezone })
  } catch (error) {
    ctx.log.warn({ err: error, lockId: lock.id }, 'could not send the lock its time zone')
  }
}

/**
 * What a frame says about the lock's state (clock set, codes held), taken only if no newer frame's
 * word was taken already: two server processes may handle the lock's frames out of order, and an
 * older table report (clock unset) must not undo a newer set_time reply.
 */
const stateIfNewer = {
  clockSet: (counter: number, value: boolean) =>
    sql<boolean>`case when ${locks.stateCounter} < ${counter} then ${value}::boolean else ${locks.clockSet} end`,
  codesOnLock: (counter: number, value: number) =>
    sql<number>`case when ${locks.stateCounter} < ${counter} then ${value}::int else ${locks.codesOnLock} end`,
  taken: (counter: number) => sql<number>`greatest(${locks.stateCounter}, ${counter})`,
}

/** What a successful reply tells about the lock itself. */
async function applyReply(
  tx: Db,
  ctx: ChannelContext,
  lock: ChannelLock,
  counter: number,
  type: string,
  data: unknown,
  now: Date,
) {
  if (type === 'set_time') {
    const offsetMs = (data as { offsetMs?: unknown } | undefined)?.offsetMs
    // The lock reports the correction (server − lock); the offset is lock − server. An older sync's
    // reply handled after a newer one's leaves the newer offset.
    const newer = sql`${locks.clockCounter} < ${counter}`
    const offset = typeof offsetMs === 'number' ? -offsetMs : null
    await tx
      .update(locks)
      .set({
        clockOffsetMs: sql`case when ${newer} then ${offset}::bigint else ${locks.clockOffsetMs} end`,
        clockSyncedAt: sql`case when ${newer} then ${now}::timestamptz else ${locks.clockSyncedAt} end`,
        clockCounter: sql`greatest(${locks.clockCounter}, ${counter})`,
        clockSet: stateIfNewer.clockSet(counter, true),
        stateCounter: stateIfNewer.taken(counter),
      })
      .where(eq(locks.id, lock.id))
    return
  }
  if (type === 'ack_events') {
    const acked = (data as { ackedUpToSeq?: unknown } | undefined)?.ackedUpToSeq
    if (typeof acked === 'number' && Number.isSafeInteger(acked)) {
      await tx
        .update(locks)
        .set({ lastEventSeqAcked: sql`greatest(${locks.lastEventSeqAcked}, ${acked})` })
        .where(eq(locks.id, lock.id))
    }
    return
  }
  if (type === 'read_table') {
    const report = ZTableReport.safeParse(data)
    if (!report.success) {
      ctx.log.warn({ lockId: lock.id }, 'the lock sent a table report that does not parse')
      return
    }
    const used = report.data.codes.length
    const total = report.data.capacity
    await tx
      .update(locks)
      .set({
        codesOnLock: stateIfNewer.codesOnLock(counter, used),
        clockSet: stateIfNewer.clockSet(counter, report.data.clockMs !== null),
        stateCounter: stateIfNewer.taken(counter),
      })
      .where(eq(locks.id, lock.id))
    const low = (n: number) => total > 0 && n >= total * CAPACITY_LOW_SHARE
    if (low(used) && !low(lock.codesOnLock)) {
      await recordEvent(tx, {
        organizationId: lock.organizationId,
        type: 'lock.capacity_low',
        occurredAt: now,
        lockId: lock.id,
        gatewayId: lock.gatewayId,
        data: { lockName: lock.name, used, total },
      })
    }
  }
}

export async function handleEventBatch(
  ctx: ChannelContext,
  lock: ChannelLock,
  counter: number,
  batch: readonly LockEvent[],
  now: Date,
): Promise<MessageOutcome> {
  const { db } = ctx.deps
  const sorted = [...batch].sort((a, b) => a.seq - b.seq)
  const labels = await lookupCodeLabels(db, lock.id, sorted, {
    secrets: ctx.deps.secrets,
    deniedKey: ctx.keys.keys(lock).denied,
  })
  const actors = await lookupActors(db, lock.id, sorted)
  const rows = sorted.map((event) => lockEventRow(lock, event, labels, now, actors.get(event.seq) ?? null))
  const fresh = await storeBatch(db, lock, counter, sorted, rows, now)
  if (fresh === null) {
    ctx.log.warn(
      { lockId: lock.id, counter },
      'event batch dropped: replayed, or older than the receive window',
    )
    return 'replayed'
  }
  const last = sorted[sorted.length - 1]
  if (last !== undefined) {
    // Everything up to here is stored now (or was before): the lock may forget it. Not waited for:
    // the gateway's next message goes on while the broker takes the acknowledgement (the lock's
    // commands still leave one after the other, and the lock sends its next batch only once acked).
    ctx.send(lock.id, { type: 'ack_events', upToSeq: last.seq }).catch((error: unknown) => {
      ctx.log.warn(
        { err: error, lockId: lock.id },
        'could not acknowledge events (the lock sends them again)',
      )
    })
  }
  if (fresh.length > 0) {
    ctx.log.debug({ lockId: lock.id, count: fresh.length }, 'lock events stored')
    const ingested = channelCounters(ctx.deps.metrics).eventsIngested
    for (const event of fresh) ingested.inc({ type: event.type })
    for (const handler of ctx.eventHandlers) {
      try {
        await handler({ lockId: lock.id, organizationId: lock.organizationId, events: fresh })
      } catch (error) {
        ctx.log.error({ err: error, lockId: lock.id }, 'a lock-events handler failed')
      }
    }
  }
  return 'accepted'
}

/** Events that change what the server keeps about the lock itself (applyEvents). */
const changesLockState = (event: LockEvent) => event.type === 'power_restored' || event.type === 'clock_set'

/**
 * Takes the frame's counter and stores its events, atomically; null for a replay or a frame older
 * than the receive window, else the events newly stored (with what they owe the webhooks).
 *
 * The usual frame (a counter above every one taken, no event that changes the lock's state) is one
 * statement: the UPDATE that takes the counter guards the INSERT (`takeCounterAhead`). Any other —
 * an older frame within the window, a replay, a clock set or a power loss — goes through a
 * transaction holding the lock's row (advanceReceiveCounter).
 */
async function storeBatch(
  db: Db,
  lock: ChannelLock,
  counter: number,
  sorted: readonly LockEvent[],
  rows: NewEventRow[],
  now: Date,
): Promise<LockEvent[] | null> {
  const pick = (seqs: number[]) => {
    const stored = new Set(seqs)
    return sorted.filter((event) => stored.has(event.seq))
  }
  // As a reply's: a deadlock leaves nothing behind, and the batch is taken again at once.
  if (rows.length > 0 && !sorted.some(changesLockState)) {
    const seqs = await retryOnConflict(() =>
      appendLockEvents(db, rows, takeCounterAhead(lock.id, counter, now)),
    )
    if (seqs !== null) return pick(seqs)
  }
  return retryOnConflict(() =>
    db.transaction(async (tx) => {
      if (!(await advanceReceiveCounter(tx, lock.id, counter, now))) return null
      if (rows.length === 0) return []
      const stored = pick((await appendLockEvents(tx, rows)) ?? [])
      await applyEvents(tx, lock, counter, stored)
      return stored
    }),
  )
}

/**
 * acceptCounter's step for a counter above every one taken, as an UPDATE of the lock's row that
 * returns a row only when it took the counter (the window moves up by the distance, the last counter
 * taken goes into it). Anything else updates nothing and is left to acceptCounter.
 */
export function takeCounterAhead(lockId: string, counter: number, now: Date): SQL {
  const last = sql.identifier(locks.lastReceivedCounter.name)
  const seen = sql.identifier(locks.receivedWindow.name)
  const shift = sql`(${counter}::bigint - ${last})`
  const mask = sql.raw(String((1n << BigInt(RECEIVE_WINDOW)) - 1n))
  return sql`update ${locks} set ${last} = ${counter}::bigint,
      ${seen} = case when ${last} = 0 or ${shift} > ${sql.raw(String(RECEIVE_WINDOW))} then 0
        else ((${seen} << ${shift}::int) | (1::bigint << (${shift} - 1)::int)) & ${mask} end,
      ${sql.identifier(locks.lastSeenAt.name)} = ${now.toISOString()}::timestamptz
    where ${sql.identifier(locks.id.name)} = ${lockId} and ${last} < ${counter}::bigint
    returning ${sql.identifier(locks.id.name)}`
}

/** What newly stored events tell about the lock: whether its clock is set, and its offset. */
async function applyEvents(
  tx: Db,
  lock: ChannelLock,
  counter: number,
  stored: readonly LockEvent[],
): Promise<void> {
  let clock: { set: boolean; offsetMs?: number | null; syncedAt?: Date } | null = null
  for (const event of stored) {
    if (event.type === 'power_restored') clock = { set: false }
    if (event.type === 'clock_set' && event.at !== null) {
      // A sync the reply already reported (or a later one) is not overwritten by its older event.
      if (lock.clockSyncedAt !== null && lock.clockSyncedAt.getTime() >= event.at) {
        clock = { set: true }
      } else {
        clock = {
          set: true,
          offsetMs: event.offsetMs === null ? null : -event.offsetMs,
          syncedAt: new Date(event.at),
        }
      }
    }
  }
  if (clock === null) return
  await tx
    .update(locks)
    .set({
      clockSet: stateIfNewer.clockSet(counter, clock.set),
      stateCounter: stateIfNewer.taken(counter),
      ...(clock.offsetMs === undefined ? {} : { clockOffsetMs: clock.offsetMs }),
      ...(clock.syncedAt === undefined ? {} : { clockSyncedAt: clock.syncedAt }),
    })
    .where(eq(locks.id, lock.id))
}
