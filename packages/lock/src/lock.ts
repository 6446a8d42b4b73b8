/**
 * A lock as its firmware would be: fed by sealed frames (from the server, through an untrusted
 * gateway), keypad entries and eKeys presented over the radio; it answers with sealed replies and
 * sealed event batches. The true time (`world`) drives its timers; what it believes is the time is
 * its own drifting RTC. With a `stateDir` everything it holds is in flash (`<stateDir>/<lockId>.json`,
 * written atomically after every change), so `Lock.open` on the same directory is a restart.
 */
import { type Clock, isLatchkeyError, LatchkeyError } from '@latchkey/core'
import {
  deriveLockKeys,
  hmacSha256,
  type LockMessage,
  openCommand,
  type ProvisioningBundle,
  parseBundle,
  type Reply,
  sealLockMessage,
} from '@latchkey/protocol'
import { MAX_GRACE_MS } from './commands/access.ts'
import { applyCommand } from './commands/index.ts'
import type { LockContext, LockKeys } from './context.ts'
import { presentEKey } from './ekey-check.ts'
import { type EventBody, pendingBatch, recordEvent, ringView } from './event-ring.ts'
import { Flash } from './flash.ts'
import { type AccessResult, keypadEntry } from './keypad.ts'
import { lockoutRemainingMs } from './lockout.ts'
import { recordKey } from './offline-codes.ts'
import { rtcAdvance, rtcNow, rtcSetDrift, rtcUnset } from './rtc.ts'
import { type LockState, newState } from './state.ts'

export interface LockOptions {
  /** The true time: the system clock, or a SimulatedClock in demos and tests. */
  world: Clock
  /** Where the lock keeps its flash; without it the lock lives in memory only. */
  stateDir?: string
  /** Grace for drift on synced codes and eKeys of a new lock (default 2 min; `configure` changes it). */
  graceMs?: number
}

const FRAME_ERRORS = ['frame_truncated', 'frame_unsupported', 'frame_forged', 'frame_replayed'] as const
type FrameError = (typeof FRAME_ERRORS)[number]

function decodeSecret(secret: string): Uint8Array {
  // Node's base64 decoder reads both the standard and the URL-safe alphabet.
  const bytes = new Uint8Array(Buffer.from(secret, 'base64'))
  if (bytes.length !== 32)
    throw new LatchkeyError('validation_failed', 'the lock secret must be 32 bytes, base64')
  return bytes
}

export class Lock {
  readonly bundle: ProvisioningBundle
  readonly #world: Clock
  readonly #keys: LockKeys
  readonly #flash: Flash | null
  readonly #state: LockState
  readonly #ctx: LockContext

