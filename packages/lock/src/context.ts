/**
 * What a behaviour (a keypad entry, an eKey, one kind of command) sees of the lock: its bundle, its
 * keys, its state in flash, the two clocks, and the event log. Behaviours change `state` and log
 * events; the lock persists after each one.
 */
import type { ProvisioningBundle } from '@latchkey/protocol'
import type { EventBody } from './event-ring.ts'
import type { LockState } from './state.ts'

export interface LockKeys {
  /** Offline PIN key (HKDF of the secret). */
  pin: Uint8Array
  /** Command channel key (HKDF of the secret). */
  command: Uint8Array
  /** Hashes recorded offline codes. */
  record: Uint8Array
  /** Hashes the digits of an unknown PIN in its `access_denied` event (HKDF of the secret). */
  denied: Uint8Array
}

export interface LockContext {
  readonly bundle: ProvisioningBundle
  readonly keys: LockKeys
  readonly state: LockState
  /** The true time (the lock's own timers run on it; it never reads it as a date). */
  worldNow(): number
  /** The RTC: what the lock believes is the time, null when unset. */
  clockNow(): number | null
  /** Appends an event stamped with the RTC. */
  log(event: EventBody): void
}
