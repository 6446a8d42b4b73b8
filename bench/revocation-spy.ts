/**
 * For the revocation bench: a spy on the broker and the broker's own floor.
 *
 * The spy is an MQTT client with the server's ACLs (a dynamic-security login of its own) subscribed
 * to every gateway's `lockDown` and `lockUp` topics. It holds the locks' secrets (from their
 * provisioning bundles, as the server does), so it opens each sealed frame: a `remove_code` going down
 * (when the broker delivered the server's command) and the lock's sealed answer coming up (the
 * lock took the code out of its table and wrote its flash before it sealed the answer, so from then
 * on the lock refuses the PIN). It changes nothing on the path: it is one more subscriber.
 *
 * The floor: three clients on the same broker, a ping (QoS 1, as the server's commands) answered by a
 * pong (QoS 1, as the lock's answers go up) that a third receives: the broker's publish → deliver,
 * twice, which is what a command and its answer cost at the least on this broker.
 */
import { randomBytes } from 'node:crypto'
import {
  deriveLockKeys,
  openCommand,
  openLockMessage,
  type ProvisioningBundle,
  parseTopic,
  TOPIC_ROOT,
} from '@latchkey/protocol'
import mqtt, { type MqttClient } from 'mqtt'
import { MosquittoDynsec } from '../packages/server/src/broker/mosquitto-dynsec.ts'

export interface BrokerLogin {
  url: string
  admin: { username: string; password: string }
}

/** A login with the server's ACLs (publish and subscribe everywhere but $CONTROL). */
export async function benchLogin(
  broker: BrokerLogin,
  username: string,
): Promise<{ username: string; password: string }> {
  const dynsec = await MosquittoDynsec.connect({ url: broker.url, ...broker.admin })
  const password = randomBytes(18).toString('base64url')
  try {
    await dynsec.ensureServerClient(username, password)
  } finally {
    await dynsec.close()
  }
  return { username, password }
}

export interface Removal {
  /** performance.now() when the broker delivered the server's sealed remove_code to the spy. */
  downAt: number
  /** When the lock's sealed answer to it reached the spy. */
  upAt: number | null
  ok: boolean
}

export class Spy {
  readonly #client: MqttClient
  readonly #keys = new Map<string, Uint8Array>()
  /** commandId → codeId of the remove_code commands seen going down. */
  readonly #commands = new Map<string, string>()
  readonly #removals = new Map<string, Removal>()
  readonly #waiters = new Map<string, () => void>()
  frames = 0
  unreadable = 0

  private constructor(client: MqttClient) {
    this.#client = client
    client.on('message', (name, payload) => this.#onMessage(name, payload))
  }

  static async connect(url: string, login: { username: string; password: string }): Promise<Spy> {
    const client = await mqtt.connectAsync(url, {
      ...login,
      clientId: `revocation-spy-${randomBytes(4).toString('hex')}`,
      protocolVersion: 4,
      clean: true,
      reconnectPeriod: 0,
      connectTimeout: 10_000,
    })
    const granted = await client.subscribeAsync(
      [`${TOPIC_ROOT}/+/lock/+/down`, `${TOPIC_ROOT}/+/lock/+/up`],
      { qos: 1 },
    )
    if (granted.some((g) => g.qos === 128)) throw new Error('the broker refused the spy its subscriptions')
    return new Spy(client)
  }

  /** The lock's keys, from its bundle. */
  know(bundle: ProvisioningBundle): void {
    this.#keys.set(bundle.lockId, deriveLockKeys(Buffer.from(bundle.secret, 'base64')).command)
  }

  removal(codeId: string): Removal | undefined {
    return this.#removals.get(codeId)
  }

  /** Resolves when the lock's answer to the removal of `codeId` was seen, or after `timeoutMs` (false). */
  answered(codeId: string, timeoutMs: number): Promise<boolean> {
    if (this.#removals.get(codeId)?.upAt != null) return Promise.resolve(true)
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(codeId)
        resolve(false)
      }, timeoutMs)
      this.#waiters.set(codeId, () => {
        clearTimeout(timer)
        this.#waiters.delete(codeId)
        resolve(true)
      })
    })
  }

  #onMessage(name: string, payload: Buffer): void {
    const at = performance.now()
    const parsed = parseTopic(name)
    if (parsed === null || !('lockId' in parsed.params)) return
    const lockId = parsed.params.lockId
    const key = this.#keys.get(lockId)
    if (key === undefined) return
    this.frames += 1
    const frame = new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength)
    try {
      if (parsed.name === 'lockDown') {
        const { envelope } = openCommand(key, lockId, 0, frame)
        if (envelope.command.type !== 'remove_code') return
        const codeId = envelope.command.codeId
        this.#commands.set(envelope.id, codeId)
        // the first remove_code of the code is the one timed (a resend would only come later)
        if (!this.#removals.has(codeId)) this.#removals.set(codeId, { downAt: at, upAt: null, ok: false })
      } else if (parsed.name === 'lockUp') {
        const { message } = openLockMessage(key, lockId, 0, frame)
        if (message.kind !== 'reply') return
        const codeId = this.#commands.get(message.id)
        if (codeId === undefined) return
        const removal = this.#removals.get(codeId)
        if (removal === undefined || removal.upAt !== null) return
        removal.upAt = at
        removal.ok = message.status === 'ok'
        this.#waiters.get(codeId)?.()
      }
    } catch {
      this.unreadable += 1
    }
  }

  async close(): Promise<void> {
    await this.#client.endAsync(true).catch(() => {})
  }
}

