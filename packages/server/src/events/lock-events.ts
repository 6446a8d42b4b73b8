/**
 * Events the lock logged (authenticated by the lock, numbered by its `seq`) as audit events of
 * SPEC §7. Each carries the label of the code it speaks of ("Cleaner – Tuesday"), found by the
 * code's id (synced codes: access-code ids are the lock's code ids) or, for an offline code, by
 * (lock, H, start hour). docs/EVENTS.md lists the types and their data.
 */
import type { DenyReason } from '@latchkey/core'
import { deniedPinHash, type LockEvent } from '@latchkey/protocol'
import { and, desc, eq, inArray, isNotNull, or, sql } from 'drizzle-orm'
import { decryptPin } from '../access-codes/index.ts'
import type { Secrets } from '../secrets.ts'
import type { Db } from '../store/index.ts'
import {
  accessCodes,
  type CommandRequester,
  ekeys,
  isUuid,
  lockCommands,
  type NewEventRow,
  uniqueCodes,
} from '../store/index.ts'

/** The audit type of each kind of lock event. */
export const LOCK_EVENT_TYPES = {
  unlocked: 'lock.unlocked',
  access_denied: 'lock.access_denied',
  locked_out: 'lock.locked_out',
  clock_set: 'lock.clock_synced',
  code_set: 'lock.code_added',
  code_removed: 'lock.code_removed',
  frame_rejected: 'lock.frame_rejected',
  events_lost: 'lock.events_lost',
  power_restored: 'lock.power_restored',
} as const satisfies Record<LockEvent['type'], string>

export interface CodeLabel {
  id: string
  name: string
}

/** A code that no longer opens, found by the PIN the lock did not know, and why it no longer opens. */
export interface EndedCode extends CodeLabel {
  reason: DenyReason
}

/** Labels of the codes these events name: by code id, by `offline:<H>:<startsAt>`, by unknown PIN. */
export interface CodeLabels {
  byId: Map<string, CodeLabel>
  byOffline: Map<string, CodeLabel>
  /** Ended or deleted codes of the lock, by the `pinHash` of an `unknown_code` refusal. */
  byPinHash: Map<string, EndedCode>
}

/** Ended and deleted codes looked at for an unknown PIN: the most recent ones. */
const ENDED_CODES_LOOKED_AT = 200

/** Why a code that is off the lock no longer opens, as the lock would have said had it kept it. */
function endedReason(code: {
  deletedAt: Date | null
  kind: string
  uses: number
  maxUses: number | null
}): DenyReason {
  if (code.deletedAt !== null) return 'revoked'
  if (code.kind === 'one_time' && code.uses > 0) return 'already_used'
  if (code.maxUses !== null && code.uses >= code.maxUses) return 'uses_exhausted'
  return 'expired'
}

/**
 * The lock logs a PIN it no longer holds as `unknown_code`, with a keyed hash of the digits. The
 * server knows the PINs it removed: it hashes those of the lock's ended and deleted codes under the
 * lock's key and names the code that was typed ("Cleaner – Tuesday" came after its window).
 */
async function lookupEndedCodes(
  db: Db,
  secrets: Secrets,
  deniedKey: Uint8Array,
  lockId: string,
  events: readonly LockEvent[],
): Promise<Map<string, EndedCode>> {
  const hashes = new Set<string>()
  for (const event of events) {
    if (event.type === 'access_denied' && event.reason === 'unknown_code' && event.pinHash !== undefined)
      hashes.add(event.pinHash)
  }
  const found = new Map<string, EndedCode>()
  if (hashes.size === 0) return found
  const rows = await db
    .select({
      id: accessCodes.id,
      name: accessCodes.name,
      pinEncrypted: accessCodes.pinEncrypted,
      kind: accessCodes.kind,
      uses: accessCodes.uses,
      maxUses: accessCodes.maxUses,
      deletedAt: accessCodes.deletedAt,
    })
    .from(accessCodes)
    .where(
      and(
        eq(accessCodes.lockId, lockId),
        or(
          isNotNull(accessCodes.deletedAt),
          isNotNull(accessCodes.expiredAt),
          eq(accessCodes.status, 'removed'),
        ),
      ),
    )
    .orderBy(
      desc(sql`coalesce(${accessCodes.deletedAt}, ${accessCodes.expiredAt}, ${accessCodes.updatedAt})`),
    )
    .limit(ENDED_CODES_LOOKED_AT)
  for (const row of rows) {
    const hash = deniedPinHash(deniedKey, decryptPin(secrets, row))
    if (hashes.has(hash) && !found.has(hash))
      found.set(hash, { id: row.id, name: row.name, reason: endedReason(row) })
  }
  return found
}

