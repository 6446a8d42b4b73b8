/**
 * Test harness for gateway ⇄ broker ⇄ server: a broker (the embedded one, or a private Mosquitto
 * with dynamic security), a "server" that is a plain MQTT client holding the lock secrets (it seals
 * commands, opens replies and event batches, stores events once by seq and acknowledges them), and
 * bounded waits.
 */
import { randomBytes, randomUUID } from 'node:crypto'
import { isLatchkeyError } from '@latchkey/core'
import {
  type Command,
  decodePayload,
  deriveLockKeys,
  encodePayload,
  generateServerKeyPair,
  type LockEvent,
  openLockMessage,
  type ProvisioningBundle,
  parseBundle,
  parseTopic,
  type Reply,
  randomSecret,
  sealCommand,
  serverFilter,
  type TopicMap,
  type TopicName,
  topic,
} from '@latchkey/protocol'
import mqtt, { type MqttClient } from 'mqtt'
import { startEmbeddedBroker } from '../../packages/server/src/broker/embedded-broker.ts'
import { MosquittoDynsec } from '../../packages/server/src/broker/mosquitto-dynsec.ts'
import type { BrokerPrincipal } from '../../packages/server/src/broker/policy.ts'
import { startPrivateMosquitto } from '../../packages/server/src/broker/private-mosquitto.ts'

export const T0 = Date.UTC(2025, 5, 2, 9, 0, 0)

