/**
 * A stay's code (SPEC §11): one PIN on every lock of the property, an ordinary timed access code per
 * lock linked to the stay (so capacity planning, the reconciler and the diagnosis treat it like any
 * other). The PIN is chosen under the PIN locks of all those locks at once (taken in a fixed order),
 * so it is free on each of them and no other code, stay or not, can take it meanwhile.
 */
import { type AccessRule, generatePin, weakPinReason } from '@latchkey/core'
import { and, asc, eq, gte, isNull, or } from 'drizzle-orm'
import {
  type Actor,
  type Deps,
  deleteAccessCode,
  findLock,
  livePins,
  syncedRow,
  updateAccessCode,
  withPinLocks,
} from '../access-codes/index.ts'
import { recordCodeEvent } from '../events/index.ts'
import { lookSoonAfterCommit, markDue } from '../reconciler/index.ts'
import {
  type AccessCode,
  accessCodes,
  type Lock,
  type Property,
  type Stay,
  type StayCodeSource,
} from '../store/index.ts'

export interface ChosenPin {
  pin: string
  source: StayCodeSource
  /** Why phone_last4 was not used, when it was asked for. */
  note: string | null
}

/** The phone's last 4 digits, or null when it has fewer. */
export function phoneLast4(phone: string | null | undefined): string | null {
  const digits = (phone ?? '').replace(/\D/g, '')
  return digits.length >= 4 ? digits.slice(-4) : null
}

/** The PIN: the phone's last 4 digits when asked for and free on every lock, else a random one. */
export function choosePin(property: Property, phone: string | null, taken: ReadonlySet<string>): ChosenPin {
  let note: string | null = null
  if (property.codeStrategy === 'phone_last4') {
    const last4 = phoneLast4(phone)
    if (last4 === null) note = 'the stay has no phone number with 4 digits, so the code is random'
    else if (weakPinReason(last4) !== null)
      note = `the phone’s last 4 digits (${last4}) make a PIN too easy to guess, so the code is random`
    else if (taken.has(last4))
      note = `the phone’s last 4 digits (${last4}) are already a live code on one of the property’s locks, so the code is random`
    else return { pin: last4, source: 'phone_last4', note: null }
  }
  return { pin: generatePin(property.codeLength, taken), source: 'random', note }
}

export const stayCodeName = (guestName: string) => `Stay – ${guestName}`

/**
 * Puts the stay's PIN on every lock of the property (codes `scheduled` or `setting`, synced just in
 * time by the reconciler). Runs inside the transaction that stores the stay when `db` is one.
 */
export async function issueStayCodes(
  deps: Deps,
  actor: Actor,
  property: Property,
  stay: { id: string; guestName: string; phone: string | null },
  window: { startsAt: number; endsAt: number },
  nowMs: number,
): Promise<ChosenPin> {
  const locks: Lock[] = []
  for (const lockId of property.lockIds) locks.push(await findLock(deps.db, actor.organizationId, lockId))
  const rule: AccessRule = { kind: 'timed', startsAt: window.startsAt, endsAt: window.endsAt }
  const chosen = await withPinLocks(deps.db, property.lockIds, async (db) => {
    const inTx = { ...deps, db }
    const taken = new Set<string>()
    for (const lock of locks)
      for (const pin of await livePins(db, deps.secrets, lock.id, nowMs)) taken.add(pin)
    const chosen = choosePin(property, stay.phone, taken)
    for (const lock of locks) {
      const row = await syncedRow(inTx, lock, rule, chosen.pin, nowMs)
      const now = new Date(nowMs)
      const [code] = await db
        .insert(accessCodes)
        .values({
          ...row,
          organizationId: actor.organizationId,
          lockId: lock.id,
          name: stayCodeName(stay.guestName),
          kind: 'timed',
          delivery: 'synced',
          stayId: stay.id,
          createdBy: actor.userId,
          createdAt: now,
          updatedAt: now,
        })
        .returning()
      await recordCodeEvent(db, code!, 'access_code.created', {
        nowMs,
        actorUserId: actor.userId,
        lockName: lock.name,
        data: { kind: 'timed', delivery: 'synced', status: code!.status, stayId: stay.id },
      })
      await markDue(db, lock.id, nowMs)
    }
    return chosen
  })
  lookSoonAfterCommit(deps.db, property.lockIds)
  return chosen
}

/** The stay's codes not deleted, synced (its PIN on each lock) and offline (backup codes), by lock. */
export async function stayCodesOf(
  deps: Pick<Deps, 'db'>,
  stayId: string,
  /** Also the codes deleted from this instant on (a cancelled stay's, on their way off the locks). */
  deletedSince?: Date,
): Promise<AccessCode[]> {
  const live = isNull(accessCodes.deletedAt)
  return deps.db
    .select()
    .from(accessCodes)
    .where(
      and(
        eq(accessCodes.stayId, stayId),
        deletedSince === undefined ? live : or(live, gte(accessCodes.deletedAt, deletedSince)),
      ),
    )
    .orderBy(asc(accessCodes.createdAt), asc(accessCodes.id))
}

/** New dates: the code moves on every lock (the PIN stays). Backup codes were derived for the old window: they go. */
export async function moveStayCodes(
  deps: Deps,
  actor: Actor,
  stayId: string,
  window: { startsAt: number; endsAt: number },
): Promise<void> {
  for (const code of await stayCodesOf(deps, stayId)) {
    if (code.delivery === 'offline') {
      await deleteAccessCode(deps, actor, code.id)
      continue
    }
    await updateAccessCode(deps, actor, code.id, {
      startsAt: new Date(window.startsAt).toISOString(),
      endsAt: new Date(window.endsAt).toISOString(),
    })
  }
}

/** Cancelled or deleted: the code comes off every lock (backup codes are revoked when each lock is next reached). */
export async function removeStayCodes(deps: Deps, actor: Actor, stayId: string): Promise<void> {
  for (const code of await stayCodesOf(deps, stayId)) await deleteAccessCode(deps, actor, code.id)
}

/** Renames the codes with the guest's name. */
export async function renameStayCodes(deps: Deps, actor: Actor, stay: Stay): Promise<void> {
  for (const code of await stayCodesOf(deps, stay.id)) {
    if (code.delivery === 'synced')
      await updateAccessCode(deps, actor, code.id, { name: stayCodeName(stay.guestName) })
  }
}