  private constructor(
    bundle: ProvisioningBundle,
    keys: LockKeys,
    state: LockState,
    world: Clock,
    flash: Flash | null,
  ) {
    this.bundle = bundle
    this.#keys = keys
    this.#state = state
    this.#world = world
    this.#flash = flash
    this.#ctx = {
      bundle,
      keys,
      state,
      worldNow: () => world.now(),
      clockNow: () => this.#clockNow(),
      log: (event) => this.#log(event),
    }
  }

  /**
   * Starts a lock from its provisioning bundle. With a stateDir holding this lock's flash, it comes
   * back as it was; flash written under another secret is a lock provisioned anew, which starts empty.
   */
  static open(bundleInput: ProvisioningBundle | unknown, options: LockOptions): Lock {
    const bundle = parseBundle(bundleInput)
    const { graceMs } = options
    if (
      graceMs !== undefined &&
      !(Number.isSafeInteger(graceMs) && graceMs >= 0 && graceMs <= MAX_GRACE_MS)
    ) {
      throw new LatchkeyError(
        'validation_failed',
        `graceMs must be a whole number of ms from 0 to ${MAX_GRACE_MS}`,
      )
    }
    const secret = decodeSecret(bundle.secret)
    const derived = deriveLockKeys(secret)
    const keys: LockKeys = { ...derived, record: recordKey(derived.pin) }
    const secretFingerprint = Buffer.from(
      hmacSha256(secret, new TextEncoder().encode('latchkey lock: flash fingerprint')),
    ).toString('base64')
    const flash = options.stateDir === undefined ? null : new Flash(options.stateDir, bundle.lockId)
    const stored = flash?.read() ?? null
    const state =
      stored !== null && stored.lockId === bundle.lockId && stored.secretFingerprint === secretFingerprint
        ? stored
        : newState(bundle, {
            secretFingerprint,
            ...(graceMs === undefined ? {} : { graceMs }),
          })
    const lock = new Lock(bundle, keys, state, options.world, flash)
    if (stored !== state) lock.#persist()
    return lock
  }

  get id(): string {
    return this.bundle.lockId
  }

  /**
   * A sealed command from the server. Returns the sealed reply, or null when the frame is refused
   * (truncated, unsupported, forged, replayed or not a valid command): that is logged as
   * `frame_rejected`, and the receive counter stays where it was.
   */
  receiveFrame(frame: Uint8Array): Uint8Array | null {
    let opened: ReturnType<typeof openCommand>
    try {
      opened = openCommand(this.#keys.command, this.id, this.#state.counters.rx, frame)
    } catch (error) {
      if (!isLatchkeyError(error)) throw error
      const reason: FrameError = (FRAME_ERRORS as readonly string[]).includes(error.code)
        ? (error.code as FrameError)
        : 'frame_unsupported'
      this.#log({ type: 'frame_rejected', reason })
      this.#persist()
      return null
    }
    const { counter, envelope } = opened
    this.#state.counters.rx = Math.max(this.#state.counters.rx, counter)
    const outcome = applyCommand(this.#ctx, envelope.command)
    const reply: Reply = { kind: 'reply', id: envelope.id, ...outcome } as Reply
    return this.#sealAndPersist(reply)
  }

  /** A keypad entry (digits only). */
  keypad(digits: string): AccessResult {
    const result = keypadEntry(this.#ctx, digits)
    this.#persist()
    return result
  }

  /** An eKey presented by the app over the radio link. */
  presentEKey(credential: string): AccessResult {
    const result = presentEKey(this.#ctx, credential)
    this.#persist()
    return result
  }

  /**
   * The oldest unacknowledged events (at most 100) as a sealed EventBatch, sealed anew with a fresh
   * counter on every call; null when there are none. Events stay until the server acknowledges them.
   */
  pendingEvents(): Uint8Array | null {
    const events = pendingBatch(this.#state.events)
    if (events.length === 0) return null
    return this.#sealAndPersist({ kind: 'events', events })
  }

  /** Sets the crystal's drift in ppm (positive: the clock runs fast). */
  setDrift(ppm: number): void {
    rtcSetDrift(this.#state.rtc, this.#world.now(), ppm)
    this.#persist()
  }

  /** Moves this lock's clock alone (negative: back); an unset clock stays unset. */
  advanceClock(ms: number): void {
    rtcAdvance(this.#state.rtc, ms)
    this.#persist()
  }

  /** The battery ran out and came back: the clock is unset, everything in flash is kept. */
  powerLoss(): void {
    rtcUnset(this.#state.rtc)
    this.#log({ type: 'power_restored' })
    this.#persist()
  }

  /** The lock's own state for the simulator control API (no PINs, no keys). */
  view() {
    const state = this.#state
    const world = this.#world.now()
    const clockMs = this.#clockNow()
    const remainingMs = lockoutRemainingMs(state.lockout, world)
    return {
      id: this.id,
      name: this.bundle.name,
      model: this.bundle.model,
      timezone: state.settings.timezone,
      graceMs: state.settings.graceMs,
      capacity: {
        codes: { used: state.codes.length, total: this.bundle.capacity },
        ledger: { used: state.offline.oneTime.length, total: this.bundle.ledgerCapacity },
        activatedOffline: { used: state.offline.activated.length, total: this.bundle.ledgerCapacity },
        events: { used: state.events.items.length, total: this.bundle.eventCapacity },
      },
      codes: state.codes.map((c) => ({
        codeId: c.codeId,
        kind: c.rule.kind,
        uses: c.uses,
        rule: { ...c.rule },
      })),
      ledger: state.offline.oneTime.map((e) => ({
        h: e.h,
        startsAt: e.startsAt,
        endsAt: e.endsAt,
        usedAt: e.usedAt,
      })),
      activatedOffline: state.offline.activated.map((e) => ({
        h: e.h,
        kind: e.kind,
        startsAt: e.startsAt,
        endsAt: e.endsAt,
        firstUsedAt: e.firstUsedAt,
        uses: e.uses,
      })),
      clock: {
        ms: clockMs,
        iso: clockMs === null ? null : new Date(clockMs).toISOString(),
        driftPpm: state.rtc.driftPpm,
      },
      lockout: {
        lockedOut: remainingMs > 0,
        remainingMs,
        wrongAttempts: state.lockout.wrong,
        level: state.lockout.level,
      },
      events: ringView(state.events, this.bundle.eventCapacity),
      revocations: state.ekeys.revoked.length,
      counters: { ...state.counters },
    }
  }

  #clockNow(): number | null {
    return rtcNow(this.#state.rtc, this.#world.now())
  }

  #log(event: EventBody): void {
    recordEvent(this.#state.events, this.bundle.eventCapacity, {
      ...event,
      at: this.#clockNow(),
    } as Parameters<typeof recordEvent>[2])
  }

  #sealAndPersist(message: LockMessage): Uint8Array {
    this.#state.counters.tx += 1
    const frame = sealLockMessage(this.#keys.command, this.id, this.#state.counters.tx, message)
    this.#persist()
    return frame
  }

  #persist(): void {
    this.#flash?.write(this.#state)
  }
}

export type LockView = ReturnType<Lock['view']>
