/**
 * The server's side of the sealed channel to each lock (SPEC §2, §5). Commands are sealed with the
 * lock's command key and a counter from a block reserved and committed beforehand
 * (devices/command-counters.ts: never sealed twice, even across server processes and crashes),
 * recorded in `lock_commands`, and
 * published on the lock's `lockDown` topic through its gateway. What the lock sends up (replies and
 * event batches) is authenticated, checked against `locks.last_received_counter` and handed to the
 * handlers registered here, in whichever server process received it.
 */
import { LatchkeyError } from '@latchkey/core'
import type { Command, LockEvent, Reply } from '@latchkey/protocol'

export interface LockReply {
  lockId: string
  organizationId: string
  /** The id of the `lock_commands` row (and of the envelope the lock echoed). */
  commandId: string
  /** The command as it was sent (with its PIN, for set_code). */
  command: Command
  reply: Reply
  /**
   * The counter of the lock's reply frame. The lock answers in counter order, but two server processes
   * may handle its replies in another order: what a reply says about the lock's state is taken only
   * over what an older frame said.
   */
  counter: number
}

export interface StoredLockEvents {
  lockId: string
  organizationId: string
  /** Only the events stored just now (not those that were already stored), in seq order. */
  events: LockEvent[]
}

/**
 * A remote unlock carries `notAfter` = sent + this: the lock refuses it later (and with its clock unset),
 * so a gateway that holds the frame back cannot open the door when it likes.
 */
export const UNLOCK_TTL_MS = 30_000

export interface SendOptions {
  /** Who asked (a remote unlock): the lock's `unlocked` event is attributed to them. */
  requestedBy?: { userId?: string; uniqueCodeId?: string }
}

export type ReplyHandler = (reply: LockReply) => Promise<void>
export type LockEventsHandler = (stored: StoredLockEvents) => Promise<void>

export interface LockChannel {
  /**
   * Seals `command` for the lock (under a counter reserved durably before, above every one sent to
   * it), records it in `lock_commands` and publishes it on the lock's `lockDown` topic.
   * Throws LatchkeyError `lock_offline` when the lock has no gateway, `not_found` when there is no
   * such lock. Does not wait for the reply.
   */
  send(lockId: string, command: Command, options?: SendOptions): Promise<{ commandId: string }>
  /** Called for every authenticated reply, with the command it answers. */
  onReply(handler: ReplyHandler): void
  /** Called after lock events were stored (only the newly stored ones, in seq order). */
  onLockEvents(handler: LockEventsHandler): void
  /**
   * Called when the channel is connected again after it lost its broker, with when it lost it (the
   * server's clock): a command sent or an answer on its way meanwhile may be lost (a broker restart
   * drops what it held for the server's clean session). A channel that never loses one has none.
   */
  onReconnected?(handler: (lostAtMs: number) => void): void
  /** Gateway online and lock in range, as last reported. */
  reachable(lockId: string): Promise<boolean>
  /** The lock has taken its commands of this hour and rests (a driver that bounds them: matter). */
  resting?(lockId: string): Promise<boolean>
  /** Another server process drives the lock (a Matter lock of another process's fabric). */
  drivenElsewhere?(lockId: string): Promise<boolean>
}

/**
 * A channel with no broker behind it (an application built without MQTT, e.g. in route tests):
 * nothing is reachable and nothing can be sent.
 */
export function disconnectedChannel(): LockChannel {
  return {
    send: async (lockId) => {
      throw new LatchkeyError(
        'lock_offline',
        `lock ${lockId} cannot be reached: the server has no MQTT broker`,
      )
    },
    onReply: () => {},
    onLockEvents: () => {},
    reachable: async () => false,
  }
}
