/**
 * The MQTT contract: one typed map of topic → payload. Every topic of a gateway lives under
 * `latchkey/v1/gw/{gatewayId}/`, so a broker ACL of `latchkey/v1/gw/{own id}/#` confines a gateway
 * to its own topics. Frames are binary (sealed, see frame.ts); the rest is JSON the gateway may
 * read and write, so the server treats it as untrusted hints (online, battery, link), never as truth
 * about codes, time or events.
 */
import { LatchkeyError } from '@latchkey/core'
import { z } from 'zod'

export const TOPIC_ROOT = 'latchkey/v1/gw'

export const ZGatewayStatus = z.object({
  online: z.boolean(),
  at: z.number().int(),
  /**
   * The gateway's connection this status belongs to, higher for every new connection (its last will
   * carries the same number): a status of an older connection, handled late, is ignored.
   */
  session: z.number().int().nonnegative().optional(),
  locks: z.array(z.string()).optional(),
})
export const ZLockLink = z.object({
  inRange: z.boolean(),
  battery: z.number().min(0).max(100).nullable(),
  at: z.number().int(),
})
/** The gateway asks the server for a sealed `set_time` (on connect, every 6 h, or on demand). */
export const ZTimeRequest = z.object({
  reason: z.enum(['connect', 'periodic', 'manual']),
  at: z.number().int(),
})
/** The server asks the gateway to fetch pending events from a lock now. */
export const ZPoll = z.object({ at: z.number().int() })

export interface TopicMap {
  /** gateway → server, retained; the last will publishes `{online:false}`. */
  gatewayStatus: { params: { gatewayId: string }; payload: z.infer<typeof ZGatewayStatus> }
  /** server → gateway → lock: a sealed command frame. */
  lockDown: { params: { gatewayId: string; lockId: string }; payload: Uint8Array }
  /** lock → gateway → server: a sealed reply or event batch. */
  lockUp: { params: { gatewayId: string; lockId: string }; payload: Uint8Array }
  /** gateway → server, retained: radio link and battery of one lock. */
  lockLink: { params: { gatewayId: string; lockId: string }; payload: z.infer<typeof ZLockLink> }
  /** gateway → server: please send this lock a sealed set_time. */
  timeRequest: { params: { gatewayId: string; lockId: string }; payload: z.infer<typeof ZTimeRequest> }
  /** server → gateway: upload this lock's pending events now. */
  poll: { params: { gatewayId: string; lockId: string }; payload: z.infer<typeof ZPoll> }
}
export type TopicName = keyof TopicMap

const SUFFIX: Record<TopicName, string> = {
  gatewayStatus: 'status',
  lockDown: 'down',
  lockUp: 'up',
  lockLink: 'link',
  timeRequest: 'time',
  poll: 'poll',
}
const JSON_SCHEMAS: Partial<Record<TopicName, z.ZodType>> = {
  gatewayStatus: ZGatewayStatus,
  lockLink: ZLockLink,
  timeRequest: ZTimeRequest,
  poll: ZPoll,
}

const ID = /^[A-Za-z0-9_-]{1,64}$/

function checkId(id: string): string {
  if (!ID.test(id))
    throw new LatchkeyError('validation_failed', `not a valid id for a topic: ${JSON.stringify(id)}`)
  return id
}

export function topic<N extends TopicName>(name: N, params: TopicMap[N]['params']): string {
  const p = params as { gatewayId: string; lockId?: string }
  const base = `${TOPIC_ROOT}/${checkId(p.gatewayId)}`
  if (name === 'gatewayStatus') return `${base}/${SUFFIX[name]}`
  return `${base}/lock/${checkId(p.lockId ?? '')}/${SUFFIX[name]}`
}

/** The filter a gateway may use for everything (its ACL), and a wildcard for the server's side. */
export function gatewayFilter(gatewayId: string): string {
  return `${TOPIC_ROOT}/${checkId(gatewayId)}/#`
}
export function serverFilter(name: TopicName): string {
  return name === 'gatewayStatus' ? `${TOPIC_ROOT}/+/status` : `${TOPIC_ROOT}/+/lock/+/${SUFFIX[name]}`
}

export type ParsedTopic = { [N in TopicName]: { name: N; params: TopicMap[N]['params'] } }[TopicName]

/** Reads a topic back into its name and params; null for anything outside the contract. */
export function parseTopic(value: string): ParsedTopic | null {
  const parts = value.split('/')
  if (parts.length < 4 || `${parts[0]}/${parts[1]}/${parts[2]}` !== TOPIC_ROOT) return null
  const gatewayId = parts[3]!
  if (!ID.test(gatewayId)) return null
  if (parts.length === 5 && parts[4] === SUFFIX.gatewayStatus)
    return { name: 'gatewayStatus', params: { gatewayId } }
  if (parts.length !== 7 || parts[4] !== 'lock' || !ID.test(parts[5]!)) return null
  const lockId = parts[5]!
  const name = (Object.keys(SUFFIX) as TopicName[]).find(
    (n) => n !== 'gatewayStatus' && SUFFIX[n] === parts[6],
  )
  return name ? ({ name, params: { gatewayId, lockId } } as ParsedTopic) : null
}

/** Encodes a payload for its topic: frames stay binary, the rest is JSON. */
export function encodePayload<N extends TopicName>(_name: N, payload: TopicMap[N]['payload']): Uint8Array {
  if (payload instanceof Uint8Array) return payload
  return new TextEncoder().encode(JSON.stringify(payload))
}

/** Decodes and validates a payload received on a topic (throws LatchkeyError 'validation_failed'). */
export function decodePayload<N extends TopicName>(name: N, bytes: Uint8Array): TopicMap[N]['payload'] {
  const schema = JSON_SCHEMAS[name]
  if (!schema) return bytes as TopicMap[N]['payload']
  let json: unknown
  try {
    json = JSON.parse(new TextDecoder().decode(bytes))
  } catch (cause) {
    throw new LatchkeyError('validation_failed', `payload on ${name} is not JSON`, { cause })
  }
  const parsed = schema.safeParse(json)
  if (!parsed.success)
    throw new LatchkeyError('validation_failed', `invalid payload on ${name}`, {
      details: parsed.error.issues,
    })
  return parsed.data as TopicMap[N]['payload']
}