/** Polls `check` every 20 ms until it returns something other than undefined/false/null; bounded. */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  const maxAttempts = Math.ceil(timeoutMs / 20) + 1
  for (let attempt = 0; attempt < maxAttempts && Date.now() <= deadline; attempt++) {
    const value = await check()
    if (value !== undefined && value !== null && value !== false) return value
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

// --- brokers -------------------------------------------------------------------------------------

export interface TestBroker {
  readonly kind: 'embedded' | 'mosquitto'
  url(): string
  /** The server principal's login. */
  readonly serverLogin: { username: string; password: string }
  addGateway(gatewayId: string, token: string): Promise<void>
  /** Stops the broker (Mosquitto saves its sessions; the embedded one keeps nothing). */
  down(): Promise<void>
  /** Starts it again on the same port. */
  up(): Promise<void>
  close(): Promise<void>
}

export async function startEmbeddedTestBroker(): Promise<TestBroker> {
  const serverLogin = { username: 'latchkey-server', password: randomBytes(12).toString('hex') }
  const gateways = new Map<string, string>()
  const authenticate = async (username: string, password: string): Promise<BrokerPrincipal | null> => {
    if (username === serverLogin.username && password === serverLogin.password) return { kind: 'server' }
    if (gateways.get(username) === password) return { kind: 'gateway', gatewayId: username }
    return null
  }
  let broker = await startEmbeddedBroker({ port: 0, authenticate })
  const port = broker.port
  return {
    kind: 'embedded',
    url: () => broker.url,
    serverLogin,
    async addGateway(gatewayId, token) {
      gateways.set(gatewayId, token)
    },
    down: () => broker.close(),
    async up() {
      broker = await startEmbeddedBroker({ port, authenticate })
    },
    close: () => broker.close(),
  }
}

export async function startMosquittoTestBroker(): Promise<TestBroker> {
  const mosquitto = await startPrivateMosquitto()
  const serverLogin = { username: 'latchkey-server', password: randomBytes(12).toString('hex') }
  const dynsec = await MosquittoDynsec.connect({ url: mosquitto.url, ...mosquitto.admin })
  try {
    await dynsec.ensureServerClient(serverLogin.username, serverLogin.password)
  } finally {
    await dynsec.close()
  }
  return {
    kind: 'mosquitto',
    url: () => mosquitto.url,
    serverLogin,
    async addGateway(gatewayId, token) {
      const admin = await MosquittoDynsec.connect({ url: mosquitto.url, ...mosquitto.admin })
      try {
        await admin.upsertGateway(gatewayId, token)
      } finally {
        await admin.close()
      }
    },
    down: () => mosquitto.shutdown(),
    up: () => mosquitto.start(),
    close: () => mosquitto.stop(),
  }
}

// --- locks ---------------------------------------------------------------------------------------

export interface TestLock {
  bundle: ProvisioningBundle
  command: Uint8Array
}

export function makeLock(lockId: string, gatewayId: string | null, eventCapacity = 500): TestLock {
  const secret = randomSecret()
  const bundle = parseBundle({
    v: 1,
    lockId,
    name: `Door ${lockId}`,
    secret: Buffer.from(secret).toString('base64'),
    model: 'LK-100',
    capacity: 250,
    ledgerCapacity: 64,
    eventCapacity,
    timezone: 'Europe/Berlin',
    serverPublicKey: generateServerKeyPair().publicKey,
    gatewayId,
  })
  return { bundle, command: deriveLockKeys(secret).command }
}

// --- the server's side ---------------------------------------------------------------------------

interface ServerLock {
  gatewayId: string
  lockId: string
  key: Uint8Array
  sent: number
  received: number
  events: Map<number, LockEvent>
  duplicates: number
  replies: Map<string, Reply>
  /** Frames from the gateway that did not open (forged) or were older than the last (replayed). */
  refused: string[]
}

export interface ServerDoubleOptions {
  broker: TestBroker
  /** The server's clock, for set_time. */
  clock: () => number
  /** Acknowledge each stored batch at once (default true). */
  autoAck?: boolean
  /** Answer time requests with a sealed set_time (default true). */
  answerTime?: boolean
}

/** The server as the gateway sees it: a plain MQTT client on the server's topics. */
export class MqttServerDouble {
  readonly client: MqttClient
  readonly locks = new Map<string, ServerLock>()
  readonly timeRequests: Array<{ gatewayId: string; lockId: string } & TopicMap['timeRequest']['payload']> =
    []
  readonly statuses: Array<{ gatewayId: string } & TopicMap['gatewayStatus']['payload']> = []
  readonly links: Array<{ gatewayId: string; lockId: string } & TopicMap['lockLink']['payload']> = []
  autoAck: boolean
  answerTime: boolean
  readonly #clock: () => number
  #ids = 0

  private constructor(client: MqttClient, options: ServerDoubleOptions) {
    this.client = client
    this.#clock = options.clock
    this.autoAck = options.autoAck ?? true
    this.answerTime = options.answerTime ?? true
    client.on('message', (name, payload) => this.#onMessage(name, new Uint8Array(payload)))
  }

  static async connect(options: ServerDoubleOptions): Promise<MqttServerDouble> {
    const client = await mqtt.connectAsync(options.broker.url(), {
      ...options.broker.serverLogin,
      clientId: `latchkey-server-${randomUUID()}`,
      protocolVersion: 4,
      clean: false,
      reconnectPeriod: 200,
    })
    const server = new MqttServerDouble(client, options)
    const filters = (['lockUp', 'timeRequest', 'gatewayStatus', 'lockLink'] as TopicName[]).map(serverFilter)
    await client.subscribeAsync(filters, { qos: 1 })
    return server
  }

  addLock(gatewayId: string, lock: TestLock): void {
    this.locks.set(lock.bundle.lockId, {
      gatewayId,
      lockId: lock.bundle.lockId,
      key: lock.command,
      sent: 0,
      received: 0,
      events: new Map(),
      duplicates: 0,
      replies: new Map(),
      refused: [],
    })
  }

  lock(lockId: string): ServerLock {
    const lock = this.locks.get(lockId)
    if (!lock) throw new Error(`unknown lock ${lockId}`)
    return lock
  }

  /** Seals and publishes a command; returns its id. */
  send(lockId: string, command: Command): string {
    const lock = this.lock(lockId)
    lock.sent += 1
    this.#ids += 1
    const id = `cmd-${this.#ids}`
    const frame = sealCommand(lock.key, lockId, lock.sent, { kind: 'command', id, command })
    this.client.publish(topic('lockDown', { gatewayId: lock.gatewayId, lockId }), Buffer.from(frame), {
      qos: 1,
    })
    return id
  }

  /** Sends a command and waits for its reply. */
  async request(lockId: string, command: Command, timeoutMs = 15_000): Promise<Reply> {
    const id = this.send(lockId, command)
    return waitFor(
      `the reply to ${command.type} from ${lockId}`,
      () => this.lock(lockId).replies.get(id),
      timeoutMs,
    )
  }

  poll(lockId: string): void {
    const lock = this.lock(lockId)
    const bytes = encodePayload('poll', { at: this.#clock() })
    this.client.publish(topic('poll', { gatewayId: lock.gatewayId, lockId }), Buffer.from(bytes), { qos: 1 })
  }

  /** Stored events of a lock, in seq order. */
  events(lockId: string): LockEvent[] {
    return [...this.lock(lockId).events.values()].sort((a, b) => a.seq - b.seq)
  }

  async close(): Promise<void> {
    await this.client.endAsync(true)
  }

  #onMessage(name: string, payload: Uint8Array): void {
    const parsed = parseTopic(name)
    if (!parsed) return
    if (parsed.name === 'gatewayStatus') {
      const status = decodePayload('gatewayStatus', payload)
      this.statuses.push({ gatewayId: parsed.params.gatewayId, ...status })
      // A gateway (back) online: ask for whatever its locks hold.
      if (status.online)
        for (const lock of this.locks.values())
          if (lock.gatewayId === parsed.params.gatewayId) this.poll(lock.lockId)
      return
    }
    if (!('lockId' in parsed.params)) return
    const { gatewayId, lockId } = parsed.params
    if (parsed.name === 'lockLink') {
      this.links.push({ gatewayId, lockId, ...decodePayload('lockLink', payload) })
      return
    }
    const lock = this.locks.get(lockId)
    if (!lock || lock.gatewayId !== gatewayId) return
    if (parsed.name === 'timeRequest') {
      this.timeRequests.push({ gatewayId, lockId, ...decodePayload('timeRequest', payload) })
      if (this.answerTime) this.send(lockId, { type: 'set_time', nowMs: this.#clock() })
      return
    }
    if (parsed.name !== 'lockUp') return
    let message: ReturnType<typeof openLockMessage>['message']
    try {
      const opened = openLockMessage(lock.key, lockId, lock.received, payload)
      lock.received = opened.counter
      message = opened.message
    } catch (error) {
      lock.refused.push(isLatchkeyError(error) ? error.code : String(error))
      return
    }
    if (message.kind === 'reply') {
      lock.replies.set(message.id, message)
      return
    }
    for (const event of message.events) {
      if (lock.events.has(event.seq)) lock.duplicates += 1
      else lock.events.set(event.seq, event)
    }
    const last = message.events.at(-1)
    if (this.autoAck && last) this.send(lockId, { type: 'ack_events', upToSeq: last.seq })
  }
}

/** A plain MQTT client (for a gateway that does not follow the rules). */
export function connectRaw(
  url: string,
  login: { username: string; password: string; clientId: string },
): Promise<MqttClient> {
  return mqtt.connectAsync(url, {
    ...login,
    protocolVersion: 4,
    clean: true,
    reconnectPeriod: 0,
    connectTimeout: 5000,
  })
}
