/**
 * Gateways of an organization (SPEC §5, §8): registering one gives it an id and an MQTT token (shown
 * once; only its SHA-256 is stored), with which it logs in to the broker (username = client id =
 * gateway id) and asks the server where the broker is (GET /api/v1/broker).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto'
import { LatchkeyError } from '@latchkey/core'
import { and, asc, count, eq, isNull, sql } from 'drizzle-orm'
import { hashToken } from '../credentials.ts'
import type { Db } from '../store/index.ts'
import { type Gateway, gateways, isUniqueViolation, isUuid, locks } from '../store/index.ts'
import type { GatewayRegistrar } from './broker-access.ts'
import { setGatewayOnline, setLockOnline } from './channel-context.ts'

export const GATEWAY_TOKEN_PREFIX = 'lkg_'

export function generateGatewayToken(): string {
  return GATEWAY_TOKEN_PREFIX + randomBytes(32).toString('base64url')
}

export type GatewayView = Pick<Gateway, 'id' | 'name' | 'online' | 'lastSeenAt' | 'createdAt'> & {
  lockCount: number
}

const columns = {
  id: gateways.id,
  name: gateways.name,
  online: gateways.online,
  lastSeenAt: gateways.lastSeenAt,
  createdAt: gateways.createdAt,
}

export async function createGateway(
  db: Db,
  registrar: GatewayRegistrar,
  nowMs: number,
  organizationId: string,
  name: string,
): Promise<{ gateway: GatewayView; token: string }> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const token = generateGatewayToken()
    let row: Omit<GatewayView, 'lockCount'> | undefined
    try {
      ;[row] = await db
        .insert(gateways)
        .values({
          organizationId,
          name: name.trim(),
          tokenHash: hashToken(token),
          createdAt: new Date(nowMs),
        })
        .returning(columns)
    } catch (error) {
      if (isUniqueViolation(error)) continue
      throw error
    }
    try {
      await registrar.register(row!.id, token)
    } catch (cause) {
      await db.delete(gateways).where(eq(gateways.id, row!.id))
      throw new LatchkeyError(
        'service_unavailable',
        'the MQTT broker did not take the gateway login; try again',
        {
          cause,
        },
      )
    }
    return { gateway: { ...row!, lockCount: 0 }, token }
  }
  throw new LatchkeyError('internal', 'could not make a unique gateway token')
}

export async function listGateways(db: Db, organizationId: string): Promise<GatewayView[]> {
  const rows = await db
    .select({ ...columns, lockCount: count(locks.id) })
    .from(gateways)
    .leftJoin(locks, and(eq(locks.gatewayId, gateways.id), isNull(locks.deletedAt)))
    .where(and(eq(gateways.organizationId, organizationId), isNull(gateways.deletedAt)))
    .groupBy(gateways.id)
    .orderBy(asc(gateways.createdAt), asc(gateways.id))
  return rows
}

export async function getGateway(db: Db, organizationId: string, id: string): Promise<GatewayView> {
  const rows = isUuid(id)
    ? await db
        .select({ ...columns, lockCount: count(locks.id) })
        .from(gateways)
        .leftJoin(locks, and(eq(locks.gatewayId, gateways.id), isNull(locks.deletedAt)))
        .where(
          and(eq(gateways.id, id), eq(gateways.organizationId, organizationId), isNull(gateways.deletedAt)),
        )
        .groupBy(gateways.id)
    : []
  const row = rows[0]
  if (row === undefined) throw new LatchkeyError('not_found', `no gateway ${id}`)
  return row
}

/** The gateway whose token this is (look-up by the token's SHA-256); null for anything else. */
export async function gatewayByToken(
  db: Db,
  token: string,
): Promise<{ id: string; organizationId: string } | null> {
  if (!token.startsWith(GATEWAY_TOKEN_PREFIX)) return null
  const [row] = await db
    .select({ id: gateways.id, organizationId: gateways.organizationId })
    .from(gateways)
    .where(and(eq(gateways.tokenHash, hashToken(token)), isNull(gateways.deletedAt)))
  return row ?? null
}