/**
 * The broker's own floor, shaped as the revocation's path: a ping published at QoS 1 (the server's
 * command), received by a second client that publishes a pong at QoS 1 (the gateway with the lock's
 * answer), received by a third (the spy). Three clients, as on the path: the pong does not come back
 * on the socket that just got its PUBACK, where Mosquitto's default (no TCP_NODELAY) holds a second
 * small write until the client's delayed ACK (about 40 ms on Linux).
 */
export class BrokerFloor {
  readonly #clients: MqttClient[]
  readonly #pinger: MqttClient
  readonly #ping: string
  #waiting: { resolve: (t: { oneWayMs: number; roundTripMs: number }) => void; sentAt: number } | null = null
  #deliveredAt = 0

  private constructor(
    pinger: MqttClient,
    echo: MqttClient,
    receiver: MqttClient,
    ping: string,
    pong: string,
  ) {
    this.#clients = [pinger, echo, receiver]
    this.#pinger = pinger
    this.#ping = ping
    echo.on('message', (_name, payload) => {
      this.#deliveredAt = performance.now()
      echo.publish(pong, payload, { qos: 1 })
    })
    receiver.on('message', () => {
      const waiting = this.#waiting
      if (waiting === null) return
      this.#waiting = null
      const now = performance.now()
      waiting.resolve({ oneWayMs: this.#deliveredAt - waiting.sentAt, roundTripMs: now - waiting.sentAt })
    })
  }

  static async connect(url: string, login: { username: string; password: string }): Promise<BrokerFloor> {
    const suffix = randomBytes(4).toString('hex')
    const options = { ...login, protocolVersion: 4 as const, clean: true, reconnectPeriod: 0 }
    const pinger = await mqtt.connectAsync(url, { ...options, clientId: `floor-ping-${suffix}` })
    const echo = await mqtt.connectAsync(url, { ...options, clientId: `floor-echo-${suffix}` })
    const receiver = await mqtt.connectAsync(url, { ...options, clientId: `floor-recv-${suffix}` })
    // topics outside the gateways' tree: the spy and the server do not see them
    const ping = `bench/revocation-floor/${suffix}/ping`
    const pong = `bench/revocation-floor/${suffix}/pong`
    await echo.subscribeAsync(ping, { qos: 1 })
    await receiver.subscribeAsync(pong, { qos: 1 })
    return new BrokerFloor(pinger, echo, receiver, ping, pong)
  }

  /** One ping → pong; null when no pong came within `timeoutMs`. */
  sample(timeoutMs = 5_000): Promise<{ oneWayMs: number; roundTripMs: number } | null> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#waiting = null
        resolve(null)
      }, timeoutMs)
      this.#waiting = {
        sentAt: performance.now(),
        resolve: (t) => {
          clearTimeout(timer)
          resolve(t)
        },
      }
      this.#pinger.publish(this.#ping, Buffer.from('ping'), { qos: 1 })
    })
  }

  async close(): Promise<void> {
    for (const client of this.#clients) await client.endAsync(true).catch(() => {})
  }
}