const offlineKey = (h: number, startsAt: number) => `${h}:${startsAt}`

export async function lookupCodeLabels(
  db: Db,
  lockId: string,
  events: readonly LockEvent[],
  ended: { secrets: Secrets; deniedKey: Uint8Array } | null = null,
): Promise<CodeLabels> {
  const ids = new Set<string>()
  const offlineHs = new Set<number>()
  for (const event of events) {
    if ('codeId' in event && event.codeId !== undefined && isUuid(event.codeId)) ids.add(event.codeId)
    if ('offline' in event && event.offline !== undefined) offlineHs.add(event.offline.h)
  }
  const labels: CodeLabels = {
    byId: new Map(),
    byOffline: new Map(),
    byPinHash:
      ended === null ? new Map() : await lookupEndedCodes(db, ended.secrets, ended.deniedKey, lockId, events),
  }
  if (ids.size > 0) {
    const rows = await db
      .select({ id: accessCodes.id, name: accessCodes.name })
      .from(accessCodes)
      .where(and(eq(accessCodes.lockId, lockId), inArray(accessCodes.id, [...ids])))
    for (const row of rows) labels.byId.set(row.id, row)
  }
  if (offlineHs.size > 0) {
    const rows = await db
      .select({
        id: accessCodes.id,
        name: accessCodes.name,
        h: accessCodes.offlineH,
        startsAt: accessCodes.startsAt,
      })
      .from(accessCodes)
      .where(
        and(
          eq(accessCodes.lockId, lockId),
          eq(accessCodes.delivery, 'offline'),
          inArray(accessCodes.offlineH, [...offlineHs]),
        ),
      )
    for (const row of rows) {
      if (row.h === null || row.startsAt === null) continue
      labels.byOffline.set(offlineKey(row.h, row.startsAt.getTime()), { id: row.id, name: row.name })
    }
  }
  return labels
}

/** Who opened (or tried to): a user of the organization or a unique code, with its label. */
export interface EventActor {
  userId?: string
  uniqueCodeId?: string
  /** The unique code's description. */
  label?: string
}

/**
 * Who is behind each remote unlock and each eKey use of the batch (by seq).
 * - The lock logs `unlocked` (remote) when it carries out an `unlock` command, so the batch's remote
 *   unlocks answer the latest unlock commands the lock confirmed, in order; the command says who asked.
 * - An eKey names its keyId; the server recorded whom it signed it for.
 */
export async function lookupActors(
  db: Db,
  lockId: string,
  events: readonly LockEvent[],
): Promise<Map<number, EventActor>> {
  const actors = new Map<number, EventActor>()
  const remote = events.filter((e) => e.type === 'unlocked' && e.method === 'remote')
  if (remote.length > 0) {
    const commands = await db
      .select({ requestedBy: lockCommands.requestedBy })
      .from(lockCommands)
      .where(
        and(
          eq(lockCommands.lockId, lockId),
          eq(lockCommands.type, 'unlock'),
          eq(lockCommands.status, 'done'),
        ),
      )
      .orderBy(desc(lockCommands.repliedAt))
      .limit(remote.length)
    commands.reverse()
    const offset = remote.length - commands.length
    remote.forEach((event, i) => {
      const requester: CommandRequester | null | undefined =
        i >= offset ? commands[i - offset]?.requestedBy : null
      if (requester) actors.set(event.seq, { ...requester })
    })
  }
  const keyIds = new Set<string>()
  for (const event of events) {
    if ('keyId' in event && event.keyId !== undefined && isUuid(event.keyId)) keyIds.add(event.keyId)
  }
  if (keyIds.size > 0) {
    const holders = await db
      .select({ keyId: ekeys.keyId, userId: ekeys.userId, uniqueCodeId: ekeys.uniqueCodeId })
      .from(ekeys)
      .where(and(eq(ekeys.lockId, lockId), inArray(ekeys.keyId, [...keyIds])))
    const byKey = new Map(holders.map((h) => [h.keyId, h]))
    for (const event of events) {
      const holder = 'keyId' in event && event.keyId !== undefined ? byKey.get(event.keyId) : undefined
      if (holder === undefined) continue
      actors.set(event.seq, {
        ...(holder.userId === null ? {} : { userId: holder.userId }),
        ...(holder.uniqueCodeId === null ? {} : { uniqueCodeId: holder.uniqueCodeId }),
      })
    }
  }
  const uniqueCodeIds = [
    ...new Set([...actors.values()].flatMap((a) => (a.uniqueCodeId ? [a.uniqueCodeId] : []))),
  ]
  if (uniqueCodeIds.length > 0) {
    const rows = await db
      .select({ id: uniqueCodes.id, description: uniqueCodes.description })
      .from(uniqueCodes)
      .where(inArray(uniqueCodes.id, uniqueCodeIds))
    const labels = new Map(rows.map((r) => [r.id, r.description]))
    for (const actor of actors.values()) {
      const label = actor.uniqueCodeId === undefined ? undefined : labels.get(actor.uniqueCodeId)
      if (label !== undefined) actor.label = label
    }
  }
  return actors
}

