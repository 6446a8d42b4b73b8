/**
 * Locks of an organization (SPEC §5, §8). Registering a lock makes its 256-bit secret (stored
 * encrypted, AAD `lock:<id>`) and answers, this once, the provisioning bundle the lock is set up
 * with. The lock's status (online, battery, clock, capacity used) is what the lock and its gateway
 * last reported over the lock channel.
 */
import { randomUUID } from 'node:crypto'
import { isValidTimezone, LatchkeyError } from '@latchkey/core'
import type { CommissionTarget } from '@latchkey/matter'
import {
  DEFAULT_LOCK_MODEL,
  LOCK_MODELS,
  type ProvisioningBundle,
  parseBundle,
  randomSecret,
} from '@latchkey/protocol'
import { and, asc, eq, gt, isNull, or } from 'drizzle-orm'
import { recordEvent } from '../events/index.ts'
import type { Secrets } from '../secrets.ts'
import type { Db } from '../store/index.ts'
import { gateways, isUuid, type Lock, type LockDriverName, locks } from '../store/index.ts'
import type { MatterDriver } from './lock-driver.ts'
import { decryptLockSecret, lockSecretContext } from './lock-keys.ts'

export type LockView = Pick<
  Lock,
  | 'id'
  | 'name'
  | 'timezone'
  | 'model'
  | 'driver'
  | 'gatewayId'
  | 'online'
  | 'lastSeenAt'
  | 'battery'
  | 'clockOffsetMs'
  | 'clockSyncedAt'
  | 'clockSet'
  | 'capacity'
  | 'codesOnLock'
  | 'revocationsLeftOut'
  | 'createdAt'
  | 'updatedAt'
>

const columns = {
  id: locks.id,
  name: locks.name,
  timezone: locks.timezone,
  model: locks.model,
  driver: locks.driver,
  gatewayId: locks.gatewayId,
  online: locks.online,
  lastSeenAt: locks.lastSeenAt,
  battery: locks.battery,
  clockOffsetMs: locks.clockOffsetMs,
  clockSyncedAt: locks.clockSyncedAt,
  clockSet: locks.clockSet,
  capacity: locks.capacity,
  codesOnLock: locks.codesOnLock,
  revocationsLeftOut: locks.revocationsLeftOut,
  createdAt: locks.createdAt,
  updatedAt: locks.updatedAt,
}

function checkTimezone(timezone: string): string {
  if (!isValidTimezone(timezone))
    throw new LatchkeyError('invalid_timezone', `${timezone} is not an IANA time zone`)
  return timezone
}

async function checkGateway(db: Db, organizationId: string, gatewayId: string): Promise<void> {
  const [row] = isUuid(gatewayId)
    ? await db
        .select({ id: gateways.id })
        .from(gateways)
        .where(
          and(
            eq(gateways.id, gatewayId),
            eq(gateways.organizationId, organizationId),
            isNull(gateways.deletedAt),
          ),
        )
    : []
  if (row === undefined) throw new LatchkeyError('not_found', `no gateway ${gatewayId}`)
}

export interface CreateLockInput {
  name: string
  timezone: string
  gatewayId?: string | null | undefined
  model?: string | undefined
  driver?: LockDriverName | undefined
  /** `driver: 'matter'`: how to commission it (SPEC §12). */
  matter?: CommissionTarget | undefined
}

/** The model name of a Matter lock (its capacity is what the lock says of itself). */
export const MATTER_LOCK_MODEL = 'matter'

export interface Actor {
  organizationId: string
  userId?: string | null
}

/** The bundle a lock is provisioned with (it holds the secret: hand it over once). */
export function provisioningBundle(secrets: Secrets, lock: Lock): ProvisioningBundle {
  return parseBundle({
    v: 1,
    lockId: lock.id,
    name: lock.name,
    secret: Buffer.from(decryptLockSecret(secrets, lock)).toString('base64'),
    model: lock.model,
    capacity: lock.capacity,
    ledgerCapacity: lock.ledgerCapacity,
    eventCapacity: lock.eventCapacity,
    timezone: lock.timezone,
    serverPublicKey: secrets.serverKeyPair.publicKey,
    gatewayId: lock.gatewayId,
  })
}

