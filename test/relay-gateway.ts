/**
 * A gateway played by the test, for the server of `startTestServer`: it relays the server's sealed
 * frames to one `Lock` (packages/lock, the real firmware) and the lock's sealed replies, then its
 * events, back, as a gateway does; it keeps the counter of every frame it saw on the lock's command
 * topic, and a test may take the lock's next reply into its own hands (`holdNextReply`).
 */
import { systemClock } from '@latchkey/core'
import { Lock } from '@latchkey/lock'
import { encodePayload, type TopicMap, type TopicName, topic } from '@latchkey/protocol'
import mqtt from 'mqtt'
import { type ApiClient, eventually, type TestServer } from './harness.ts'

export interface RelayGateway {
  gatewayId: string
  lockId: string
  lock: Lock
  /** The counter of every frame published on the lock's command topic, in order. */
  counters: number[]
  /**
   * The lock's reply to the next command frame (the next after which `when` holds, if given) is not
   * sent: `take` gets it, and `send` publishes it.
   */
  holdNextReply(
    take: (counter: number, send: () => Promise<unknown>) => Promise<void>,
    when?: () => boolean,
  ): void
  /** Reports the lock's radio link, as the gateway does. */
  publishLink(link: TopicMap['lockLink']['payload']): Promise<unknown>
  close(): Promise<void>
}

const counterOf = (frame: Uint8Array) =>
  Number(new DataView(frame.buffer, frame.byteOffset, frame.byteLength).getBigUint64(2))

/**
 * A gateway "Relay" with its lock "Back door", online, the lock's clock set by the server; with
 * `reconnect`, it connects again when it loses the broker.
 */
export async function startRelayGateway(
  t: TestServer,
  api: ApiClient,
  { reconnect = false } = {},
): Promise<RelayGateway> {
  const gateway = await api.expect(201, 'POST', '/api/v1/gateways', { name: 'Relay' })
  const gatewayId: string = gateway.id
  const created = await api.expect(201, 'POST', '/api/v1/locks', {
    name: 'Back door',
    timezone: 'UTC',
    gatewayId,
  })
  const lockId: string = created.id
  const lock = Lock.open(created.bundle, { world: systemClock })
  const client = await mqtt.connectAsync(t.server.mqttUrl, {
    clientId: gatewayId,
    username: gatewayId,
    password: gateway.mqtt.password,
    protocolVersion: 4,
    clean: true,
    reconnectPeriod: reconnect ? 250 : 0,
  })
  const counters: number[] = []
  let held: {
    take: (counter: number, send: () => Promise<unknown>) => Promise<void>
    when: () => boolean
  } | null = null
  const down = topic('lockDown', { gatewayId, lockId })
  client.on('message', (name, payload) => {
    if (name !== down) return
    const frame = new Uint8Array(payload)
    counters.push(counterOf(frame))
    const reply = lock.receiveFrame(frame)
    const take = held?.when() ? held.take : null
    if (take !== null) held = null
    void (async () => {
      for (const [index, up] of [reply, lock.pendingEvents()].entries()) {
        if (up === null) continue
        const send = () =>
          client.publishAsync(topic('lockUp', { gatewayId, lockId }), Buffer.from(up), { qos: 1 })
        await (index === 0 && take !== null ? take(counterOf(frame), send) : send())
      }
    })().catch(() => {}) // the test ends with the connection
  })
  const publish = <N extends TopicName>(
    name: N,
    params: TopicMap[N]['params'],
    body: TopicMap[N]['payload'],
  ) => client.publishAsync(topic(name, params), Buffer.from(encodePayload(name, body)), { qos: 1 })
  await client.subscribeAsync(down, { qos: 1 })
  await publish('gatewayStatus', { gatewayId }, { online: true, at: Date.now(), locks: [lockId] })
  await publish('lockLink', { gatewayId, lockId }, { inRange: true, battery: 90, at: 1 })
  await eventually(
    'the lock online',
    async () => (await api.expect(200, 'GET', `/api/v1/locks/${lockId}`)).online,
  )
  // the lock's clock, set by the server (an unlock needs it)
  await publish('timeRequest', { gatewayId, lockId }, { reason: 'connect', at: Date.now() })
  await eventually('the lock’s clock set', () => lock.view().clock.ms !== null)
  return {
    gatewayId,
    lockId,
    lock,
    counters,
    holdNextReply: (take, when = () => true) => {
      held = { take, when }
    },
    publishLink: (link) => publish('lockLink', { gatewayId, lockId }, link),
    close: () => client.endAsync(true),
  }
}
