/**
 * What the locks answer, handled in whichever server process receives it (no claim needed: every
 * change here is one conditional statement). Replies move codes to `set`, `failed` or `removed`;
 * table reports replace what is known of a lock; `unlocked` events count a code's uses.
 */
import { type AccessRule, LatchkeyError } from '@latchkey/core'
import { type LockEvent, ZTableReport } from '@latchkey/protocol'
import { and, eq, inArray, isNotNull, sql } from 'drizzle-orm'
import { offlineCodeRevocationId, ruleOf } from '../access-codes/index.ts'
import type { LockReply, StoredLockEvents } from '../devices/index.ts'
import type { Secrets } from '../secrets.ts'
import { type AccessCode, accessCodes, type CodeIssue, type Db, type ReportedCode } from '../store/index.ts'
import { canonicalRule, type TableDigest } from './digest.ts'
import { markDue, markStale, recordRevocations, recordTableChange, recordTableReport } from './lock-sync.ts'
import { applyStatus } from './pass.ts'
import { LOCK_REPLY_ISSUES, lateWarning, withoutRenewedWarnings } from './status.ts'

export interface ReplyContext {
  db: Db
  secrets: Secrets
  clock: { now(): number }
  digest: TableDigest
  delayWarningMs: number
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** The lock's answer as one of the code errors of SPEC §3. */
function issueOf(error: { code: string; message: string }): CodeIssue {
  const code = LOCK_REPLY_ISSUES.has(error.code) ? error.code : 'failed_to_set'
  return { code, message: `the lock refused the code: ${error.message}` }
}

async function codeOnLock(db: Db, lockId: string, codeId: string): Promise<AccessCode | undefined> {
  if (!UUID.test(codeId)) return undefined
  const [code] = await db
    .select()
    .from(accessCodes)
    .where(and(eq(accessCodes.id, codeId), eq(accessCodes.lockId, lockId)))
  return code
}

/** Whether the lock now holds what this row asks for (a user may have changed it since it was sent). */
function isCurrent(ctx: ReplyContext, code: AccessCode, pin: string, rule: AccessRule): boolean {
  return (
    code.deletedAt === null &&
    code.pinHash === ctx.secrets.lookupHash('pin', pin) &&
    canonicalRule(ruleOf(code)) === canonicalRule(rule)
  )
}

function lateWarnings(
  code: AccessCode,
  nowMs: number,
  delayWarningMs: number,
  removed: boolean,
): CodeIssue[] {
  const others = withoutRenewedWarnings(code.warnings)
  const since = code.pendingSince?.getTime()
  if (since === undefined || nowMs - since < delayWarningMs) return others
  return [...others, lateWarning(nowMs - since, removed)]
}

/**
 * Handles one reply; resolves whether it made the lock due for a look (every answer to a change of
 * its table does; an answer to a failed read, an unlock, a time or an acknowledgement does not).
 */
export function handleReply(ctx: ReplyContext): (r: LockReply) => Promise<boolean> {
  return async ({ lockId, command, reply, counter }) => {
    const { db } = ctx
    const nowMs = ctx.clock.now()
    switch (command.type) {
      case 'read_table': {
        if (reply.status !== 'ok') return false
        const parsed = ZTableReport.safeParse(reply.data)
        if (!parsed.success)
          throw new LatchkeyError('validation_failed', `lock ${lockId} sent a malformed table report`)
        const reported: Record<string, ReportedCode> = {}
        for (const entry of parsed.data.codes) {
          reported[entry.codeId] = { d: ctx.digest(entry.pin, entry.rule), u: entry.uses }
        }
        // An older report than a reply already taken is not taken (the table is read again).
        await recordTableReport(db, lockId, reported, parsed.data.revocations, nowMs, counter)
        // Opens the lock counted that the server missed (events lost when the ring overflowed).
        const counted = parsed.data.codes.filter((e) => UUID.test(e.codeId) && e.uses > 0)
        for (const entry of counted) {
          await db
            .update(accessCodes)
            .set({ uses: sql`greatest(${accessCodes.uses}, ${entry.uses}::int)` })
            .where(and(eq(accessCodes.id, entry.codeId), eq(accessCodes.lockId, lockId)))
        }
        return true
      }
      case 'set_code': {
        const code = await codeOnLock(db, lockId, command.codeId)
        if (reply.status === 'ok') {
          await recordTableChange(
            db,
            lockId,
            command.codeId,
            { d: ctx.digest(command.pin, command.rule), u: 0 },
            'set',
            nowMs,
            counter,
          )
          if (code === undefined || !isCurrent(ctx, code, command.pin, command.rule) || code.status === 'set')
            return true
          if (code.status !== 'setting' && code.status !== 'failed') return true
          await applyStatus(
            ctx,
            code,
            {
              status: 'set',
              errors: [],
              warnings: lateWarnings(code, nowMs, ctx.delayWarningMs, false),
              pendingSince: null,
            },
            nowMs,
            false,
          )
          return true
        }
        if (reply.error.code === 'lock_full' || reply.error.code === 'duplicate_code_on_lock') {
          await markStale(db, lockId, nowMs, { due: true })
        } else {
          await markDue(db, lockId, nowMs)
        }
        if (code === undefined || !isCurrent(ctx, code, command.pin, command.rule)) return true
        if (code.status !== 'setting' && code.status !== 'failed') return true
        await applyStatus(
          ctx,
          code,
          {
            // a full lock is waited out (the code goes on when a slot frees); other refusals need a change
            status: reply.error.code === 'lock_full' ? 'setting' : 'failed',
            errors: [issueOf(reply.error)],
            warnings: code.warnings,
            pendingSince: code.pendingSince?.getTime() ?? nowMs,
          },
          nowMs,
          false,
        )
        return true
      }
      case 'remove_code': {
        if (reply.status !== 'ok') {
          await markDue(db, lockId, nowMs)
          return true
        }
        await recordTableChange(db, lockId, command.codeId, null, 'remove', nowMs, counter)
        const code = await codeOnLock(db, lockId, command.codeId)
        if (code === undefined || code.status !== 'removing') return true
        await applyStatus(
          ctx,
          code,
          {
            status: 'removed',
            errors: [],
            warnings: lateWarnings(code, nowMs, ctx.delayWarningMs, true),
            pendingSince: null,
          },
          nowMs,
          true,
          { reason: code.deletedAt !== null ? 'deleted' : code.expiredAt !== null ? 'ended' : 'used_up' },
        )
        return true
      }
      case 'set_revocations': {
        if (reply.status !== 'ok') {
          await markDue(db, lockId, nowMs)
          return true
        }
        await recordRevocations(db, lockId, command.keyIds, nowMs, counter)
        const revoked = new Set(command.keyIds)
        const removing = await db
          .select()
          .from(accessCodes)
          .where(
            and(
              eq(accessCodes.lockId, lockId),
              eq(accessCodes.delivery, 'offline'),
              eq(accessCodes.status, 'removing'),
              isNotNull(accessCodes.deletedAt),
            ),
          )
        for (const code of removing) {
          const id = offlineCodeRevocationId(code)
          if (id === null || !revoked.has(id)) continue
          await applyStatus(
            ctx,
            code,
            { status: 'removed', errors: [], warnings: code.warnings, pendingSince: null },
            nowMs,
            true,
            { reason: 'deleted', revoked: true },
          )
        }
        return true
      }
      default:
        return false
    }
  }
}

/**
 * Successful opens, counted once (the channel hands over only newly stored events); resolves whether
 * the lock is due for a look (a use counted, its clock set, its power back).
 */
export function handleLockEvents(ctx: ReplyContext): (e: StoredLockEvents) => Promise<boolean> {
  return async ({ lockId, events }) => {
    const { db } = ctx
    const nowMs = ctx.clock.now()
    let counted = false // whether the lock must be looked at again
    let restored = false
    for (const event of events) {
      if (event.type === 'power_restored') {
        await markStale(db, lockId, nowMs, { due: true })
        restored = true
      }
      // The lock's clock changed: codes say whether it is set (lock_clock_not_set, lock_clock_drift).
      if (event.type === 'clock_set') counted = true
    }
    const opened = events.filter((e): e is Extract<LockEvent, { type: 'unlocked' }> => e.type === 'unlocked')
    // The uses of a batch are counted per code: one update per code opened, whatever the number of
    // openings (a batch of 100 events is one look-up and one update, not two statements per opening).
    for (const [codeId, uses] of await usesByCode(db, lockId, opened, nowMs)) {
      await db
        .update(accessCodes)
        .set({
          uses: sql`${accessCodes.uses} + ${uses.count}`,
          firstUsedAt: sql`coalesce(${accessCodes.firstUsedAt}, ${uses.first}::timestamptz)`,
          lastUsedAt: sql`greatest(${accessCodes.lastUsedAt}, ${uses.last}::timestamptz)`,
        })
        .where(eq(accessCodes.id, codeId))
      counted = true
    }
    if (counted) await markDue(db, lockId, nowMs)
    return counted || restored
  }
}

interface Uses {
  count: number
  first: Date
  last: Date
}

/** The codes of the lock these openings used, with how many times and when first and last. */
async function usesByCode(
  db: Db,
  lockId: string,
  opened: readonly Extract<LockEvent, { type: 'unlocked' }>[],
  nowMs: number,
): Promise<Map<string, Uses>> {
  const byCode = new Map<string, Uses>()
  if (opened.length === 0) return byCode
  const syncedIds = [
    ...new Set(opened.flatMap((e) => (e.codeId !== undefined && UUID.test(e.codeId) ? [e.codeId] : []))),
  ]
  const known = new Set(
    syncedIds.length === 0
      ? []
      : (
          await db
            .select({ id: accessCodes.id })
            .from(accessCodes)
            .where(and(eq(accessCodes.lockId, lockId), inArray(accessCodes.id, syncedIds)))
        ).map((row) => row.id),
  )
  const offline = new Map<string, string | null>()
  for (const event of opened) {
    let target: string | null = null
    if (event.codeId !== undefined) target = known.has(event.codeId) ? event.codeId : null
    else if (event.offline !== undefined) {
      const key = `${event.offline.h}:${event.offline.startsAt}`
      if (!offline.has(key)) offline.set(key, await offlineCode(db, lockId, event.offline))
      target = offline.get(key) ?? null
    }
    if (target === null) continue
    const at = new Date(event.at ?? nowMs)
    const uses = byCode.get(target)
    if (uses === undefined) byCode.set(target, { count: 1, first: at, last: at })
    else {
      uses.count += 1
      if (at < uses.first) uses.first = at
      if (at > uses.last) uses.last = at
    }
  }
  return byCode
}

async function offlineCode(
  db: Db,
  lockId: string,
  offline: { h: number; startsAt: number },
): Promise<string | null> {
  const [code] = await db
    .select({ id: accessCodes.id })
    .from(accessCodes)
    .where(
      and(
        eq(accessCodes.lockId, lockId),
        eq(accessCodes.delivery, 'offline'),
        eq(accessCodes.offlineH, offline.h),
        eq(accessCodes.startsAt, new Date(offline.startsAt)),
      ),
    )
  return code?.id ?? null
}
