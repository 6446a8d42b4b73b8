/**
 * A gateway: bridges locks on its (simulated) radio link to the server over MQTT (SPEC §5).
 *
 * It is an untrusted relay: it passes sealed frames between the server and a lock and can read or
 * forge none of them (the lock's secret stays inside the Lock object). It
 * - relays every `lockDown` frame to the lock when the lock is in range (else drops it: the server
 *   retries) and publishes the lock's sealed reply on `lockUp`;
 * - uploads the lock's pending events (a sealed batch) on connect, after every keypad or eKey use,
 *   on the server's `poll`, every `pollIntervalMs`, and again after each acknowledgement that leaves
 *   more pending. It never holds events itself: they stay in the lock's flash until the server
 *   acknowledges them, so a crash of the gateway loses none;
 * - asks the server for each lock's time on connect and every `syncIntervalMs` of world time;
 * - reports itself (retained `gatewayStatus`, with a last will for when it vanishes) and each lock's
 *   radio link and battery (retained `lockLink`).
 *
 * MQTT: client id = username = gateway id, password = its token, persistent session (clean = false)
 * and QoS 1 for frames, so commands sent while the gateway was away are delivered when it returns.
 */
import { mkdirSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { ConnectionOptions } from 'node:tls'
import { type Clock, LatchkeyError, withinTimeLimit } from '@latchkey/core'
import { EVENT_BATCH_LIMIT, Lock, writeFileAtomic } from '@latchkey/lock'
import {
  decodePayload,
  encodePayload,
  type ProvisioningBundle,
  parseBundle,
  parseTopic,
  type TopicMap,
  type TopicName,
  topic,
} from '@latchkey/protocol'
import mqtt, { type IClientOptions, type IClientPublishOptions, type MqttClient } from 'mqtt'

export const DEFAULT_SYNC_INTERVAL_MS = 6 * 60 * 60 * 1000
export const DEFAULT_POLL_INTERVAL_MS = 60_000

export interface GatewayOptions {
  gatewayId: string
  token: string
  mqttUrl: string
  /** The true time: the system clock, or a SimulatedClock in demos and tests. */
  world: Clock
  /**
   * Where attached locks are kept (their bundles, and each lock's flash), so that a restarted
   * gateway hosts the same locks in the same state. Without it everything lives in memory.
   */
  stateDir?: string
  /** World time between two clock syncs of a lock (default 6 h). */
  syncIntervalMs?: number
  /** Real time between two uploads of events still unacknowledged (default 60 s). */
  pollIntervalMs?: number
  /** Battery level reported for the locks, in percent (default 100). */
  battery?: number | ((lockId: string) => number | null)
  /** Real time between reconnection attempts (default 1 s). */
  reconnectPeriodMs?: number
  /** For `mqtts://`: certificate authorities to trust beyond the system's (LATCHKEY_MQTT_CA), or a pinned certificate. */
  tls?: Pick<ConnectionOptions, 'ca' | 'checkServerIdentity'>
  log?: (message: string) => void
}

export interface GatewayLockStatus {
  id: string
  name: string
  inRange: boolean
}

export interface GatewayStatus {
  gatewayId: string
  /** Asked to be on the network (setOnline). */
  online: boolean
  /** Connected to the broker right now. */
  connected: boolean
  locks: GatewayLockStatus[]
}

interface Hosted {
  lock: Lock
  inRange: boolean
  /** World time of the next periodic clock sync. */
  nextSyncAt: number
  /** The seqs of the event batch last uploaded (`first:last`), so the same batch is not re-sent at once. */
  uploaded: string | null
}

const TICK_MS = 1000

export class Gateway {
  readonly gatewayId: string
  readonly #options: GatewayOptions
  readonly #world: Clock
  readonly #syncIntervalMs: number
  readonly #pollIntervalMs: number
  readonly #locks = new Map<string, Hosted>()
  readonly #log: (message: string) => void
  #client: MqttClient | null = null
  #token: string
  /** The current connection's number (see ZGatewayStatus.session). */
  #session = 0
  #online = true
  #started = false
  #timer: NodeJS.Timeout | null = null
  #lastPeriodicUpload = 0

  constructor(options: GatewayOptions) {
    // topic() validates the id against the topic grammar.
    topic('gatewayStatus', { gatewayId: options.gatewayId })
    this.gatewayId = options.gatewayId
    this.#options = options
    this.#token = options.token
    this.#world = options.world
    this.#syncIntervalMs = options.syncIntervalMs ?? DEFAULT_SYNC_INTERVAL_MS
    this.#pollIntervalMs = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS
    this.#log = options.log ?? (() => {})
    if (options.stateDir) this.#loadAttached(options.stateDir)
  }

  /** Connects to the broker (unless set offline) and starts the periodic work. */
  async start(): Promise<void> {
    if (this.#started) return
    this.#started = true
    this.#lastPeriodicUpload = Date.now()
    this.#timer = setInterval(
      () => {
        try {
          this.#tick()
        } catch (error) {
          this.#log(`periodic work failed: ${(error as Error).message}`)
        }
      },
      Math.min(TICK_MS, this.#pollIntervalMs),
    )
    this.#timer.unref()
    if (this.#online) this.#connect()
  }

  /** Says goodbye (retained `online:false`) and disconnects. Lock state is already in flash. */
  async stop(): Promise<void> {
    if (!this.#started) return
    this.#started = false
    if (this.#timer) clearInterval(this.#timer)
    this.#timer = null
    const client = this.#client
    this.#client = null
    if (!client) return
    if (client.connected) {
      await withinTimeLimit(
        client.publishAsync(
          ...this.#message('gatewayStatus', { gatewayId: this.gatewayId }, this.#statusPayload(false), true),
        ),
        5000,
      ).catch(() => {})
      await withinTimeLimit(client.endAsync(), 5000).catch(() => client.end(true))
    } else {
      client.end(true)
    }
  }

  /**
   * Hosts a lock from its provisioning bundle. The bundle is kept in stateDir (as a lock keeps it in
   * its flash) and handed to the Lock, which alone uses its secret.
   */
  async attach(bundleInput: ProvisioningBundle | unknown): Promise<Lock> {
    const bundle = parseBundle(bundleInput)
    if (bundle.gatewayId !== null && bundle.gatewayId !== this.gatewayId) {
      throw new LatchkeyError(
        'conflict',
        `lock ${bundle.lockId} is assigned to gateway ${bundle.gatewayId}, not to ${this.gatewayId}`,
      )
    }
    const lock = this.#host(bundle)
    if (this.#options.stateDir) {
      writeFileAtomic(
        join(this.#options.stateDir, 'attached', `${bundle.lockId}.json`),
        JSON.stringify(bundle),
      )
    }
    this.#log(`lock ${lock.id} attached`)
    const client = this.#client
    if (client?.connected) {
      const hosted = this.#locks.get(lock.id)!
      this.#subscribe(client, [lock.id])
      this.#publishStatus(client)
      this.#announce(client, hosted, 'connect')
    }
    return lock
  }

  lock(lockId: string): Lock | undefined {
    return this.#locks.get(lockId)?.lock
  }

  /** The hosted lock, or a not_found error. */
  requireLock(lockId: string): Lock {
    const lock = this.lock(lockId)
    if (!lock) throw new LatchkeyError('not_found', `no lock ${lockId} on gateway ${this.gatewayId}`)
    return lock
  }

  locks(): Lock[] {
    return [...this.#locks.values()].map((h) => h.lock)
  }

  isInRange(lockId: string): boolean {
    return this.#hosted(lockId).inRange
  }

  status(): GatewayStatus {
    return {
      gatewayId: this.gatewayId,
      online: this.#online,
      connected: this.#client?.connected ?? false,
      locks: [...this.#locks.values()].map((h) => ({
        id: h.lock.id,
        name: h.lock.bundle.name,
        inRange: h.inRange,
      })),
    }
  }

  /** The simulated radio link between this gateway and one lock. */
  setInRange(lockId: string, inRange: boolean): void {
    const hosted = this.#hosted(lockId)
    if (hosted.inRange === inRange) return
    hosted.inRange = inRange
    this.#log(`lock ${lockId} ${inRange ? 'back in range' : 'out of range'}`)
    const client = this.#client
    if (!client?.connected) return
    if (inRange) this.#announce(client, hosted, 'connect')
    else this.#publishLink(client, hosted)
  }

  /**
   * A new token, after the server rotated it (the broker then ended this gateway's session and
   * refuses the old one): used from the next connection attempt on.
   */
  setToken(token: string): void {
    this.#token = token
    if (this.#client !== null) this.#client.options.password = token
  }

  /** Cuts the gateway off the broker (as a network failure would: the broker publishes its last will) or reconnects it. */
  setOnline(online: boolean): void {
    if (this.#online === online) return
    this.#online = online
    this.#log(online ? 'link to the server restored' : 'link to the server cut')
    if (!this.#started) return
    if (online) {
      this.#connect()
    } else {
      const client = this.#client
      this.#client = null
      // No DISCONNECT packet: to the broker this is a lost connection, so it publishes the will.
      client?.end(true)
    }
  }

  isOnline(): boolean {
    return this.#online
  }

  /** A PIN typed on a lock's keypad; its events go up at once. */
  keypad(lockId: string, digits: string) {
    const hosted = this.#hosted(lockId)
    const result = hosted.lock.keypad(digits)
    this.#uploadEvents(hosted, false)
    return result
  }

  /** An app credential presented to a lock over the radio link; its events go up at once. */
  presentEKey(lockId: string, credential: string) {
    const hosted = this.#hosted(lockId)
    const result = hosted.lock.presentEKey(credential)
    this.#uploadEvents(hosted, false)
    return result
  }

  /**
   * Moves, skews or resets a lock's clock (simulator). After a power loss the lock rejoins the radio
   * network with an unset clock, so the gateway asks the server for its time as on a connect.
   */
  changeLockClock(
    lockId: string,
    change: { advanceMs?: number; driftPpm?: number; powerLoss?: boolean },
  ): void {
    const hosted = this.#hosted(lockId)
    if (change.powerLoss) hosted.lock.powerLoss()
    if (change.driftPpm !== undefined) hosted.lock.setDrift(change.driftPpm)
    if (change.advanceMs !== undefined) hosted.lock.advanceClock(change.advanceMs)
    const client = this.#client
    if (change.powerLoss && client?.connected && hosted.inRange) this.#announce(client, hosted, 'connect')
    else this.#uploadEvents(hosted, false)
  }

  // --- internals -------------------------------------------------------------------------------

  #hosted(lockId: string): Hosted {
    const hosted = this.#locks.get(lockId)
    if (!hosted) throw new LatchkeyError('not_found', `no lock ${lockId} on gateway ${this.gatewayId}`)
    return hosted
  }

  /** Opens the lock on its flash (a restart when the flash is there) and hosts it. */
  #host(bundle: ProvisioningBundle): Lock {
    const stateDir = this.#options.stateDir ? join(this.#options.stateDir, 'locks') : undefined
    const lock = Lock.open(bundle, { world: this.#world, ...(stateDir ? { stateDir } : {}) })
    const existing = this.#locks.get(lock.id)
    this.#locks.set(lock.id, {
      lock,
      inRange: existing?.inRange ?? true,
      nextSyncAt: this.#world.now() + this.#syncIntervalMs,
      uploaded: null,
    })
    return lock
  }

  #loadAttached(stateDir: string): void {
    const dir = join(stateDir, 'attached')
    mkdirSync(dir, { recursive: true })
    for (const file of readdirSync(dir).sort()) {
      if (!file.endsWith('.json') || file.startsWith('.')) continue
      this.#host(parseBundle(JSON.parse(readFileSync(join(dir, file), 'utf8'))))
    }
  }

  /** A new connection gets a higher number than any before, across restarts of the process too. */
  #nextSession(): void {
    this.#session = Math.max(this.#session + 1, Date.now())
  }

  #connect(): void {
    const status = topic('gatewayStatus', { gatewayId: this.gatewayId })
    this.#nextSession()
    const client = mqtt.connect(this.#options.mqttUrl, {
      ...(this.#options.tls as IClientOptions | undefined),
      clientId: this.gatewayId,
      username: this.gatewayId,
      password: this.#token,
      clean: false,
      protocolVersion: 4,
      reconnectPeriod: this.#options.reconnectPeriodMs ?? 1000,
      // a refused login is tried again too: the broker may be restarting, or the token is being rotated
      reconnectOnConnackError: true,
      connectTimeout: 10_000,
      will: {
        topic: status,
        payload: Buffer.from(encodePayload('gatewayStatus', this.#statusPayload(false))),
        qos: 1,
        retain: true,
      },
    })
    this.#client = client
    client.on('reconnect', () => {
      // every connection its own number, and its last will says that number
      if (this.#client !== client || client.options.will === undefined) return
      this.#nextSession()
      client.options.will.payload = Buffer.from(encodePayload('gatewayStatus', this.#statusPayload(false)))
    })
    client.on('connect', () => {
      if (this.#client !== client) return
      this.#log(`connected to ${this.#options.mqttUrl}`)
      try {
        this.#onConnect(client)
      } catch (error) {
        this.#log(`announcing the locks failed: ${(error as Error).message}`)
      }
    })
    client.on('message', (name, payload) => {
      if (this.#client !== client) return
      try {
        this.#onMessage(client, name, new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength))
      } catch (error) {
        // A lock that cannot write its flash must not take the gateway (and its other locks) down.
        this.#log(`message on ${name} failed: ${(error as Error).message}`)
      }
    })
    client.on('offline', () => this.#client === client && this.#log('broker unreachable; retrying'))
    client.on('error', (error) => this.#client === client && this.#log(`mqtt: ${error.message}`))
  }

  #onConnect(client: MqttClient): void {
    this.#subscribe(client, [...this.#locks.keys()])
    this.#publishStatus(client)
    for (const hosted of this.#locks.values()) {
      hosted.uploaded = null
      this.#announce(client, hosted, 'connect')
    }
  }

  /** A lock (re)joined: its link, a time request, and whatever events it holds. */
  #announce(client: MqttClient, hosted: Hosted, reason: 'connect' | 'periodic'): void {
    this.#publishLink(client, hosted)
    if (!hosted.inRange) return
    this.#requestTime(client, hosted, reason)
    this.#uploadEvents(hosted, true)
  }

  #subscribe(client: MqttClient, lockIds: string[]): void {
    if (lockIds.length === 0) return
    const filters = lockIds.flatMap((lockId) => [
      topic('lockDown', { gatewayId: this.gatewayId, lockId }),
      topic('poll', { gatewayId: this.gatewayId, lockId }),
    ])
    client.subscribe(filters, { qos: 1 }, (error, granted) => {
      if (error) this.#log(`subscribe failed: ${error.message}`)
      const refused = (granted ?? []).filter((g) => g.qos === 128).map((g) => g.topic)
      if (refused.length > 0) this.#log(`the broker refused subscriptions: ${refused.join(', ')}`)
    })
  }

  #onMessage(client: MqttClient, name: string, payload: Uint8Array): void {
    const parsed = parseTopic(name)
    if (!parsed || parsed.params.gatewayId !== this.gatewayId || !('lockId' in parsed.params)) return
    const hosted = this.#locks.get(parsed.params.lockId)
    if (!hosted) return
    if (parsed.name === 'lockDown') {
      if (!hosted.inRange) {
        this.#log(`lock ${hosted.lock.id} out of range: frame dropped`)
        return
      }
      const reply = hosted.lock.receiveFrame(payload)
      if (reply) this.#publish(client, 'lockUp', { gatewayId: this.gatewayId, lockId: hosted.lock.id }, reply)
      // An acknowledgement may have left more events; a command may have logged new ones.
      this.#uploadEvents(hosted, false)
    } else if (parsed.name === 'poll') {
      try {
        decodePayload('poll', payload)
      } catch {
        return
      }
      this.#uploadEvents(hosted, true)
    }
  }

  /**
   * Publishes the lock's oldest pending events (a sealed batch). Without `force`, a batch with the
   * same seqs as the one last uploaded is not sent again (it is on its way; the acknowledgement,
   * a poll, a reconnect or the periodic upload moves things on).
   */
  #uploadEvents(hosted: Hosted, force: boolean): void {
    const client = this.#client
    if (!client?.connected || !hosted.inRange) return
    const ring = hosted.lock.view().events
    if (ring.unacked === 0 || ring.firstUnackedSeq === null) {
      hosted.uploaded = null
      return
    }
    const batch = `${ring.firstUnackedSeq}:${Math.min(ring.lastSeq, ring.firstUnackedSeq + EVENT_BATCH_LIMIT - 1)}`
    if (!force && hosted.uploaded === batch) return
    const frame = hosted.lock.pendingEvents()
    if (!frame) return
    hosted.uploaded = batch
    this.#publish(client, 'lockUp', { gatewayId: this.gatewayId, lockId: hosted.lock.id }, frame)
  }

  #requestTime(client: MqttClient, hosted: Hosted, reason: 'connect' | 'periodic'): void {
    hosted.nextSyncAt = this.#world.now() + this.#syncIntervalMs
    this.#publish(
      client,
      'timeRequest',
      { gatewayId: this.gatewayId, lockId: hosted.lock.id },
      {
        reason,
        at: this.#world.now(),
      },
    )
  }

  #publishLink(client: MqttClient, hosted: Hosted): void {
    const battery = this.#options.battery
    const level = typeof battery === 'function' ? battery(hosted.lock.id) : (battery ?? 100)
    this.#publish(
      client,
      'lockLink',
      { gatewayId: this.gatewayId, lockId: hosted.lock.id },
      { inRange: hosted.inRange, battery: level, at: this.#world.now() },
      true,
    )
  }

  #statusPayload(online: boolean): TopicMap['gatewayStatus']['payload'] {
    const at = this.#world.now()
    const session = this.#session
    return online ? { online, at, session, locks: [...this.#locks.keys()] } : { online, at, session }
  }

  #publishStatus(client: MqttClient): void {
    this.#publish(client, 'gatewayStatus', { gatewayId: this.gatewayId }, this.#statusPayload(true), true)
  }

  #message<N extends TopicName>(
    name: N,
    params: TopicMap[N]['params'],
    payload: TopicMap[N]['payload'],
    retain = false,
  ): [string, Buffer, IClientPublishOptions] {
    const bytes = encodePayload(name, payload)
    return [
      topic(name, params),
      Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
      { qos: 1, retain },
    ]
  }

  #publish<N extends TopicName>(
    client: MqttClient,
    name: N,
    params: TopicMap[N]['params'],
    payload: TopicMap[N]['payload'],
    retain = false,
  ): void {
    const [to, bytes, options] = this.#message(name, params, payload, retain)
    client.publish(to, bytes, options, (error) => {
      if (error) this.#log(`publish on ${to} failed: ${error.message}`)
    })
  }

  #tick(): void {
    const client = this.#client
    if (!client?.connected) return
    const now = this.#world.now()
    for (const hosted of this.#locks.values()) {
      if (hosted.inRange && now >= hosted.nextSyncAt) this.#requestTime(client, hosted, 'periodic')
    }
    if (Date.now() - this.#lastPeriodicUpload >= this.#pollIntervalMs) {
      this.#lastPeriodicUpload = Date.now()
      for (const hosted of this.#locks.values()) this.#uploadEvents(hosted, true)
    }
  }
}