export async function createLock(
  db: Db,
  secrets: Secrets,
  nowMs: number,
  actor: Actor,
  input: CreateLockInput,
): Promise<{ lock: LockView; bundle: ProvisioningBundle }> {
  const timezone = checkTimezone(input.timezone)
  if ((input.driver ?? 'latchkey') !== 'latchkey') {
    throw new LatchkeyError('validation_failed', `a ${input.driver} lock is commissioned, not registered`)
  }
  const model = input.model ?? DEFAULT_LOCK_MODEL
  const spec = LOCK_MODELS[model]
  if (spec === undefined) {
    throw new LatchkeyError(
      'validation_failed',
      `unknown lock model ${model} (known: ${Object.keys(LOCK_MODELS).join(', ')})`,
      {
        details: {
          errors: [{ in: 'body', field: 'model', message: `one of ${Object.keys(LOCK_MODELS).join(', ')}` }],
        },
      },
    )
  }
  const gatewayId = input.gatewayId ?? null
  if (gatewayId !== null) await checkGateway(db, actor.organizationId, gatewayId)
  const row = await insertLock(
    db,
    secrets,
    nowMs,
    actor,
    {
      gatewayId,
      name: input.name.trim(),
      timezone,
      model,
      capacity: spec.capacity,
      ledgerCapacity: spec.ledgerCapacity,
      eventCapacity: spec.eventCapacity,
    },
    { timezone, model },
  )
  return { lock: pick(row), bundle: provisioningBundle(secrets, row) }
}

/**
 * Stores a new lock with a secret of its own (every lock row holds one, so nothing treats a lock of
 * another driver apart) and records `lock.created`.
 */
async function insertLock(
  db: Db,
  secrets: Secrets,
  nowMs: number,
  actor: Actor,
  values: Omit<
    typeof locks.$inferInsert,
    'id' | 'organizationId' | 'secretEncrypted' | 'createdAt' | 'updatedAt'
  >,
  eventData: Record<string, unknown>,
): Promise<Lock> {
  const id = randomUUID()
  const now = new Date(nowMs)
  const [row] = await db
    .insert(locks)
    .values({
      ...values,
      id,
      organizationId: actor.organizationId,
      secretEncrypted: secrets.encrypt(randomSecret(), lockSecretContext(id)),
      createdAt: now,
      updatedAt: now,
    })
    .returning()
  await recordEvent(db, {
    organizationId: actor.organizationId,
    type: 'lock.created',
    occurredAt: now,
    lockId: id,
    gatewayId: values.gatewayId ?? null,
    actorUserId: actor.userId ?? null,
    data: { lockName: row!.name, ...eventData },
  })
  return row!
}

/**
 * Commissions a Matter lock into the server's fabric and registers it (SPEC §12): no gateway and no
 * provisioning bundle; its capacity is the number of users the lock supports.
 */
export async function createMatterLock(
  db: Db,
  secrets: Secrets,
  matter: MatterDriver | undefined,
  nowMs: number,
  actor: Actor,
  input: CreateLockInput,
): Promise<{ lock: LockView }> {
  const timezone = checkTimezone(input.timezone)
  if (matter === undefined)
    throw new LatchkeyError('not_supported_by_driver', 'this server runs without the matter driver')
  if (input.matter === undefined)
    throw new LatchkeyError(
      'validation_failed',
      'a matter lock needs `matter`: a pairingCode, or passcode and discriminator',
      {
        details: { errors: [{ in: 'body', field: 'matter', message: 'required with driver matter' }] },
      },
    )
  if (input.gatewayId != null)
    throw new LatchkeyError(
      'validation_failed',
      'a matter lock has no gateway: the server reaches it over IP',
    )
  let commissioned: Awaited<ReturnType<MatterDriver['commission']>>
  try {
    commissioned = await matter.commission(input.matter)
  } catch (cause) {
    if (cause instanceof LatchkeyError) throw cause
    throw new LatchkeyError(
      'lock_offline',
      `the Matter lock could not be commissioned: ${(cause as Error).message}`,
      {
        cause,
        userMessage:
          'The Matter lock could not be commissioned: check its pairing code and that it is in pairing mode and on the network.',
      },
    )
  }
  const row = await insertLock(
    db,
    secrets,
    nowMs,
    actor,
    {
      gatewayId: null,
      name: input.name.trim(),
      timezone,
      model: MATTER_LOCK_MODEL,
      driver: 'matter',
      matter: { nodeId: commissioned.nodeId, controller: matter.controllerId, users: {} },
      // Heard from just now; it keeps its own time (the server never sets a Matter lock's clock).
      lastSeenAt: new Date(nowMs),
      clockSet: true,
      capacity: Math.min(
        commissioned.capacity.users,
        commissioned.capacity.pinUsers || commissioned.capacity.users,
      ),
      ledgerCapacity: 0,
      eventCapacity: 0,
    },
    { timezone, model: MATTER_LOCK_MODEL, driver: 'matter' },
  )
  return { lock: pick(row) }
}

function pick(row: Lock): LockView {
  return Object.fromEntries(Object.keys(columns).map((key) => [key, row[key as keyof Lock]])) as LockView
}

