/**
 * For the server's own tests, which may not run the lock firmware: a LockChannel whose locks keep a
 * code table by the same rules as the lock (capacity, one PIN per entry, replace keeps uses,
 * removing an unknown code is fine) and answer with the same replies. Commands wait in a queue until
 * `deliver()`, so a test sees what is in flight; an unreachable lock loses what is sent to it.
 * The end-to-end suites under test/ run the real lock instead, and test/table-lock-double.test.ts
 * checks this double against the lock firmware with the same random command sequences.
 */
import { randomUUID } from 'node:crypto'
import type { AccessRule } from '@latchkey/core'
import type { Command, LockEvent, Reply, TableEntry } from '@latchkey/protocol'
import { eq } from 'drizzle-orm'
import type { LockChannel, LockEventsHandler, ReplyHandler } from '../devices/lock-channel.ts'
import type { Db } from '../store/open-store.ts'
import { locks } from '../store/schema.ts'

export interface TableLock {
  organizationId: string
  capacity: number
  reachable: boolean
  /** Answers nothing (the radio drops every frame) while reachable says yes. */
  silent: boolean
  codes: TableEntry[]
  revocations: string[]
  seq: number
  /** Counter of the lock's last frame (each reply takes the next). */
  counter: number
}

interface Queued {
  lockId: string
  commandId: string
  command: Command
}

export class TableLockChannel implements LockChannel {
  /** With a store, reachability is also written where the server reads it (locks.online). */
  readonly #db: Db | undefined

  constructor(db?: Db) {
    this.#db = db
  }

  readonly locks = new Map<string, TableLock>()
  /** Every command sent, in order (PINs included), for assertions. */
  readonly sent: { lockId: string; command: Command }[] = []
  #queue: Queued[] = []
  #replyHandlers: ReplyHandler[] = []
  #eventHandlers: LockEventsHandler[] = []

  addLock(lockId: string, organizationId: string, capacity: number, codes: TableEntry[] = []): TableLock {
    const lock: TableLock = {
      organizationId,
      capacity,
      reachable: true,
      silent: false,
      codes,
      revocations: [],
      seq: 0,
      counter: 0,
    }
    this.locks.set(lockId, lock)
    return lock
  }

  /** Puts the lock in or out of reach (its gateway's link or its radio). */
  async setReachable(lockId: string, reachable: boolean): Promise<void> {
    this.lock(lockId).reachable = reachable
    if (this.#db !== undefined)
      await this.#db.update(locks).set({ online: reachable }).where(eq(locks.id, lockId))
  }

  lock(lockId: string): TableLock {
    const lock = this.locks.get(lockId)
    if (lock === undefined) throw new Error(`no lock ${lockId} in the test channel`)
    return lock
  }

  async send(lockId: string, command: Command): Promise<{ commandId: string }> {
    const commandId = randomUUID()
    this.sent.push({ lockId, command })
    const lock = this.locks.get(lockId)
    if (lock?.reachable && !lock.silent) this.#queue.push({ lockId, commandId, command })
    return { commandId }
  }

  onReply(handler: ReplyHandler): void {
    this.#replyHandlers.push(handler)
  }

  onLockEvents(handler: LockEventsHandler): void {
    this.#eventHandlers.push(handler)
  }

  async reachable(lockId: string): Promise<boolean> {
    return this.locks.get(lockId)?.reachable ?? false
  }

  /** Commands sent and not yet delivered. */
  get inFlight(): readonly Queued[] {
    return this.#queue
  }

  /**
   * Delivers the queued commands in order and hands each reply to the handlers; returns how many.
   * With `repliesReversed`, the locks answer in order but the replies are handled last first, as
   * when two server processes each take some of them. With `repliesLost`, the locks carry the
   * commands out but no reply reaches the server (it arrived while the database was down).
   */
  async deliver(options: { repliesReversed?: boolean; repliesLost?: boolean } = {}): Promise<number> {
    const queue = this.#queue
    this.#queue = []
    const replies = queue.map(({ lockId, commandId, command }) => {
      const lock = this.lock(lockId)
      const reply = execute(lock, commandId, command)
      lock.counter += 1
      return { lockId, organizationId: lock.organizationId, commandId, command, reply, counter: lock.counter }
    })
    if (options.repliesReversed) replies.reverse()
    if (options.repliesLost) return queue.length
    for (const reply of replies) {
      for (const handler of this.#replyHandlers) await handler(reply)
    }
    return queue.length
  }

  /** The lock's keypad opened for a code: the lock counts the use and the event reaches the server. */
  async keypadUnlock(lockId: string, codeId: string, atMs: number): Promise<void> {
    const lock = this.lock(lockId)
    const entry = lock.codes.find((c) => c.codeId === codeId)
    if (entry !== undefined) entry.uses += 1
    await this.emit(lockId, [{ seq: ++lock.seq, at: atMs, type: 'unlocked', method: 'keypad', codeId }])
  }

  async emit(lockId: string, events: LockEvent[]): Promise<void> {
    const lock = this.lock(lockId)
    for (const handler of this.#eventHandlers)
      await handler({ lockId, organizationId: lock.organizationId, events })
  }
}

const ok = (id: string, data?: unknown): Reply => ({
  kind: 'reply',
  id,
  status: 'ok',
  ...(data === undefined ? {} : { data }),
})
const fail = (id: string, code: 'lock_full' | 'duplicate_code_on_lock', message: string): Reply => ({
  kind: 'reply',
  id,
  status: 'error',
  error: { code, message },
})

const cleanRule = (rule: AccessRule): AccessRule => JSON.parse(JSON.stringify(rule)) as AccessRule

function execute(lock: TableLock, id: string, command: Command): Reply {
  switch (command.type) {
    case 'set_code': {
      const clash = lock.codes.find((c) => c.codeId !== command.codeId && c.pin === command.pin)
      if (clash) return fail(id, 'duplicate_code_on_lock', `this PIN is already used by code ${clash.codeId}`)
      const existing = lock.codes.find((c) => c.codeId === command.codeId)
      if (existing) {
        existing.pin = command.pin
        existing.rule = cleanRule(command.rule)
        return ok(id, { replaced: true })
      }
      if (lock.codes.length >= lock.capacity)
        return fail(id, 'lock_full', `the code table is full (${lock.capacity} codes)`)
      lock.codes.push({ codeId: command.codeId, pin: command.pin, rule: cleanRule(command.rule), uses: 0 })
      return ok(id, { replaced: false })
    }
    case 'remove_code': {
      const before = lock.codes.length
      lock.codes = lock.codes.filter((c) => c.codeId !== command.codeId)
      return ok(id, { removed: lock.codes.length < before })
    }
    case 'read_table':
      return ok(id, {
        capacity: lock.capacity,
        codes: lock.codes.map((c) => ({ ...c })),
        ledgerUsed: 0,
        ledgerCapacity: 16,
        revocations: [...lock.revocations],
        clockMs: null,
        timezone: 'UTC',
      })
    case 'set_revocations':
      lock.revocations = [...command.keyIds]
      return ok(id, { count: command.keyIds.length })
    default:
      return ok(id)
  }
}
