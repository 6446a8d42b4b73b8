/**
 * The `matter` lock driver (SPEC §12): the lock channel over the server's own Matter controller
 * (@latchkey/matter). The reconciler's commands become Door Lock cluster calls and their results the
 * same replies a Latchkey lock gives, handled by the same code (lock-up.ts), so statuses, warnings,
 * audit and diagnosis are one code path for every driver:
 * - `set_code` puts a Matter user with a PIN credential (and its schedules) at a user index of its
 *   own, remembered in `locks.matter.users` with the command that put it there (a Matter PIN cannot
 *   be read back);
 * - `remove_code` clears that user; `unlock` is UnlockDoor;
 * - `read_table` reads the users back and reports, by presence, each code whose user is still there
 *   as this server left it (same index, a PIN, the user type of its rule, last changed by this
 *   fabric): one changed or removed by anyone else is missing from the report, and the reconciler
 *   puts it back;
 * - the lock's operation events become `unlocked` / `access_denied` events with the code's id.
 * A command runs in the background, one at a time per lock, like a frame sent: its reply arrives
 * through the reply handlers. A lock is reachable while its subscription is live and it answered
 * the last command (one it did not answer, or not within `commandTimeLimitMs`, makes it unreachable
 * until the subscription speaks again); otherwise `lock_offline`. A lock takes at most
 * `commandsPerHour` commands in any hour (a battery lock that keeps failing is never asked again and
 * again: the reconciler's backoff spaces the retries, this bounds them); beyond it the lock is
 * `resting` until the oldest of that hour's commands is an hour old.
 * A lock is driven only by the controller whose fabric holds it (`locks.matter.controller`): in a
 * setup of several server processes, the one whose data directory commissioned it.
 */
import { randomUUID } from 'node:crypto'
import { type AccessRule, type DenyReason, LatchkeyError, withinTimeLimit } from '@latchkey/core'
import {
  type CommissionTarget,
  DoorLock,
  type LockActivity,
  type LockCapacity,
  MatterController,
  matterUserOf,
  userTypeOf,
} from '@latchkey/matter'
import type { Command, LockEvent, Reply, TableReport } from '@latchkey/protocol'
import { and, eq, isNull, sql } from 'drizzle-orm'
import { localTime } from '../local-time.ts'
import { stableJson } from '../stable-json.ts'
import { isUuid, lockCommands, locks, type MatterLockState } from '../store/index.ts'
import {
  type ChannelContext,
  type ChannelLock,
  type ChannelLogger,
  type LockChannelDeps,
  lockColumns,
  setLockOnline,
  silentLogger,
} from './channel-context.ts'
import {
  MATTER_COMMAND_TIME_LIMIT_MS,
  MATTER_COMMANDS_PER_HOUR,
  type MatterSettings,
} from './lazy-matter-channel.ts'
import type { LockChannel, LockEventsHandler, ReplyHandler, SendOptions } from './lock-channel.ts'
import { drivenHere } from './lock-driver.ts'
import { LockKeyCache } from './lock-keys.ts'
import { commandPinContext, handleEventBatch, handleReply, pendingCommandRow } from './lock-up.ts'
import { KeyedQueue } from './mqtt-lock-channel.ts'

const HOUR_MS = 3_600_000
/** After its time limit, a command still running holds the lock's next one back for at most this many times it. */
const SETTLE_AFTER_TIME_LIMIT = 4

export interface RunningMatterChannel extends LockChannel {
  /** Names the fabric (and so the server process) that drives this channel's locks. */
  readonly controllerId: string
  /** Commissions a lock into the server's fabric: its node id and what it holds. */
  commission(target: CommissionTarget): Promise<{ nodeId: string; capacity: LockCapacity }>
  /** Takes a lock out of the fabric (a deleted lock). */
  forget(nodeId: string): Promise<void>
  /** Resolves when every command taken so far has been answered (tests, shutdown). */
  idle(): Promise<void>
  close(): Promise<void>
}

/** A refusal of the lock, answered as a reply error (the reconciler's words for it). */
class Refused extends Error {
  readonly code: 'lock_full' | 'duplicate_code_on_lock' | 'invalid_command'
  constructor(code: Refused['code'], message: string) {
    super(message)
    this.code = code
  }
}

const matterLockColumns = { ...lockColumns, matter: locks.matter, online: locks.online }

type MatterLock = ChannelLock & { matter: MatterLockState; online: boolean }