/** Page of locks in creation order; `after` is the id of the last lock of the previous page. */
export async function listLocks(
  db: Db,
  organizationId: string,
  options: { gatewayId?: string | undefined; after?: string | undefined; limit: number },
): Promise<{ items: LockView[]; nextCursor?: string }> {
  const conditions = [eq(locks.organizationId, organizationId), isNull(locks.deletedAt)]
  if (options.gatewayId !== undefined) {
    if (!isUuid(options.gatewayId)) return { items: [] }
    conditions.push(eq(locks.gatewayId, options.gatewayId))
  }
  if (options.after !== undefined) {
    const [cursor] = isUuid(options.after)
      ? await db
          .select({ createdAt: locks.createdAt, id: locks.id })
          .from(locks)
          .where(and(eq(locks.id, options.after), eq(locks.organizationId, organizationId)))
      : []
    if (cursor === undefined) throw new LatchkeyError('validation_failed', 'unknown cursor `after`')
    conditions.push(
      or(
        gt(locks.createdAt, cursor.createdAt),
        and(eq(locks.createdAt, cursor.createdAt), gt(locks.id, cursor.id)),
      )!,
    )
  }
  const rows = await db
    .select(columns)
    .from(locks)
    .where(and(...conditions))
    .orderBy(asc(locks.createdAt), asc(locks.id))
    .limit(options.limit + 1)
  const items = rows.slice(0, options.limit)
  return rows.length > options.limit ? { items, nextCursor: items[items.length - 1]!.id } : { items }
}

export async function getLock(db: Db, organizationId: string, id: string): Promise<LockView> {
  const [row] = isUuid(id)
    ? await db
        .select(columns)
        .from(locks)
        .where(and(eq(locks.id, id), eq(locks.organizationId, organizationId), isNull(locks.deletedAt)))
    : []
  if (row === undefined) throw new LatchkeyError('not_found', `no lock ${id}`)
  return row
}

export interface UpdateLockInput {
  name?: string | undefined
  timezone?: string | undefined
  gatewayId?: string | null | undefined
}

/** Changes the fields given; answers the lock and what changed. */
export async function updateLock(
  db: Db,
  nowMs: number,
  actor: Actor,
  id: string,
  input: UpdateLockInput,
): Promise<{ lock: LockView; changed: Array<keyof UpdateLockInput> }> {
  const before = await getLock(db, actor.organizationId, id)
  const set: Partial<Lock> = {}
  if (input.name !== undefined && input.name.trim() !== before.name) set.name = input.name.trim()
  if (input.timezone !== undefined && input.timezone !== before.timezone)
    set.timezone = checkTimezone(input.timezone)
  if (input.gatewayId !== undefined && input.gatewayId !== before.gatewayId) {
    if (input.gatewayId !== null) await checkGateway(db, actor.organizationId, input.gatewayId)
    set.gatewayId = input.gatewayId
    // behind another gateway (or none) it is not known to be reachable until that one reports it
    Object.assign(set, { online: false, inRange: false, linkAt: 0 })
  }
  const changed = Object.keys(set).filter((k) => k in input) as Array<keyof UpdateLockInput>
  if (changed.length === 0) return { lock: before, changed }
  const now = new Date(nowMs)
  const [row] = await db
    .update(locks)
    .set({ ...set, updatedAt: now })
    .where(and(eq(locks.id, before.id), eq(locks.organizationId, actor.organizationId)))
    .returning(columns)
  await recordEvent(db, {
    organizationId: actor.organizationId,
    type: 'lock.updated',
    occurredAt: now,
    lockId: before.id,
    gatewayId: row!.gatewayId,
    actorUserId: actor.userId ?? null,
    data: {
      lockName: row!.name,
      changes: Object.fromEntries(changed.map((key) => [key, { from: before[key], to: row![key] }])),
    },
  })
  return { lock: row!, changed }
}

/** Removes a lock from the organization (its audit stays). */
export async function deleteLock(
  db: Db,
  nowMs: number,
  actor: Actor,
  id: string,
  matter?: MatterDriver,
): Promise<void> {
  const lock = await getLock(db, actor.organizationId, id)
  const now = new Date(nowMs)
  const [deleted] = await db
    .update(locks)
    .set({ deletedAt: now, updatedAt: now, online: false })
    .where(and(eq(locks.id, lock.id), eq(locks.organizationId, actor.organizationId)))
    .returning({ matter: locks.matter })
  // A Matter lock leaves the server's fabric too (its users of this fabric go with it).
  if (deleted?.matter != null) await matter?.forget(deleted.matter.nodeId)
  await recordEvent(db, {
    organizationId: actor.organizationId,
    type: 'lock.deleted',
    occurredAt: now,
    lockId: lock.id,
    gatewayId: lock.gatewayId,
    actorUserId: actor.userId ?? null,
    data: { lockName: lock.name },
  })
}
