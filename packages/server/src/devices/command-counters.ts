/**
 * Counters of the sealed commands to each lock (SPEC §2), reserved durably before use, as matter.js
 * `PersistedMessageCounter` does: a process reserves a block of counters ahead for a lock in a
 * statement of its own that commits at once (`locks.command_counter` += BLOCK), then hands them out
 * from memory. A counter leaves memory before its frame is sealed, so whatever happens to the
 * transaction that records the command (a lost commit, a crash, a failover), no counter is ever
 * sealed twice — the AES-GCM nonce is `direction ‖ counter`. A restart, or another server process,
 * reserves its own block after every block reserved so far; the counters skipped are harmless, since
 * the lock takes any counter above the last it accepted.
 *
 * Order: the lock refuses a counter at or below the last it took, so frames must reach it in counter
 * order even when several processes send to it. Sending holds the lock's row (`for update`) until the
 * frame is at the broker, and `locks.command_sent_counter` says the highest counter published; a
 * process whose block lies below it takes a fresh block (`take`).
 */
import { LatchkeyError } from '@latchkey/core'
import { eq, sql } from 'drizzle-orm'
import type { Db } from '../store/index.ts'
import { locks } from '../store/index.ts'

/** Counters reserved at once; a restart skips at most this many. */
export const COUNTER_BLOCK = 100

interface Block {
  /** The next counter to hand out. */
  next: number
  /** The last counter of the block. */
  end: number
}

export class CommandCounters {
  readonly #blocks = new Map<string, Block>()
  readonly #db: Db
  readonly #blockSize: number

  constructor(db: Db, blockSize = COUNTER_BLOCK) {
    this.#db = db
    this.#blockSize = blockSize
  }

  /** Reserves a new block for the lock, committed before it returns (autocommit statement). */
  async reserve(lockId: string): Promise<void> {
    const [row] = await this.#db
      .update(locks)
      .set({ commandCounter: sql`${locks.commandCounter} + ${this.#blockSize}` })
      .where(eq(locks.id, lockId))
      .returning({ end: locks.commandCounter })
    if (row === undefined) throw new LatchkeyError('not_found', `no lock ${lockId}`)
    this.#blocks.set(lockId, { next: row.end - this.#blockSize + 1, end: row.end })
  }

  /**
   * The counter for the next frame, above `sentCounter` (the highest published, read under the lock's
   * row lock), taken out of memory at once; null when this process holds no block above it: then
   * `reserve` and ask again.
   */
  take(lockId: string, sentCounter: number): number | null {
    const block = this.#blocks.get(lockId)
    if (block === undefined) return null
    const counter = Math.max(block.next, sentCounter + 1)
    if (counter > block.end) {
      this.#blocks.delete(lockId)
      return null
    }
    block.next = counter + 1
    return counter
  }

  /** Whether a block is held for the lock (no need to reserve before the next send). */
  holds(lockId: string): boolean {
    const block = this.#blocks.get(lockId)
    return block !== undefined && block.next <= block.end
  }
}
