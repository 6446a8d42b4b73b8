/**
 * What the locks answer, handled in whichever server process receives it (no claim needed: every
 * change here is one conditional statement). Replies move codes to `set`, `failed` or `removed`;
 * table reports replace what is known of a lock; `unlocked` events count a code's uses.
 */
import { type AccessRule, LatchkeyError } from '@latchkey/core'
import { type LockEvent, ZTableReport } from '@latchkey/protocol'
import { and, eq, isNotNull, sql } from 'drizzle-orm'
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

export function handleReply(ctx: ReplyContext): (r: LockReply) => Promise<void> {
  return async ({ lockId, command, reply, counter }) => {
    const { db } = ctx
    const nowMs = ctx.clock.now()
    switch (command.type) {
      case 'read_table': {
        if (reply.status !== 'ok') return
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
        return
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
            return
          if (code.status !== 'setting' && code.status !== 'failed') return
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
          return
        }
        if (reply.error.code === 'lock_full' || reply.error.code === 'duplicate_code_on_lock') {
          await markStale(db, lockId, nowMs, { due: true })
        } else {
          await markDue(db, lockId, nowMs)
        }
        if (code === undefined || !isCurrent(ctx, code, command.pin, command.rule)) return
        if (code.status !== 'setting' && code.status !== 'failed') return
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
        return
      }
      case 'remove_code': {
        if (reply.status !== 'ok') {
          await markDue(db, lockId, nowMs)
          return
        }
        await recordTableChange(db, lockId, command.codeId, null, 'remove', nowMs, counter)
        const code = await codeOnLock(db, lockId, command.codeId)
        if (code === undefined || code.status !== 'removing') return
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
        return
      }
      case 'set_revocations': {
        if (reply.status !== 'ok') {
          await markDue(db, lockId, nowMs)
          return
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
        return
      }
      default:
        return
    }
  }
}

/** Successful opens, counted once (the channel hands over only newly stored events). */
export function handleLockEvents(ctx: ReplyContext): (e: StoredLockEvents) => Promise<void> {
  return async ({ lockId, events }) => {
    const { db } = ctx
    const nowMs = ctx.clock.now()
    let counted = false // whether the lock must be looked at again
    for (const event of events) {
      if (event.type === 'power_restored') await markStale(db, lockId, nowMs, { due: true })
      // The lock's clock changed: codes say whether it is set (lock_clock_not_set, lock_clock_drift).
      if (event.type === 'clock_set') counted = true
      if (event.type !== 'unlocked') continue
      const at = new Date(event.at ?? nowMs)
      const target = await usedCode(db, lockId, event)
      if (target === null) continue
      await db
        .update(accessCodes)
        .set({
          uses: sql`${accessCodes.uses} + 1`,
          firstUsedAt: sql`coalesce(${accessCodes.firstUsedAt}, ${at}::timestamptz)`,
          lastUsedAt: sql`greatest(${accessCodes.lastUsedAt}, ${at}::timestamptz)`,
        })
        .where(eq(accessCodes.id, target))
      counted = true
    }
    if (counted) await markDue(db, lockId, nowMs)
  }
}

async function usedCode(
  db: Db,
  lockId: string,
  event: Extract<LockEvent, { type: 'unlocked' }>,
): Promise<string | null> {
  if (event.codeId !== undefined) return (await codeOnLock(db, lockId, event.codeId))?.id ?? null
  if (event.offline === undefined) return null
  const [code] = await db
    .select({ id: accessCodes.id })
    .from(accessCodes)
    .where(
      and(
        eq(accessCodes.lockId, lockId),
        eq(accessCodes.delivery, 'offline'),
        eq(accessCodes.offlineH, event.offline.h),
        eq(accessCodes.startsAt, new Date(event.offline.startsAt)),
      ),
    )
  return code?.id ?? null
}