const isoOrNull = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString())

function codeOf(event: LockEvent, labels: CodeLabels): CodeLabel | EndedCode | null {
  if ('codeId' in event && event.codeId !== undefined) return labels.byId.get(event.codeId) ?? null
  if (event.type === 'access_denied' && event.pinHash !== undefined)
    return labels.byPinHash.get(event.pinHash) ?? null
  if ('offline' in event && event.offline !== undefined) {
    return labels.byOffline.get(offlineKey(event.offline.h, event.offline.startsAt)) ?? null
  }
  return null
}

/** What the event says beyond its type, in the API's vocabulary (camelCase, ISO times). */
function dataOf(event: LockEvent): Record<string, unknown> {
  switch (event.type) {
    case 'unlocked':
    case 'access_denied':
      return {
        method: event.method,
        ...(event.type === 'access_denied' ? { reason: event.reason } : {}),
        ...(event.codeId === undefined ? {} : { codeId: event.codeId }),
        ...(event.offline === undefined
          ? {}
          : { offline: { h: event.offline.h, startsAt: new Date(event.offline.startsAt).toISOString() } }),
        ...(event.keyId === undefined ? {} : { keyId: event.keyId }),
      }
    case 'locked_out':
      return {
        wrongAttempts: event.wrongAttempts,
        durationMs: event.at === null ? event.untilMs : event.untilMs - event.at,
        until: event.at === null ? null : isoOrNull(event.untilMs),
      }
    case 'clock_set':
      // The lock reports the correction (new − old); the offset is what the lock was off by.
      return {
        offsetMs: event.offsetMs === null ? null : -event.offsetMs,
        clockWasSet: event.offsetMs !== null,
      }
    case 'code_set':
    case 'code_removed':
      return { codeId: event.codeId }
    case 'frame_rejected':
      return { reason: event.reason }
    case 'events_lost':
      return { count: event.count }
    case 'power_restored':
      return {}
  }
}

/** The audit row of one lock event; `occurredAt` is the lock's clock, or `now` while it was unset. */
export function lockEventRow(
  lock: { id: string; organizationId: string; gatewayId: string | null; name: string },
  event: LockEvent,
  labels: CodeLabels,
  now: Date,
  actor: EventActor | null = null,
): NewEventRow {
  const code = codeOf(event, labels)
  const label = code?.name ?? actor?.label
  // An unknown PIN that was one of the lock's ended codes: the refusal says why that code no longer opens.
  const ended = code !== null && 'reason' in code ? { reason: code.reason, lockReason: 'unknown_code' } : {}
  return {
    organizationId: lock.organizationId,
    lockId: lock.id,
    type: LOCK_EVENT_TYPES[event.type],
    accessCodeId: code?.id ?? null,
    uniqueCodeId: actor?.uniqueCodeId ?? null,
    actorUserId: actor?.userId ?? null,
    gatewayId: lock.gatewayId,
    data: {
      ...dataOf(event),
      ...ended,
      ...(label === undefined ? {} : { label }),
      lockName: lock.name,
      lockSeq: event.seq,
      lockTime: isoOrNull(event.at),
    },
    occurredAt: event.at === null ? now : new Date(event.at),
    recordedAt: now,
    lockSeq: event.seq,
    pinHash: event.type === 'access_denied' ? (event.pinHash ?? null) : null,
  }
}
