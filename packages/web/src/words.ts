/** The product's words for what the API says in codes (SPEC §7, §14): a person never reads a raw code. */
import type { ApiEvent, Lock } from './api/client.ts'

export const DENIAL_WORDS: Record<string, string> = {
  unknown_code: 'this code is not known to the lock',
  outside_schedule: 'outside its window',
  expired: 'the code has expired',
  already_used: 'the code was already used',
  uses_exhausted: 'the code has no uses left',
  locked_out: 'the keypad is locked after too many wrong codes',
  clock_not_set: "the lock's clock is not set",
  revoked: 'access was revoked',
}

export const denialWords = (reason: string | undefined): string =>
  (reason !== undefined ? DENIAL_WORDS[reason] : undefined) ?? 'the lock refused'

export const KIND_WORDS = {
  one_time: 'One-Time',
  timed: 'Timed',
  recurring: 'Recurring',
  permanent: 'Permanent',
} as const

export const STATUS_WORDS: Record<string, string> = {
  scheduled: 'Scheduled (goes on the lock shortly before it starts)',
  setting: 'Setting on the lock…',
  set: 'Set on the lock',
  removing: 'Removing from the lock…',
  removed: 'Removed',
  failed: 'Failed',
  issued: 'Issued (offline code)',
}

export const LEVEL_WORDS: Record<string, string> = {
  owner: 'Owner',
  admin: 'Admin',
  maintenance: 'Maintenance',
  restricted: 'Restricted',
  one_time: 'One-time',
}

/** Roles in an organization (SPEC §8). */
export const ROLE_WORDS = { owner: 'Owner', admin: 'Admin', member: 'Member' } as const
export type RoleName = keyof typeof ROLE_WORDS

const METHOD_WORDS: Record<string, string> = {
  keypad: 'with the keypad',
  app: 'with the app',
  remote: 'remotely',
}

/** One audit row in words: "Cleaner – Tuesday opened Front door with the keypad". */
export function eventWords(event: ApiEvent, lockName: (id: string | null) => string): string {
  const data = event.data as Record<string, string | undefined>
  const lock = data.lockName ?? lockName(event.lockId)
  const who = data.label ?? data.email ?? 'Someone'
  const name = data.name ?? data.label ?? data.description
  switch (event.type) {
    case 'lock.unlocked':
      return `${who} opened ${lock} ${METHOD_WORDS[data.method ?? ''] ?? ''}`.trim()
    case 'lock.access_denied':
      return `${lock} refused ${data.label ? `“${data.label}”` : 'a code'}: ${denialWords(data.reason)}`
    case 'lock.locked_out':
      return `${lock} locked its keypad after too many wrong codes`
    case 'lock.clock_synced':
      return `${lock}'s clock was synced`
    case 'lock.created':
      return `${lock} was registered`
    case 'lock.updated':
      return `${lock} was changed`
    case 'lock.deleted':
      return `${lock} was removed`
    case 'lock.code_added':
      return `${lock} stored a code${data.label ? ` (“${data.label}”)` : ''} in its table`
    case 'lock.code_removed':
      return `${lock} dropped a code${data.label ? ` (“${data.label}”)` : ''} from its table`
    case 'lock.events_lost':
      return `${lock} lost some of its log before it could upload it`
    case 'lock.frame_rejected':
      return `${lock} refused a message that was forged or replayed`
    case 'lock.power_restored':
      return `${lock} got power back; its clock needs a sync`
    case 'access_code.updated':
      return `Code “${name ?? ''}” was changed`
    case 'unique_code.device_reset':
      return `Unique code “${name ?? ''}” can sign in on a new device`
    case 'lock.online':
      return `${lock} is online`
    case 'lock.offline':
      return `${lock} went offline`
    case 'lock.capacity_low':
      return `${lock} is almost full of codes`
    case 'access_code.created':
      return `Code “${name ?? ''}” was created for ${lock}`
    case 'access_code.set_on_lock':
      return `Code “${name ?? ''}” was set on ${lock}`
    case 'access_code.failed_to_set':
      return `Code “${name ?? ''}” could not be set on ${lock}`
    case 'access_code.removed_from_lock':
      return `Code “${name ?? ''}” was removed from ${lock}`
    case 'access_code.deleted':
      return `Code “${name ?? ''}” was deleted`
    case 'access_code.expired':
      return `Code “${name ?? ''}” expired`
    case 'unique_code.created':
      return `Unique code “${name ?? ''}” was created`
    case 'unique_code.updated':
      return `Unique code “${name ?? ''}” was changed`
    case 'ekey.issued':
      return `An app key for ${lock} was issued`
    case 'unique_code.deleted':
      return `Unique code “${name ?? ''}” was deleted`
    case 'unique_code.login':
      return `Unique code “${name ?? ''}” signed in to the app`
    case 'unique_code.login_failed':
      return 'A Code Login attempt was refused'
    case 'permission.granted':
      return `${lock} was shared`
    case 'permission.revoked':
      return `A share of ${lock} was revoked`
    case 'stay.created':
      return `A stay of ${who} was added`
    case 'stay.updated':
      return `The stay of ${who} was changed`
    case 'stay.cancelled':
      return `The stay of ${who} was cancelled`
    case 'stay.code_not_confirmed':
      return `The code of ${who}’s stay is not yet set on every lock`
    case 'gateway.online':
      return 'A gateway is online'
    case 'gateway.offline':
      return 'A gateway went offline'
    default:
      return `Something happened (${event.type.split('.')[0]?.replaceAll('_', ' ')})`
  }
}

/** Online, or offline and why: the gateway's own status says which (a Matter lock has none). */
export function reachWords(lock: Lock, gatewayOnline: (id: string) => boolean | undefined): string {
  if (lock.online) return 'Online'
  if (lock.driver === 'matter') return 'Offline: the lock does not answer'
  if (lock.gatewayId === null) return 'Offline: no gateway'
  return gatewayOnline(lock.gatewayId) === false
    ? 'Offline: its gateway is offline'
    : "Offline: out of its gateway's range"
}

export function clockWords(lock: Lock): string {
  // the server never sets a Matter lock's clock
  if (lock.driver === 'matter') return 'Clock kept by the lock'
  if (!lock.clockSet) return 'Clock not set'
  if (lock.clockOffsetMs === null)
    return lock.clockSyncedAt === null ? 'Clock not synced yet' : 'Clock synced'
  const seconds = Math.round(lock.clockOffsetMs / 1000)
  return seconds === 0 ? 'Clock on time' : `Clock ${Math.abs(seconds)} s ${seconds > 0 ? 'fast' : 'slow'}`
}
