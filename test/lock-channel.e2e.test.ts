/**
 * The server's side of the lock channel, frame by frame: a plain MQTT client logs in as a gateway
 * and plays a lock with the lock's own secret (from its provisioning bundle), so that every frame the
 * server sends and accepts is checked on the wire — and so are the ones it must refuse.
 */
import { SimulatedClock } from '@latchkey/core'
import { Lock } from '@latchkey/lock'
import {
  type CommandEnvelope,
  deriveLockKeys,
  encodePayload,
  type LockEvent,
  type LockMessage,
  openCommand,
  randomSecret,
  sealLockMessage,
  type TopicMap,
  type TopicName,
  topic,
} from '@latchkey/protocol'
import mqtt, { type MqttClient } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ApiClient, E2E_METRICS_TOKEN, eventually, startTestServer, type TestServer } from './harness.ts'

let t: TestServer
let owner: { api: ApiClient; userId: string }
let gatewayId: string
let lockId: string
let key: Uint8Array
let client: MqttClient
/** Commands the fake lock received, opened with its key. */
const received: CommandEnvelope[] = []
let rx = 0
let tx = 0

async function connectGateway(id: string, token: string): Promise<MqttClient> {
  return mqtt.connectAsync(t.server.mqttUrl, {
    clientId: id,
    username: id,
    password: token,
    protocolVersion: 4,
    clean: true,
    reconnectPeriod: 0,
  })
}

function publish<N extends TopicName>(
  via: MqttClient,
  name: N,
  params: TopicMap[N]['params'],
  payload: TopicMap[N]['payload'] | Uint8Array,
) {
  const bytes = payload instanceof Uint8Array ? payload : encodePayload(name, payload)
  return via.publishAsync(topic(name, params), Buffer.from(bytes), { qos: 1 })
}

const up = (message: LockMessage, counter = ++tx) =>
  publish(client, 'lockUp', { gatewayId, lockId }, sealLockMessage(key, lockId, counter, message))

async function metric(topicName: string, outcome: string): Promise<number> {
  const text = await (
    await fetch(`${t.url}/metrics`, { headers: { authorization: `Bearer ${E2E_METRICS_TOKEN}` } })
  ).text()
  const line = text
    .split('\n')
    .find((l) => l.startsWith(`latchkey_mqtt_messages_total{topic="${topicName}",outcome="${outcome}"}`))
  return line === undefined ? 0 : Number(line.split(' ').at(-1))
}

async function nextCommand(type: string): Promise<CommandEnvelope> {
  return eventually(`a ${type} command`, () =>
    received.find((c) => c.command.type === type && !('taken' in c)),
  ).then((c) => Object.assign(c, { taken: true }))
}

async function storedLockEvents(): Promise<Array<{ type: string; data: Record<string, unknown> }>> {
  const body = await owner.api.expect(200, 'GET', `/api/v1/events?lockId=${lockId}&order=asc&limit=500`)
  return body.items.filter((e: { data: { lockSeq?: number } }) => e.data.lockSeq !== undefined)
}

beforeAll(async () => {
  t = await startTestServer()
  owner = await t.signup()
  const gateway = await owner.api.expect(201, 'POST', '/api/v1/gateways', { name: 'Raw' })
  gatewayId = gateway.id
  const lock = await owner.api.expect(201, 'POST', '/api/v1/locks', {
    name: 'Side door',
    timezone: 'UTC',
    gatewayId,
  })
  lockId = lock.id
  key = deriveLockKeys(new Uint8Array(Buffer.from(lock.bundle.secret, 'base64'))).command
  client = await connectGateway(gatewayId, gateway.mqtt.password)
  client.on('message', (name, payload) => {
    if (name !== topic('lockDown', { gatewayId, lockId })) return
    const opened = openCommand(key, lockId, rx, new Uint8Array(payload))
    rx = opened.counter
    received.push(opened.envelope)
  })
  await client.subscribeAsync(topic('lockDown', { gatewayId, lockId }), { qos: 1 })
})

afterAll(async () => {
  await client?.endAsync(true)
  await t?.close()
})

