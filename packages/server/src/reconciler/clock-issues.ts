/**
 * What the lock's clock means for a code (SPEC §3, §5): a time-bound code is refused while the
 * lock's clock is unset (after a power loss, until a gateway sets it), and a clock found far off at
 * its last sync may judge the edges of a window differently.
 */
import { type AccessRule, DEFAULT_GRACE_MS } from '@latchkey/core'
import type { CodeIssue, Lock } from '../store/index.ts'

export const CLOCK_ISSUE_CODES = new Set(['lock_clock_not_set', 'lock_clock_drift'])

/** Whether the lock needs its clock to let this code in. */
export function needsClock(rule: AccessRule, offline: { uses: number } | null): boolean {
  if (offline !== null) {
    // An offline code is found by its start hour: the first use needs the time; a permanent one
    // the lock has already taken in opens without it.
    return !(rule.kind === 'permanent' && offline.uses > 0)
  }
  return !(
    rule.kind === 'permanent' ||
    (rule.kind === 'one_time' && rule.startsAt === undefined && rule.endsAt === undefined)
  )
}

export function clockIssues(
  lock: Pick<Lock, 'lastSeenAt' | 'clockSet' | 'clockOffsetMs'>,
  timeBound: boolean,
): { errors: CodeIssue[]; warnings: CodeIssue[] } {
  if (!timeBound || lock.lastSeenAt === null) return { errors: [], warnings: [] }
  if (!lock.clockSet) {
    return {
      errors: [
        {
          code: 'lock_clock_not_set',
          message:
            'the lock’s clock is not set (it lost power?): the lock refuses this code until a gateway sets its clock',
        },
      ],
      warnings: [],
    }
  }
  const offset = Math.abs(lock.clockOffsetMs ?? 0)
  if (offset <= DEFAULT_GRACE_MS) return { errors: [], warnings: [] }
  return {
    errors: [],
    warnings: [
      {
        code: 'lock_clock_drift',
        message: `the lock’s clock was ${Math.round(offset / 1000)} s off when last synced: near the start or end of its window the lock may judge the time differently`,
      },
    ],
  }
}

export const withoutClockIssues = (issues: readonly CodeIssue[]): CodeIssue[] =>
  issues.filter((i) => !CLOCK_ISSUE_CODES.has(i.code))
