/**
 * Command counters against the real lock firmware: a test gateway relays the server's sealed frames
 * to a `Lock` (packages/lock) and its sealed replies back, and keeps the counter of every frame it
 * saw on the lock's command topic. A database commit that fails after the frame was sealed and
 * published (a deferred constraint trigger raises at COMMIT) must never lead to a second frame under
 * the same counter — the same AES-GCM nonce over another plaintext — and the lock must take the next
 * command.
 */
import { systemClock } from '@latchkey/core'
import { Lock } from '@latchkey/lock'
import { encodePayload, type TopicMap, type TopicName, topic } from '@latchkey/protocol'
import { sql } from 'drizzle-orm'
import mqtt, { type MqttClient } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ApiClient, eventually, startTestServer, type TestServer } from './harness.ts'

let t: TestServer
let owner: { api: ApiClient }
let gatewayId: string
let lockId: string
let lock: Lock
let client: MqttClient
/** The counter of every frame published on the lock's command topic, in order. */
const counters: number[] = []

const counterOf = (frame: Uint8Array) =>
  Number(new DataView(frame.buffer, frame.byteOffset, frame.byteLength).getBigUint64(2))

function publish<N extends TopicName>(
  name: N,
  params: TopicMap[N]['params'],
  payload: TopicMap[N]['payload'],
) {
  return client.publishAsync(topic(name, params), Buffer.from(encodePayload(name, payload)), { qos: 1 })
}

beforeAll(async () => {
  t = await startTestServer()
  owner = await t.signup()
  const gateway = await owner.api.expect(201, 'POST', '/api/v1/gateways', { name: 'Relay' })
  gatewayId = gateway.id
  const created = await owner.api.expect(201, 'POST', '/api/v1/locks', {
    name: 'Back door',
    timezone: 'UTC',
    gatewayId,
  })
  lockId = created.id
  lock = Lock.open(created.bundle, { world: systemClock })
  client = await mqtt.connectAsync(t.server.mqttUrl, {
    clientId: gatewayId,
    username: gatewayId,
    password: gateway.mqtt.password,
    protocolVersion: 4,
    clean: true,
    reconnectPeriod: 0,
  })
  const down = topic('lockDown', { gatewayId, lockId })
  client.on('message', (name, payload) => {
    if (name !== down) return
    const frame = new Uint8Array(payload)
    counters.push(counterOf(frame))
    const reply = lock.receiveFrame(frame)
    // the reply, then the lock's events (as a gateway uploads them)
    for (const up of [reply, lock.pendingEvents()]) {
      if (up !== null)
        client
          .publishAsync(topic('lockUp', { gatewayId, lockId }), Buffer.from(up), { qos: 1 })
          .catch(() => {}) // the test ends with the connection
    }
  })
  await client.subscribeAsync(down, { qos: 1 })
  await publish('gatewayStatus', { gatewayId }, { online: true, at: Date.now(), locks: [lockId] })
  await publish('lockLink', { gatewayId, lockId }, { inRange: true, battery: 90, at: 1 })
  await eventually(
    'the lock online',
    async () => (await owner.api.expect(200, 'GET', `/api/v1/locks/${lockId}`)).online,
  )
  // the lock's clock, set by the server (an unlock needs it)
  await publish('timeRequest', { gatewayId, lockId }, { reason: 'connect', at: Date.now() })
  await eventually('the lock’s clock set', () => lock.view().clock.ms !== null)
})

afterAll(async () => {
  await client?.endAsync(true)
  await t?.close()
})

describe('command counters', () => {
  it('never seals two frames under one counter when the commit after a publish fails, and the lock takes the next command', async () => {
    const db = t.server.deps.db
    await db.execute(
      sql.raw(`create function latchkey_test_fail_commit() returns trigger language plpgsql as $$
        begin raise exception 'commit refused by the test'; end $$`),
    )
    await db.execute(
      sql.raw(`create constraint trigger latchkey_test_fail_unlock after insert on lock_commands
        deferrable initially deferred for each row when (new.type = 'unlock')
        execute function latchkey_test_fail_commit()`),
    )
    const before = counters.length
    const failed = await owner.api.post(`/api/v1/locks/${lockId}/unlock`)
    expect(failed.status).toBe(500)
    expect(failed.headers.get('content-type')).toContain('application/problem+json')
    // the frame did leave before the commit failed (the lock opened the door)
    await eventually('the first unlock frame at the lock', () => counters.length > before)
    await db.execute(sql.raw('drop trigger latchkey_test_fail_unlock on lock_commands'))

    const done = await owner.api.expect(200, 'POST', `/api/v1/locks/${lockId}/unlock`)
    expect(done.status).toBe('done')
    // a third command after that, and a time sync: all taken
    expect((await owner.api.expect(200, 'POST', `/api/v1/locks/${lockId}/sync-time`)).status).toBe('done')

    expect(new Set(counters).size).toBe(counters.length)
    expect(counters).toEqual([...counters].sort((a, b) => a - b))
    // what the lock logged, as the server stored it: both unlocks carried out, no frame refused
    const types = await eventually('both unlocks in the audit log', async () => {
      const body = await owner.api.expect(200, 'GET', `/api/v1/events?lockId=${lockId}&order=asc&limit=500`)
      const all: string[] = body.items.map((e: { type: string }) => e.type)
      return all.filter((type) => type === 'lock.unlocked').length >= 2 ? all : null
    })
    expect(types.filter((type) => type === 'lock.unlocked')).toHaveLength(2)
    expect(types).not.toContain('lock.frame_rejected')
  })
})