describe('the lock channel', () => {
  it('takes a gateway’s status and a lock’s link as the lock’s reachability and battery', async () => {
    await publish(client, 'gatewayStatus', { gatewayId }, { online: true, at: Date.now(), locks: [lockId] })
    await publish(client, 'lockLink', { gatewayId, lockId }, { inRange: true, battery: 57.4, at: 0 })
    const lock = await eventually('the lock online', async () => {
      const body = await owner.api.expect(200, 'GET', `/api/v1/locks/${lockId}`)
      return body.online ? body : null
    })
    expect(lock).toMatchObject({ online: true, battery: 57 })
    await publish(client, 'lockLink', { gatewayId, lockId }, { inRange: false, battery: 57, at: 0 })
    await eventually(
      'the lock offline',
      async () => !(await owner.api.expect(200, 'GET', `/api/v1/locks/${lockId}`)).online,
    )
    await publish(client, 'lockLink', { gatewayId, lockId }, { inRange: true, battery: 57, at: 0 })
    await eventually(
      'the lock online again',
      async () => (await owner.api.expect(200, 'GET', `/api/v1/locks/${lockId}`)).online,
    )
    const types = (await owner.api.expect(200, 'GET', `/api/v1/events?lockId=${lockId}&order=asc`)).items.map(
      (e: { type: string }) => e.type,
    )
    expect(types.filter((type: string) => type === 'lock.online' || type === 'lock.offline')).toEqual([
      'lock.online',
      'lock.offline',
      'lock.online',
    ])
  })

  it('answers a time request with a sealed set_time from the server’s clock, and records the offset the lock reports', async () => {
    const before = Date.now()
    await publish(client, 'timeRequest', { gatewayId, lockId }, { reason: 'connect', at: 0 })
    const command = await nextCommand('set_time')
    const nowMs = (command.command as { nowMs: number }).nowMs
    expect(nowMs).toBeGreaterThanOrEqual(before)
    expect(nowMs).toBeLessThanOrEqual(Date.now())
    // the lock was 5 s slow: it corrects by +5000
    await up({ kind: 'reply', id: command.id, status: 'ok', data: { offsetMs: 5000 } })
    const lock = await eventually('the offset on the lock', async () => {
      const body = await owner.api.expect(200, 'GET', `/api/v1/locks/${lockId}`)
      return body.clockOffsetMs !== null ? body : null
    })
    expect(lock).toMatchObject({ clockOffsetMs: -5000, clockSet: true })
  })

  it('stores a batch of events once, acknowledges it sealed, and drops a replayed frame', async () => {
    const events: LockEvent[] = [
      { seq: 1, at: Date.now(), type: 'access_denied', method: 'keypad', reason: 'unknown_code' },
      { seq: 2, at: Date.now(), type: 'locked_out', untilMs: Date.now() + 60_000, wrongAttempts: 5 },
    ]
    const frame = sealLockMessage(key, lockId, ++tx, { kind: 'events', events })
    await publish(client, 'lockUp', { gatewayId, lockId }, frame)
    const ack = await nextCommand('ack_events')
    expect(ack.command).toEqual({ type: 'ack_events', upToSeq: 2 })
    expect((await storedLockEvents()).map((e) => [e.type, e.data.lockSeq])).toEqual([
      ['lock.access_denied', 1],
      ['lock.locked_out', 2],
    ])

    // the very same frame again (a gateway replaying it): dropped, counted
    const replayedBefore = await metric('lockUp', 'replayed')
    await publish(client, 'lockUp', { gatewayId, lockId }, frame)
    await eventually(
      'the replay counted',
      async () => (await metric('lockUp', 'replayed')) === replayedBefore + 1,
    )

    // the lock sends the batch again with one more event (the ack was lost): only the new one is stored
    await up({ kind: 'events', events: [...events, { seq: 3, at: null, type: 'power_restored' }] })
    expect((await nextCommand('ack_events')).command).toEqual({ type: 'ack_events', upToSeq: 3 })
    const stored = await storedLockEvents()
    expect(stored.map((e) => e.data.lockSeq)).toEqual([1, 2, 3])
    expect(stored[2]).toMatchObject({ type: 'lock.power_restored', data: { lockTime: null } })
    expect((await owner.api.expect(200, 'GET', `/api/v1/locks/${lockId}`)).clockSet).toBe(false)
  })

  it('completes a remote unlock when the lock’s sealed reply comes back', async () => {
    const pending = owner.api.post(`/api/v1/locks/${lockId}/unlock`)
    const command = await nextCommand('unlock')
    await up({ kind: 'reply', id: command.id, status: 'ok' })
    const response = await pending
    expect(response.status).toBe(200)
    expect(response.body).toEqual({ commandId: command.id, status: 'done' })
  })

  it('drops forged, damaged and malformed messages, counts them, and carries on', async () => {
    const forgedBefore = await metric('lockUp', 'frame_rejected')
    const invalidBefore = await metric('lockLink', 'invalid_payload')
    const otherKey = deriveLockKeys(randomSecret()).command
    await publish(
      client,
      'lockUp',
      { gatewayId, lockId },
      sealLockMessage(otherKey, lockId, ++tx, {
        kind: 'events',
        events: [{ seq: 4, at: null, type: 'power_restored' }],
      }),
    )
    await publish(client, 'lockUp', { gatewayId, lockId }, new Uint8Array([1, 2, 3]))
    await client.publishAsync(topic('lockLink', { gatewayId, lockId }), Buffer.from('{not json'), { qos: 1 })
    await client.publishAsync(topic('lockLink', { gatewayId, lockId: 'not-a-lock' }), Buffer.from('{}'), {
      qos: 1,
    })
    await eventually('the refusals counted', async () => {
      return (
        (await metric('lockUp', 'frame_rejected')) === forgedBefore + 2 &&
        (await metric('lockLink', 'invalid_payload')) === invalidBefore + 1
      )
    })
    // still working: a real batch is stored
    await up({ kind: 'events', events: [{ seq: 4, at: Date.now(), type: 'unlocked', method: 'keypad' }] })
    await nextCommand('ack_events')
    expect((await storedLockEvents()).map((e) => e.data.lockSeq)).toEqual([1, 2, 3, 4])
    expect((await t.api.get('/readyz')).status).toBe(200)
  })

  it('does not let one gateway speak for another gateway’s lock', async () => {
    const other = await owner.api.expect(201, 'POST', '/api/v1/gateways', { name: 'Intruder' })
    const intruder = await connectGateway(other.id, other.mqtt.password)
    try {
      const before = await metric('lockLink', 'wrong_gateway')
      await publish(
        intruder,
        'lockLink',
        { gatewayId: other.id, lockId },
        { inRange: false, battery: 1, at: 0 },
      )
      await eventually(
        'the claim counted',
        async () => (await metric('lockLink', 'wrong_gateway')) === before + 1,
      )
      expect(await owner.api.expect(200, 'GET', `/api/v1/locks/${lockId}`)).toMatchObject({
        online: true,
        battery: 57,
      })
    } finally {
      await intruder.endAsync(true)
    }
  })
})

