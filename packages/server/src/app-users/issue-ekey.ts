/**
 * eKeys (SPEC §2, §4): a credential the app presents to the lock over the radio, signed by the
 * server (Ed25519) and checked by the lock offline — lock id, window, level, schedule and its
 * revocation list. The window is as short as the share allows: it ends at the share's end, the
 * unique code's expiry or 24 hours from now, whichever comes first. A one_time share gives one
 * one-time eKey (which spends the share). Every key is recorded, and names its share, so that the
 * share can be revoked on the lock. Asking is throttled per person and lock (EKEY_THROTTLE).
 */
import { randomUUID } from 'node:crypto'
import { type AccessRule, type Clock, LatchkeyError, nextOpening, windowEnd } from '@latchkey/core'
import { type EKeyClaims, signEKey } from '@latchkey/protocol'
import { beginAttempt, type ThrottleRule } from '../accounts/index.ts'
import { requireDriverFeature } from '../devices/index.ts'
import { recordEvent } from '../events/index.ts'
import { shareRuleOf } from '../permissions/index.ts'
import type { Secrets } from '../secrets.ts'
import type { Db } from '../store/index.ts'
import { ekeys } from '../store/index.ts'
import { findAppShare } from './app-locks.ts'
import type { AppPrincipal } from './app-sessions.ts'
import { giveBackOneTimeShare, spendOneTimeShare } from './app-unlock.ts'
import { actorOf, assertShareOpensNow } from './share-access.ts'

/** An eKey is valid at most this long. */
export const EKEY_MAX_VALIDITY_MS = 24 * 3_600_000

/**
 * eKeys one person (a unique code, or a user) may ask for one lock (accounts/throttle.ts, kept in
 * the store). A key lasts up to 24 hours, so an app needs a few a day; more only fills the records.
 */
export const EKEY_THROTTLE: ThrottleRule = { limit: 20, windowMs: 3_600_000 }

export interface IssuedEKey {
  credential: string
  keyId: string
  notBefore: Date
  notAfter: Date
}

export interface IssueEKeyDeps {
  db: Db
  secrets: Secrets
  clock: Clock
}

export async function issueEKey(
  deps: IssueEKeyDeps,
  principal: AppPrincipal,
  lockId: string,
): Promise<IssuedEKey> {
  const { db } = deps
  const nowMs = deps.clock.now()
  const now = new Date(nowMs)
  const person =
    principal.kind === 'unique_code' ? `unique_code:${principal.uniqueCodeId}` : `user:${principal.userId}`
  await beginAttempt(db, nowMs, [{ scope: 'ekey', key: `${person}:${lockId}`, rule: EKEY_THROTTLE }])
  const found = await findAppShare(db, principal, lockId)
  const { share, lock } = found
  requireDriverFeature(lock.driver, 'ekeys')
  const usage = { uses: share.usedAt === null ? 0 : 1 }
  const lockClock = { nowMs, timezone: lock.timezone, graceMs: 0 }
  let rule: AccessRule
  try {
    rule = shareRuleOf(share)
  } catch {
    rule = { kind: 'one_time', startsAt: 0, endsAt: 1 } // a stored rule that no longer reads opens nothing
  }
  // A share that opens later (within the key's 24 h) gets a key that starts then; one that never
  // opens again is refused with its reason (and the refusal recorded).
  const opening = nextOpening(rule, usage, lockClock)
  if (opening === null) {
    await assertShareOpensNow(db, nowMs, principal, found, 'app')
    throw new LatchkeyError('forbidden', 'this share does not open the lock any more')
  }
  const notBefore = rule.kind === 'recurring' ? nowMs : opening
  const ends = [nowMs + EKEY_MAX_VALIDITY_MS, windowEnd(rule, lock.timezone)]
  if (principal.kind === 'unique_code') ends.push(principal.codeExpiresAt.getTime())
  const notAfter = Math.min(...ends.filter((end): end is number => end !== null))
  if (notAfter <= Math.max(notBefore, opening)) {
    throw new LatchkeyError(
      'forbidden',
      `this share opens the lock from ${new Date(opening).toISOString()}; ask for a key within 24 hours of that`,
    )
  }
  const oneTime = share.level === 'one_time'
  if (oneTime && !(await spendOneTimeShare(db, share.id, now))) {
    throw new LatchkeyError('forbidden', 'this one-time share has already been used')
  }
  const keyId = randomUUID()
  const claims: EKeyClaims = {
    keyId,
    shareId: share.id,
    lockId: lock.id,
    level: share.level,
    notBefore,
    notAfter,
    ...(oneTime ? { oneTime: true } : {}),
    ...(rule.kind === 'recurring' && rule.schedule !== undefined ? { schedule: rule.schedule } : {}),
  }
  let credential: string
  try {
    credential = signEKey(deps.secrets.serverKeyPair.privateKeyPem, claims)
    await db.transaction(async (tx) => {
      await tx.insert(ekeys).values({
        keyId,
        organizationId: principal.organizationId,
        lockId: lock.id,
        permissionId: share.id,
        uniqueCodeId: principal.kind === 'unique_code' ? principal.uniqueCodeId : null,
        userId: principal.kind === 'user' ? principal.userId : null,
        level: share.level,
        notBefore: new Date(notBefore),
        notAfter: new Date(notAfter),
        issuedAt: now,
      })
      await recordEvent(tx, {
        organizationId: principal.organizationId,
        type: 'ekey.issued',
        occurredAt: now,
        lockId: lock.id,
        ...actorOf(principal),
        data: {
          keyId,
          permissionId: share.id,
          level: share.level,
          lockName: lock.name,
          notBefore: new Date(notBefore).toISOString(),
          notAfter: new Date(notAfter).toISOString(),
          ...(oneTime ? { oneTime: true } : {}),
        },
      })
    })
  } catch (error) {
    if (oneTime) await giveBackOneTimeShare(db, share.id, now)
    throw error
  }
  return { credential, keyId, notBefore: new Date(notBefore), notAfter: new Date(notAfter) }
}