function methodOf(source: DoorLock.OperationSource): 'keypad' | 'app' | 'remote' {
  if (source === DoorLock.OperationSource.Keypad) return 'keypad'
  if (source === DoorLock.OperationSource.Remote) return 'remote'
  return 'app'
}

function reasonOf(error: DoorLock.OperationError, codeId: string | undefined): DenyReason {
  if (codeId === undefined) return 'unknown_code'
  if (error === DoorLock.OperationError.Restricted) return 'outside_schedule'
  if (error === DoorLock.OperationError.DisabledUserDenied) return 'already_used'
  if (error === DoorLock.OperationError.InvalidCredential) return 'unknown_code'
  return 'revoked'
}

/** A command of a lock's, queued, running, or carried out a moment ago (`doneAt`, in send order). */
interface RecentCommand {
  id: string
  codeId: string | undefined
  doneAt: number | null
}

export async function startMatterChannel(options: {
  deps: LockChannelDeps
  /** The controller's fabric, keys and peers (a directory of the data directory). */
  storagePath: string
  /** The id locks commissioned here carry (`locks.matter.controller`). */
  controllerId: string
  settings?: MatterSettings
  log?: ChannelLogger
}): Promise<RunningMatterChannel> {
  const { deps, controllerId } = options
  const { db, secrets, clock } = deps
  const log = options.log ?? silentLogger
  const timeLimitMs = options.settings?.commandTimeLimitMs ?? MATTER_COMMAND_TIME_LIMIT_MS
  const perHour = options.settings?.commandsPerHour ?? MATTER_COMMANDS_PER_HOUR
  /** When each lock was sent its commands of the last hour (server clock), oldest first. */
  const sentAt = new Map<string, number[]>()
  /** Until when the lock rests (its hour's commands are spent), or null. */
  const restingUntil = (lockId: string, nowMs: number): number | null => {
    const times = (sentAt.get(lockId) ?? []).filter((t) => t > nowMs - HOUR_MS)
    sentAt.set(lockId, times)
    return times.length < perHour ? null : (times[0] as number) + HOUR_MS
  }
  const replyHandlers: ReplyHandler[] = []
  const eventHandlers: LockEventsHandler[] = []
  const queue = new KeyedQueue()
  /**
   * Per lock, by what they say, the commands queued or running (a late one included) and the codes'
   * commands the lock carried out in the last `timeLimitMs`: the same command sent again meanwhile
   * is that one, not a second on the lock's battery. The reconciler sends again what a lock out of
   * reach may have lost, and its look may have read the lock's state just before the answer came.
   * Unlocks are each asked for on their own; another command for the same code, or a table read,
   * ends the memory of what was carried out.
   */
  const recent = new Map<string, Map<string, RecentCommand>>()
  /** Orders sends and answers: a table read shows what was carried out before it was asked for. */
  let order = 0
  /** Forgets the lock's commands carried out a moment ago: those of one code, or all done before `before`. */
  const forgetDone = (lockId: string, which: { codeId: string } | { before: number }) => {
    const lockRecent = recent.get(lockId)
    if (lockRecent === undefined) return
    for (const [key, entry] of lockRecent) {
      if (entry.doneAt === null) continue
      if ('codeId' in which ? entry.codeId === which.codeId : entry.doneAt < which.before)
        lockRecent.delete(key)
    }
    if (lockRecent.size === 0) recent.delete(lockId)
  }
  let closed = false
  /** Resolves when the channel closes: a command still running after its time limit is not waited for then. */
  let closing: () => void = () => {}
  const whenClosed = new Promise<void>((resolve) => {
    closing = resolve
  })

  async function loadByNode(nodeId: string): Promise<MatterLock | undefined> {
    const [row] = await db
      .select(matterLockColumns)
      .from(locks)
      .where(
        and(
          eq(locks.driver, 'matter'),
          sql`${locks.matter}->>'nodeId' = ${nodeId}`,
          isNull(locks.deletedAt),
          drivenHere(controllerId),
        ),
      )
    return row?.matter == null ? undefined : (row as MatterLock)
  }

  async function load(lockId: string): Promise<MatterLock | undefined> {
    if (!isUuid(lockId)) return undefined
    const [row] = await db
      .select(matterLockColumns)
      .from(locks)
      .where(
        and(
          eq(locks.id, lockId),
          eq(locks.driver, 'matter'),
          isNull(locks.deletedAt),
          drivenHere(controllerId),
        ),
      )
    return row?.matter == null ? undefined : (row as MatterLock)
  }

  /** A counter for what the lock "sends up" (replies, events): the receive window takes each once. */
  async function nextCounter(lockId: string): Promise<number> {
    const [row] = await db
      .update(locks)
      .set({ commandSentCounter: sql`${locks.commandSentCounter} + 1` })
      .where(eq(locks.id, lockId))
      .returning({ counter: locks.commandSentCounter })
    if (row === undefined) throw new LatchkeyError('not_found', `no lock ${lockId}`)
    return row.counter
  }

  const ctx: ChannelContext = {
    deps,
    keys: new LockKeyCache(secrets),
    log,
    replyHandlers,
    eventHandlers,
    // What the handlers send back on their own: acknowledging events (a Matter lock keeps none to
    // acknowledge) and the time zone (a Matter lock keeps its own): nothing goes to the lock.
    send: async () => ({ commandId: randomUUID() }),
  }

  async function onActivity(nodeId: string, activity: LockActivity): Promise<void> {
    const lock = await loadByNode(nodeId)
    if (lock === undefined) return
    const codeId = Object.entries(lock.matter.users).find(([, u]) => u.userIndex === activity.userIndex)?.[0]
    const counter = await nextCounter(lock.id)
    // Matter numbers a node's events; without a number, the counter keeps each event once.
    const seq = activity.eventNumber > 0n ? Number(activity.eventNumber) : counter
    const at = clock.now()
    const event: LockEvent =
      activity.type === 'unlocked'
        ? { seq, at, type: 'unlocked', method: methodOf(activity.source), ...(codeId ? { codeId } : {}) }
        : {
            seq,
            at,
            type: 'access_denied',
            method: methodOf(activity.source),
            reason: reasonOf(activity.error, codeId),
            ...(codeId ? { codeId } : {}),
          }
    await handleEventBatch(ctx, lock, counter, [event], new Date(at))
  }

  async function onReachable(nodeId: string, reachable: boolean): Promise<void> {
    const lock = await loadByNode(nodeId)
    if (lock === undefined) return
    // Each report and keep-alive of its subscription is the lock heard from.
    if (reachable)
      await db
        .update(locks)
        .set({ lastSeenAt: new Date(clock.now()) })
        .where(eq(locks.id, lock.id))
    await setLockOnline(
      db,
      lock.id,
      reachable,
      new Date(clock.now()),
      reachable ? 'subscribed' : 'subscription_lost',
    )
  }

  const controller = await MatterController.start({
    storagePath: options.storagePath,
    networkInterface: options.settings?.networkInterface,
    events: {
      reachable: (nodeId, reachable) =>
        void queue
          .run(`node:${nodeId}`, () => onReachable(nodeId, reachable))
          .catch((error) =>
            log.warn({ err: error, nodeId }, 'recording a Matter lock reachable or not failed'),
          ),
      activity: (nodeId, activity) =>
        void queue
          .run(`node:${nodeId}`, () => onActivity(nodeId, activity))
          .catch((error) => log.error({ err: error, nodeId }, 'storing a Matter lock event failed')),
    },
  })

  async function setMatterUsers(lockId: string, users: MatterLockState['users']): Promise<void> {
    await db
      .update(locks)
      .set({ matter: sql`jsonb_set(${locks.matter}, '{users}', ${JSON.stringify(users)}::jsonb)` })
      .where(eq(locks.id, lockId))
  }

  /** The set_code command that put a code on the lock, with its PIN (null once pruned). */
  async function commandOf(commandId: string): Promise<{ pin: string; rule: AccessRule } | null> {
    const [row] = await db.select().from(lockCommands).where(eq(lockCommands.id, commandId))
    if (row === undefined || row.pinEncrypted === null) return null
    const rule = (row.command as { rule?: AccessRule }).rule
    if (rule === undefined) return null
    return { pin: secrets.decryptText(row.pinEncrypted, commandPinContext(row.id)), rule }
  }

  async function execute(lock: MatterLock, commandId: string, command: Command): Promise<unknown> {
    const { nodeId } = lock.matter
    const users = { ...lock.matter.users }
    switch (command.type) {
      case 'set_code': {
        const capacity = await controller.capacity(nodeId)
        const onLock = await controller.users(nodeId)
        const ours = controller.fabricIndexOn(nodeId)
        const taken = new Set(onLock.map((u) => u.userIndex))
        const mine = users[command.codeId]?.userIndex
        // Its own index again, unless someone else's user sits there now.
        const reusable =
          mine !== undefined &&
          (!taken.has(mine) || onLock.find((u) => u.userIndex === mine)?.creatorFabricIndex === ours)
        let userIndex = reusable ? mine : undefined
        if (userIndex === undefined) {
          const claimed = new Set(Object.values(users).map((u) => u.userIndex))
          for (let i = 1; i <= Math.min(capacity.users, capacity.pinUsers || capacity.users); i++) {
            if (!taken.has(i) && !claimed.has(i)) {
              userIndex = i
              break
            }
          }
        }
        if (userIndex === undefined) throw new Refused('lock_full', 'every user slot of the lock is taken')
        const outcome = await controller.putUser(
          nodeId,
          matterUserOf({
            userIndex,
            userUniqueId: userIndex,
            name: `latchkey${userIndex}`,
            pin: command.pin,
            rule: command.rule,
            timezone: lock.timezone,
          }),
        )
        if (outcome === 'duplicate')
          throw new Refused('duplicate_code_on_lock', 'the lock holds this PIN for another user already')
        if (outcome === 'full') throw new Refused('lock_full', 'the lock has no room for the PIN')
        users[command.codeId] = { userIndex, commandId }
        await setMatterUsers(lock.id, users)
        return undefined
      }
      case 'remove_code': {
        const held = users[command.codeId]
        if (held !== undefined) {
          await controller.clearUser(nodeId, held.userIndex)
          delete users[command.codeId]
          await setMatterUsers(lock.id, users)
        }
        return undefined
      }
      case 'read_table': {
        const capacity = await controller.capacity(nodeId)
        const onLock = new Map((await controller.users(nodeId)).map((u) => [u.userIndex, u]))
        const ours = controller.fabricIndexOn(nodeId)
        const codes: TableReport['codes'] = []
        for (const [codeId, held] of Object.entries(users)) {
          const user = onLock.get(held.userIndex)
          const sent = await commandOf(held.commandId)
          if (user === undefined || sent === null || user.pins.length === 0) continue
          // Changed since by another fabric, or at the lock itself (when the lock says whose change it was).
          if (ours !== null && user.lastModifiedFabricIndex !== ours) continue
          if (user.userType !== userTypeOf(sent.rule)) continue
          // Uses are the server's count from the lock's events (SPEC §12), not the user's status: a
          // disposable user disabled by its use is reported before its event may be counted.
          codes.push({ codeId, pin: sent.pin, rule: sent.rule, uses: 0 })
        }
        const report: TableReport = {
          capacity: capacity.users,
          codes,
          ledgerUsed: 0,
          ledgerCapacity: 0,
          revocations: [],
          // A Matter lock keeps its own time; the server does not set it.
          clockMs: clock.now(),
          timezone: lock.timezone,
        }
        return report
      }
      case 'unlock':
        await controller.unlock(nodeId)
        return undefined
      case 'set_time':
        throw new Refused('invalid_command', 'a Matter lock keeps its own time')
      default:
        // configure, ack_events, set_revocations: nothing of it lives on a Matter lock
        return undefined
    }
  }

  /** The lock's answer to `work` within `limitMs`, or why there was none. */
  async function answerOf(
    commandId: string,
    work: Promise<unknown>,
    limitMs: number,
  ): Promise<{ reply: Reply } | { error: unknown }> {
    try {
      const data = await withinTimeLimit(work, limitMs, `no answer within ${limitMs / 1000} s`)
      return {
        reply: { kind: 'reply', id: commandId, status: 'ok', ...(data === undefined ? {} : { data }) },
      }
    } catch (error) {
      if (!(error instanceof Refused)) return { error }
      return {
        reply: {
          kind: 'reply',
          id: commandId,
          status: 'error',
          error: { code: error.code, message: error.message },
        },
      }
    }
  }

  /** Carries out the command on the lock; resolves whether the lock carried it out. */
  async function run(lockId: string, commandId: string, counter: number, command: Command): Promise<boolean> {
    const lock = await load(lockId)
    if (lock === undefined) return false
    const work = execute(lock, commandId, command)
    let answer = await answerOf(commandId, work, timeLimitMs)
    if ('error' in answer) {
      // Not answered, as a frame lost on the way: the lock counts as unreachable until its
      // subscription speaks again, and the reconciler sends again what it still wants.
      log.warn({ err: answer.error, lockId, commandId }, `the Matter lock did not carry out ${command.type}`)
      await setLockOnline(db, lockId, false, new Date(clock.now()), 'no_answer')
      // A slow lock may still carry it out, and its late answer counts. The lock's next command waits
      // until then (a while longer at most): two never choose a user slot from the same picture of it.
      const late = await Promise.race([
        answerOf(commandId, work, SETTLE_AFTER_TIME_LIMIT * timeLimitMs),
        whenClosed.then(() => ({ error: 'closed' })),
      ])
      if ('error' in late) return false
      answer = late
    }
    await handleReply(ctx, lock, counter, answer.reply, new Date(clock.now()))
    return answer.reply.status === 'ok'
  }

  async function send(lockId: string, command: Command, sendOptions: SendOptions = {}) {
    if (closed) throw new LatchkeyError('service_unavailable', 'the server is shutting down')
    const lock = await load(lockId)
    if (lock === undefined) throw new LatchkeyError('not_found', `no lock ${lockId}`)
    if (!lock.online || !controller.isReachable(lock.matter.nodeId))
      throw new LatchkeyError('lock_offline', 'the Matter lock cannot be reached')
    const key = command.type === 'unlock' ? undefined : stableJson(command)
    const codeId = 'codeId' in command ? command.codeId : undefined
    const lockRecent = recent.get(lockId) ?? new Map<string, RecentCommand>()
    const same = key === undefined ? undefined : lockRecent.get(key)
    if (same !== undefined) return { commandId: same.id }
    if (codeId !== undefined) forgetDone(lockId, { codeId })
    const nowMs = clock.now()
    const rests = restingUntil(lockId, nowMs)
    if (rests !== null)
      throw new LatchkeyError(
        'lock_offline',
        `the Matter lock has had its ${perHour} commands of the last hour (the server spares its battery): it takes the next at ${localTime(rests, lock.timezone)}`,
      )
    sentAt.get(lockId)?.push(nowMs)
    const id = randomUUID()
    // Known from here on, before the writes below: the same command sent meanwhile is this one.
    const entry: RecentCommand = { id, codeId, doneAt: null }
    const askedAt = ++order
    if (key !== undefined) recent.set(lockId, lockRecent.set(key, entry))
    const forget = () => {
      if (key === undefined || lockRecent.get(key) !== entry) return
      lockRecent.delete(key)
      if (lockRecent.size === 0 && recent.get(lockId) === lockRecent) recent.delete(lockId)
    }
    const finished = (carriedOut: boolean) => {
      // A table read tells what the lock holds now (a PIN changed at the lock): what it carried out
      // before the read was asked for is sent again if still wanted. A read or a setting asked for
      // again is asked anew.
      if (carriedOut && command.type === 'read_table') forgetDone(lockId, { before: askedAt })
      if (!carriedOut || closed || codeId === undefined) return forget()
      entry.doneAt = ++order
      setTimeout(forget, timeLimitMs).unref()
    }
    let counter: number
    try {
      counter = await nextCounter(lockId)
      await db.insert(lockCommands).values(
        pendingCommandRow(secrets, command, {
          id,
          organizationId: lock.organizationId,
          lockId,
          counter,
          requestedBy: sendOptions.requestedBy,
          sentAtMs: clock.now(),
        }),
      )
    } catch (error) {
      forget()
      throw error
    }
    void queue
      .run(lockId, () => run(lockId, id, counter, command))
      .then(finished, (error) => {
        log.error({ err: error, lockId, commandId: id }, 'a Matter command failed')
        forget()
      })
    return { commandId: id }
  }

  return {
    send,
    onReply: (handler) => {
      replyHandlers.push(handler)
    },
    onLockEvents: (handler) => {
      eventHandlers.push(handler)
    },
    controllerId,
    async reachable(lockId) {
      const lock = await load(lockId)
      return (
        lock?.online === true &&
        controller.isReachable(lock.matter.nodeId) &&
        restingUntil(lockId, clock.now()) === null
      )
    },
    resting: async (lockId) => restingUntil(lockId, clock.now()) !== null,
    async commission(target) {
      const { nodeId } = await controller.commission(target)
      return { nodeId, capacity: await controller.capacity(nodeId) }
    },
    forget: (nodeId) => controller.forget(nodeId),
    idle: () => queue.idle(),
    async close() {
      if (closed) return
      closed = true
      closing()
      await queue.idle()
      await controller.close()
    },
  }
}