describe('a one-time code typed twice at the same instant, its report arriving twice', () => {
  it('records exactly one opening and counts one use', async () => {
    // a real lock (its code table, keypad and event log) behind the raw gateway
    const created = await owner.api.expect(201, 'POST', '/api/v1/locks', {
      name: 'Store room',
      timezone: 'UTC',
      gatewayId,
    })
    const storeRoom = created.id as string
    const lock = Lock.open(created.bundle, { world: new SimulatedClock({ frozenAt: Date.now() }) })
    const down = topic('lockDown', { gatewayId, lockId: storeRoom })
    const sendUp = (frame: Uint8Array) => publish(client, 'lockUp', { gatewayId, lockId: storeRoom }, frame)
    const onMessage = (name: string, payload: Buffer) => {
      if (name !== down) return
      const reply = lock.receiveFrame(new Uint8Array(payload))
      if (reply !== null) void sendUp(reply)
    }
    client.on('message', onMessage)
    await client.subscribeAsync(down, { qos: 1 })
    try {
      await publish(
        client,
        'gatewayStatus',
        { gatewayId },
        { online: true, at: Date.now(), locks: [lockId, storeRoom] },
      )
      await publish(
        client,
        'lockLink',
        { gatewayId, lockId: storeRoom },
        { inRange: true, battery: 90, at: 0 },
      )
      const code = await owner.api.expect(201, 'POST', `/api/v1/locks/${storeRoom}/access-codes`, {
        name: 'Courier',
        kind: 'one_time',
        code: '583049',
        delivery: 'synced',
      })
      await eventually('the code on the lock', async () => {
        const body = await owner.api.expect(200, 'GET', `/api/v1/access-codes/${code.id}`)
        return body.status === 'set' ? body : null
      })

      // the PIN typed at the same instant (the lock's clock stands still): it opens once
      expect([lock.keypad('583049'), lock.keypad('583049')]).toEqual([
        { result: 'unlocked' },
        { result: 'denied', reason: 'already_used' },
      ])
      // the report twice over at once: the same frame (a gateway repeating it) and the batch sealed
      // anew (the lock's resend when the acknowledgement is late)
      const frame = lock.pendingEvents()!
      const resent = lock.pendingEvents()!
      await Promise.all([sendUp(frame), sendUp(frame), sendUp(resent)])
      await eventually('the events acknowledged', () => (lock.view().events.unacked === 0 ? true : null))

      const events = (
        await owner.api.expect(200, 'GET', `/api/v1/events?accessCodeId=${code.id}&order=asc&limit=500`)
      ).items as Array<{ type: string; data: Record<string, unknown> }>
      const opened = events.filter((e) => e.type === 'lock.unlocked')
      expect(opened).toHaveLength(1)
      expect(opened[0]!.data).toMatchObject({ method: 'keypad' })
      const refused = events.filter((e) => e.type === 'lock.access_denied')
      expect(refused.map((e) => e.data.reason)).toEqual(['already_used'])
      const used = await eventually('the use counted', async () => {
        const body = await owner.api.expect(200, 'GET', `/api/v1/access-codes/${code.id}`)
        return body.uses > 0 ? body : null
      })
      expect(used.uses).toBe(1)
      // and the lock's whole log is stored once: each seq one event
      const seqs = (
        await owner.api.expect(200, 'GET', `/api/v1/events?lockId=${storeRoom}&order=asc&limit=500`)
      ).items.flatMap((e: { data: { lockSeq?: number } }) =>
        e.data.lockSeq === undefined ? [] : [e.data.lockSeq],
      )
      expect(seqs).toEqual(Array.from({ length: lock.view().events.lastSeq }, (_, i) => i + 1))
    } finally {
      client.off('message', onMessage)
      await client.unsubscribeAsync(down)
    }
  })
})
