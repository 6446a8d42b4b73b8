/** Settings of the reconciler; every time is on the server's Clock except `tickMs`. */
import type { Db } from '../store/index.ts'

export interface BackoffOptions {
  /** Wait after the first unacknowledged attempt. */
  baseMs: number
  /** The wait doubles per attempt up to this. */
  maxMs: number
}

export interface ReconcilerOptions {
  /** How often (real time) this process looks for locks that are due. Default 1 s. */
  tickMs?: number
  /** Just-in-time lead; default the organization's `syncLeadHours` (24 h). */
  leadMs?: number
  /** A command without a reply after this long counts as lost. Default 30 s. */
  commandTimeoutMs?: number
  /** Retries of a command that was lost or refused. Default 5 s doubling up to 10 min. */
  backoff?: Partial<BackoffOptions>
  /** After this many unacknowledged attempts a code is `failed` with `failed_to_set` (and retried still). Default 5. */
  maxAttempts?: number
  /** Waiting this long for an unreachable lock adds `delay_in_setting_on_lock`. Default 10 min. */
  delayWarningMs?: number
  /** The lock is asked for its whole table at least this often. Default 6 h. */
  refreshMs?: number
  /**
   * A lock with work waiting that cannot be reached is looked at again this often (default 60 s); a
   * lock coming back in reach is noticed at the next tick anyway (followLinks).
   */
  unreachableRecheckMs?: number
  /** How long a used-up code stays on the lock after its last use (so it answers `already_used`). Default 24 h. */
  usedUpRetentionMs?: number
  /**
   * The lease on a lock while this process works on it (a look takes well under a second; a process
   * that dies in the middle of one leaves the lock to the others when it runs out). Default 5 s.
   */
  claimTtlMs?: number
  /** Locks looked at per tick. Default 25. */
  batchSize?: number
  /**
   * This process alone works on the store (PGlite: one process owns its data directory), so what it
   * finds at start was left by a run that was killed: its claims are given back at once instead of
   * running out, and its commands in flight are sent again at once instead of after the command
   * timeout (their replies, if any, went to a broker that is gone; every table is read again anyway).
   */
  soleProcess?: boolean
  /** Names this process in `locks.claimed_by`; default host, pid and a random suffix. */
  processId?: string
  /**
   * Revocation ids (eKey key ids) the lock must hold besides those of deleted offline codes. Without
   * it, ids the lock holds that are not offline codes are left as they are.
   */
  revocations?: (db: Db, lockId: string, nowMs: number) => Promise<string[]>
  /** The fabric whose Matter locks this process drives (`locks.matter.controller`); without one it claims no Matter lock. */
  matterController?: string
  /** No timer and no wake-ups: the caller drives `runOnce()` (tests). */
  manual?: boolean
  /** Errors of a look at one lock (the reconciler carries on). */
  onError?: (error: unknown, lockId: string | null) => void
}

export type ResolvedOptions = Required<
  Omit<ReconcilerOptions, 'leadMs' | 'revocations' | 'backoff' | 'onError' | 'matterController'>
> &
  Pick<ReconcilerOptions, 'leadMs' | 'revocations' | 'matterController'> & {
    backoff: BackoffOptions
    onError: (error: unknown, lockId: string | null) => void
  }

const MINUTE = 60_000
const HOUR = 60 * MINUTE

export function resolveOptions(options: ReconcilerOptions, processId: string): ResolvedOptions {
  return {
    tickMs: options.tickMs ?? 1000,
    leadMs: options.leadMs,
    commandTimeoutMs: options.commandTimeoutMs ?? 30_000,
    backoff: { baseMs: options.backoff?.baseMs ?? 5000, maxMs: options.backoff?.maxMs ?? 10 * MINUTE },
    maxAttempts: options.maxAttempts ?? 5,
    delayWarningMs: options.delayWarningMs ?? 10 * MINUTE,
    refreshMs: options.refreshMs ?? 6 * HOUR,
    unreachableRecheckMs: options.unreachableRecheckMs ?? 60_000,
    usedUpRetentionMs: options.usedUpRetentionMs ?? 24 * HOUR,
    claimTtlMs: options.claimTtlMs ?? 5_000,
    batchSize: options.batchSize ?? 25,
    soleProcess: options.soleProcess ?? false,
    processId: options.processId ?? processId,
    revocations: options.revocations,
    matterController: options.matterController,
    manual: options.manual ?? false,
    onError: options.onError ?? (() => {}),
  }
}

/** When a command sent `attempts` times, last at `atMs`, may be sent again. */
export function retryAt(
  options: Pick<ResolvedOptions, 'backoff' | 'commandTimeoutMs'>,
  atMs: number,
  attempts: number,
): number {
  const backoff = Math.min(
    options.backoff.maxMs,
    options.backoff.baseMs * 2 ** Math.max(0, Math.min(30, attempts - 1)),
  )
  return atMs + Math.max(options.commandTimeoutMs, backoff)
}
