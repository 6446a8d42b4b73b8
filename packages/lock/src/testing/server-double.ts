/**
 * Plays the server's side of one lock, for tests: makes a provisioning bundle with a random secret and
 * a fresh eKey signing key, seals commands with its own counter, opens the lock's replies and event
 * batches, stores events once by seq and acknowledges them, issues offline PINs and signs eKeys.
 * It talks to the lock only through frames, as the real server does.
 */
import { type AccessRule, HOUR_MS, issueOfflinePin, type OfflineKind } from '@latchkey/core'
import {
  type Command,
  deriveLockKeys,
  type EKeyClaims,
  generateServerKeyPair,
  hmacSha256,
  type LockEvent,
  type LockKeys,
  type LockMessage,
  openLockMessage,
  type ProvisioningBundle,
  parseBundle,
  type Reply,
  randomSecret,
  type ServerKeyPair,
  sealCommand,
  signEKey,
  type TableReport,
} from '@latchkey/protocol'
import type { Lock } from '../lock.ts'

export interface ServerDoubleOptions {
  lockId?: string
  timezone?: string
  capacity?: number
  ledgerCapacity?: number
  eventCapacity?: number
}

/** The most batches `collectEvents` fetches in one call (a ring of 100 000 events is 1000 batches). */
const MAX_BATCHES = 1100

export class ServerDouble {
  readonly bundle: ProvisioningBundle
  readonly secret: Uint8Array
  readonly keys: LockKeys
  readonly signing: ServerKeyPair
  /** Events stored so far, by seq: a second copy of a seq is not stored again, only counted. */
  readonly events = new Map<number, LockEvent>()
  /** Copies of an already stored seq that arrived again (a batch re-sent before its ack). */
  resent = 0
  /** Copies of a stored seq whose content differed: must never happen. */
  conflicts = 0
  #sent = 0
  #received = 0
  #ids = 0

  constructor(options: ServerDoubleOptions = {}) {
    this.secret = randomSecret()
    this.keys = deriveLockKeys(this.secret)
    this.signing = generateServerKeyPair()
    this.bundle = parseBundle({
      v: 1,
      lockId: options.lockId ?? 'lock-1',
      name: 'Front door',
      secret: Buffer.from(this.secret).toString('base64'),
      model: 'LK-100',
      capacity: options.capacity ?? 250,
      ledgerCapacity: options.ledgerCapacity ?? 64,
      eventCapacity: options.eventCapacity ?? 500,
      timezone: options.timezone ?? 'Europe/Berlin',
      serverPublicKey: this.signing.publicKey,
      gatewayId: 'gw-1',
    })
  }

  get lockId(): string {
    return this.bundle.lockId
  }

  /** Seals a command with the next counter; returns the frame and the envelope id. */
  seal(command: Command): { frame: Uint8Array; id: string } {
    this.#sent += 1
    this.#ids += 1
    const id = `cmd-${this.#ids}`
    return {
      frame: sealCommand(this.keys.command, this.lockId, this.#sent, { kind: 'command', id, command }),
      id,
    }
  }

  /** Opens a frame from the lock (throws on a forged or replayed one). */
  open(frame: Uint8Array): LockMessage {
    const { counter, message } = openLockMessage(this.keys.command, this.lockId, this.#received, frame)
    this.#received = counter
    return message
  }

  /** Sends a command and returns the lock's reply, checking that it echoes the command's id. */
  send(lock: Lock, command: Command): Reply {
    const { frame, id } = this.seal(command)
    const up = lock.receiveFrame(frame)
    if (up === null) throw new Error(`the lock refused the frame of ${command.type}`)
    const message = this.open(up)
    if (message.kind !== 'reply' || message.id !== id) throw new Error(`expected the reply to ${id}`)
    return message
  }

  /** Sends a command that must succeed; returns its data. */
  ok(lock: Lock, command: Command): unknown {
    const reply = this.send(lock, command)
    if (reply.status !== 'ok')
      throw new Error(`${command.type} failed: ${reply.error.code} ${reply.error.message}`)
    return reply.data
  }

  setCode(lock: Lock, codeId: string, pin: string, rule: AccessRule): Reply {
    return this.send(lock, { type: 'set_code', codeId, pin, rule })
  }

  setTime(lock: Lock, nowMs: number): { offsetMs: number | null } {
    return this.ok(lock, { type: 'set_time', nowMs }) as { offsetMs: number | null }
  }

  readTable(lock: Lock): TableReport {
    return this.ok(lock, { type: 'read_table' }) as TableReport
  }

  /** Takes one event batch, stores its events by seq; does not acknowledge. Returns the batch. */
  fetchBatch(lock: Lock): LockEvent[] {
    const frame = lock.pendingEvents()
    if (frame === null) return []
    const message = this.open(frame)
    if (message.kind !== 'events') throw new Error('expected an event batch')
    for (const event of message.events) {
      const stored = this.events.get(event.seq)
      if (stored === undefined) this.events.set(event.seq, event)
      else if (JSON.stringify(stored) === JSON.stringify(event)) this.resent += 1
      else this.conflicts += 1
    }
    return message.events
  }

  /** Fetches and acknowledges batches until the lock has none left; returns what arrived, in order. */
  collectEvents(lock: Lock): LockEvent[] {
    const all: LockEvent[] = []
    for (let i = 0; i < MAX_BATCHES; i++) {
      const batch = this.fetchBatch(lock)
      if (batch.length === 0) return all
      all.push(...batch)
      this.ok(lock, { type: 'ack_events', upToSeq: batch[batch.length - 1]!.seq })
    }
    throw new Error('the lock kept sending events')
  }

  /** Issues an offline PIN as the server would (hour precision, derived from the lock's secret). */
  issueOffline(
    kind: OfflineKind,
    startsAt: number,
    endsAt?: number,
  ): { pin: string; h: number; startsAt: number } {
    const issued = issueOfflinePin({
      hmac: hmacSha256,
      pinKey: this.keys.pin,
      lockId: this.lockId,
      kind,
      startsAt,
      ...(endsAt === undefined ? {} : { endsAt }),
      livePins: new Set(),
    })
    return { pin: issued.pin, h: issued.h, startsAt: issued.startsAt }
  }

  /** Signs an eKey for this lock; by default a restricted key valid for a day from `from`. */
  eKey(from: number, claims: Partial<EKeyClaims> = {}): string {
    return signEKey(this.signing.privateKeyPem, {
      keyId: 'key-1',
      shareId: 'share-1',
      lockId: this.lockId,
      level: 'restricted',
      notBefore: from,
      notAfter: from + 24 * HOUR_MS,
      ...claims,
    })
  }
}