/** A broker login of a gateway: username = its id, password = its token (compared in constant time). */
export async function checkGatewayLogin(db: Db, gatewayId: string, token: string): Promise<boolean> {
  if (!isUuid(gatewayId)) return false
  const [row] = await db
    .select({ tokenHash: gateways.tokenHash })
    .from(gateways)
    .where(and(eq(gateways.id, gatewayId), isNull(gateways.deletedAt)))
  const presented = Buffer.from(hashToken(token), 'hex')
  // a missing gateway still costs a comparison, so timing says nothing about which ids exist
  const stored = Buffer.from(row?.tokenHash ?? '0'.repeat(64), 'hex')
  return timingSafeEqual(presented, stored) && row !== undefined
}

/**
 * Gives a gateway of the organization a new token and answers it (shown once). The broker login
 * changes with it: a session with the old token is ended and the old token refused from then on. A
 * broker that does not take the change leaves the old token in force (the request fails). The
 * gateway and its locks are offline until it connects with the new token.
 */
export async function rotateGatewayToken(
  db: Db,
  registrar: GatewayRegistrar,
  nowMs: number,
  organizationId: string,
  gatewayId: string,
): Promise<string> {
  const token = generateGatewayToken()
  await db.transaction(async (tx) => {
    const updated = isUuid(gatewayId)
      ? await tx
          .update(gateways)
          // A status of the connection this ends (retained on the broker, read again after a
          // restart of the server) is stale from now on; the gateway's next connection counts.
          .set({ tokenHash: hashToken(token), statusSession: sql`${gateways.statusSession} + 1` })
          .where(
            and(
              eq(gateways.id, gatewayId),
              eq(gateways.organizationId, organizationId),
              isNull(gateways.deletedAt),
            ),
          )
          .returning({ id: gateways.id })
      : []
    if (updated.length === 0) throw new LatchkeyError('not_found', `no gateway ${gatewayId}`)
    await brokerChange(() => registrar.register(gatewayId, token))
    // Mosquitto ends the session without its last will: the gateway is offline until it logs in anew.
    await setGatewayOnline(tx, gatewayId, false, new Date(nowMs), 'token_rotated')
  })
  return token
}

/** Locks that were behind a retired gateway: they have no gateway now, so nothing reaches them. */
export interface RetiredGateway {
  gateway: GatewayView
  detachedLocks: Array<{ id: string; name: string }>
}

/**
 * Retires a gateway (SPEC §8): its broker login is removed at once (its session ended), its locks
 * are detached from it (no gateway: unreachable, each with a `lock.offline` event, until they are
 * given another gateway with PATCH /locks/{id}), and it is no longer listed.
 */
export async function deleteGateway(
  db: Db,
  registrar: GatewayRegistrar,
  nowMs: number,
  organizationId: string,
  gatewayId: string,
): Promise<RetiredGateway> {
  const gateway = await getGateway(db, organizationId, gatewayId)
  const now = new Date(nowMs)
  return db.transaction(async (tx) => {
    const retired = await tx
      .update(gateways)
      .set({ deletedAt: now, online: false })
      .where(and(eq(gateways.id, gateway.id), isNull(gateways.deletedAt)))
      .returning({ id: gateways.id })
    if (retired.length === 0) throw new LatchkeyError('not_found', `no gateway ${gatewayId}`)
    const behind = await tx
      .select({ id: locks.id, name: locks.name })
      .from(locks)
      .where(and(eq(locks.gatewayId, gateway.id), isNull(locks.deletedAt)))
      .orderBy(asc(locks.name), asc(locks.id))
      .for('update')
    for (const lock of behind) {
      await setLockOnline(tx, lock.id, false, now, 'gateway_deleted')
    }
    await tx.update(locks).set({ gatewayId: null }).where(eq(locks.gatewayId, gateway.id))
    await brokerChange(() => registrar.remove(gateway.id))
    return { gateway: { ...gateway, online: false, lockCount: 0 }, detachedLocks: behind }
  })
}

async function brokerChange(change: () => Promise<void>): Promise<void> {
  try {
    await change()
  } catch (cause) {
    throw new LatchkeyError(
      'service_unavailable',
      'the MQTT broker did not take the change of the gateway’s login; nothing was changed, try again',
      { cause },
    )
  }
}
