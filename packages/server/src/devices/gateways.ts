/**
 * Gateways of an organization (SPEC §5, §8): registering one gives it an id and an MQTT token (shown
 * once; only its SHA-256 is stored), with which it logs in to the broker (username = client id =
 * gateway id) and asks the server where the broker is (GET /api/v1/broker).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto'
import { LatchkeyError } from '@latchkey/core'
import { and, asc, count, eq, isNull } from 'drizzle-orm'
import { hashToken } from '../credentials.ts'
import type { Db } from '../store/index.ts'
import { type Gateway, gateways, isUniqueViolation, isUuid, locks } from '../store/index.ts'
import type { GatewayRegistrar } from './broker-access.ts'

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

/** Gives a gateway a new token (the old one stops at once on the embedded broker); answers it. */
export async function rotateGatewayToken(
  db: Db,
  registrar: GatewayRegistrar,
  gatewayId: string,
): Promise<string> {
  const token = generateGatewayToken()
  const updated = await db
    .update(gateways)
    .set({ tokenHash: hashToken(token) })
    .where(and(eq(gateways.id, gatewayId), isNull(gateways.deletedAt)))
    .returning({ id: gateways.id })
  if (updated.length === 0) throw new LatchkeyError('not_found', `no gateway ${gatewayId}`)
  await registrar.register(gatewayId, token)
  return token
}
