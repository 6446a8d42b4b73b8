/**
 * What gateways say in clear (SPEC §2: untrusted hints, never truth about codes, time or events):
 * `gatewayStatus` (online, with a last will for when it vanishes; numbered by connection so a late
 * one of an older connection is ignored), `lockLink` (a lock's radio link and battery; a lock is
 * reachable while in range of its gateway and that gateway is online) and `timeRequest` (please sync
 * this lock's clock: answered with a sealed `set_time` from the server's clock, so a gateway can ask
 * for a sync but never choose the time).
 */
import { isLatchkeyError } from '@latchkey/core'
import { decodePayload } from '@latchkey/protocol'
import { isUuid } from '../store/index.ts'
import {
  type ChannelContext,
  loadLockForGateway,
  type MessageOutcome,
  takeGatewayStatus,
  takeLockLink,
} from './channel-context.ts'

/** A lock's time requests closer together than this (real time) get one answer. */
export const TIME_REQUEST_INTERVAL_MS = 2_000

function decode<N extends 'gatewayStatus' | 'lockLink' | 'timeRequest'>(name: N, payload: Uint8Array) {
  try {
    return decodePayload(name, payload)
  } catch (error) {
    if (isLatchkeyError(error)) return null
    throw error
  }
}

export async function handleGatewayStatus(
  ctx: ChannelContext,
  gatewayId: string,
  payload: Uint8Array,
): Promise<MessageOutcome> {
  if (!isUuid(gatewayId)) return 'unknown_gateway'
  const status = decode('gatewayStatus', payload)
  if (status === null) return 'invalid_payload'
  const now = new Date(ctx.deps.clock.now())
  return takeGatewayStatus(
    ctx.deps.db,
    gatewayId,
    { online: status.online, session: status.session ?? 0 },
    now,
  )
}

export async function handleLockLink(
  ctx: ChannelContext,
  gatewayId: string,
  lockId: string,
  payload: Uint8Array,
): Promise<MessageOutcome> {
  if (!isUuid(lockId)) return 'unknown_lock'
  const link = decode('lockLink', payload)
  if (link === null) return 'invalid_payload'
  const loaded = await loadLockForGateway(ctx, gatewayId, lockId)
  if ('refused' in loaded) return loaded.refused
  return takeLockLink(ctx.deps.db, gatewayId, lockId, link, new Date(ctx.deps.clock.now()))
}

export function timeRequestHandler(): (
  ctx: ChannelContext,
  gatewayId: string,
  lockId: string,
  payload: Uint8Array,
) => Promise<MessageOutcome> {
  const answeredAt = new Map<string, number>()
  return async (ctx, gatewayId, lockId, payload) => {
    if (!isUuid(lockId)) return 'unknown_lock'
    const request = decode('timeRequest', payload)
    if (request === null) return 'invalid_payload'
    const loaded = await loadLockForGateway(ctx, gatewayId, lockId)
    if ('refused' in loaded) return loaded.refused
    const last = answeredAt.get(lockId)
    if (last !== undefined && Date.now() - last < TIME_REQUEST_INTERVAL_MS) return 'throttled'
    answeredAt.set(lockId, Date.now())
    if (answeredAt.size > 10_000) answeredAt.delete(answeredAt.keys().next().value!)
    await ctx.send(lockId, { type: 'set_time', nowMs: ctx.deps.clock.now() })
    return 'accepted'
  }
}
