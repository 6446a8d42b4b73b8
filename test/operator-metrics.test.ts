/**
 * What an operator reads on `/metrics` moves with real traffic: a gateway connecting, commands a lock
 * acknowledges or refuses, commands a silent gateway never answers, events taken from the lock, the
 * login and Code Login throttles refusing, per-route latency by route pattern; and the reconciler's
 * lag, on a server whose reconciler does not run.
 */
import { randomBytes } from 'node:crypto'
import { rmSync } from 'node:fs'
import { SimulatedClock } from '@latchkey/core'
import { Gateway } from '@latchkey/gateway'
import { encodePayload, topic } from '@latchkey/protocol'
import { type RunningServer, startServer } from '@latchkey/server'
import mqtt from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { makeTestDataDir } from '../packages/server/src/testing.ts'
import { ApiClient, E2E_METRICS_TOKEN, eventually, startTestServer, type TestServer } from './harness.ts'

/** One sample of the scrape, by its exact series (`name{labels}`); 0 when it is not there. */
function sample(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `))
  return line === undefined ? 0 : Number(line.slice(series.length + 1))
}

async function scrape(base: string): Promise<string> {
  const response = await fetch(`${base}/metrics`, {
    headers: { authorization: `Bearer ${E2E_METRICS_TOKEN}` },
  })
  expect(response.status).toBe(200)
  return response.text()
}

describe('operator metrics, with a gateway and a lock', () => {
  let t: TestServer
  let owner: { api: ApiClient; organizationId: string }
  let gateway: Gateway | null = null
  let silent: mqtt.MqttClient | null = null

  beforeAll(async () => {
    t = await startTestServer()
    owner = await t.signup()
  })
  afterAll(async () => {
    await gateway?.stop()
    await silent?.endAsync(true)
    await t?.close()
  })

  it('count gateways connected, commands acknowledged, failed and pending, and events ingested', async () => {
    const before = await scrape(t.url)
    expect(sample(before, 'latchkey_gateways_connected')).toBe(0)

    const created = await owner.api.expect(201, 'POST', '/api/v1/gateways', { name: 'Lobby' })
    const lock = await owner.api.expect(201, 'POST', '/api/v1/locks', {
      name: 'Front door',
      timezone: 'Europe/Berlin',
      gatewayId: created.id,
    })
    gateway = new Gateway({
      gatewayId: created.id,
      token: created.mqtt.password,
      mqttUrl: t.server.mqttUrl,
      world: new SimulatedClock(),
    })
    await gateway.attach(lock.bundle)
    await gateway.start()
    await eventually('the lock online with its clock set', async () => {
      const body = await owner.api.expect(200, 'GET', `/api/v1/locks/${lock.id}`)
      return body.online && body.clockSet
    })
    expect(sample(await scrape(t.url), 'latchkey_gateways_connected')).toBe(1)

    // a code the lock acknowledges
    const code = await owner.api.expect(201, 'POST', `/api/v1/locks/${lock.id}/access-codes`, {
      name: 'Cleaner',
      kind: 'permanent',
      code: '583049',
      delivery: 'synced',
    })
    await eventually('the code set', async () => {
      const body = await owner.api.expect(200, 'GET', `/api/v1/access-codes/${code.id}`)
      return body.status === 'set'
    })
    const acknowledged = 'latchkey_lock_command_replies_total{type="set_code",outcome="acknowledged"}'
    expect(sample(before, acknowledged)).toBe(0)
    // at least once: a retry that crossed the first reply is acknowledged too
    expect(sample(await scrape(t.url), acknowledged)).toBeGreaterThanOrEqual(1)

    // typed on the keypad: the lock's event comes up and is counted once
    const unlocked = 'latchkey_lock_events_ingested_total{type="unlocked"}'
    expect(gateway.keypad(lock.id, '583049')).toEqual({ result: 'unlocked' })
    await eventually('the keypad use ingested', async () => sample(await scrape(t.url), unlocked) === 1)

    // a remote unlock the lock refuses: its clock runs an hour ahead, so the command has expired for it
    gateway.lock(lock.id)!.advanceClock(3_600_000)
    const refused = await owner.api.expect(200, 'POST', `/api/v1/locks/${lock.id}/unlock`)
    expect(refused.status).toBe('failed')
    const failed = await scrape(t.url)
    expect(sample(failed, 'latchkey_lock_command_replies_total{type="unlock",outcome="failed"}')).toBe(1)
    expect(sample(failed, 'latchkey_lock_commands_pending{type="unlock"}')).toBe(0)

    // a gateway that says it is online with its lock in range, and never relays a frame
    const quiet = await owner.api.expect(201, 'POST', '/api/v1/gateways', { name: 'Shed' })
    const shedLock = await owner.api.expect(201, 'POST', '/api/v1/locks', {
      name: 'Shed door',
      timezone: 'Europe/Berlin',
      gatewayId: quiet.id,
    })
    silent = await mqtt.connectAsync(t.server.mqttUrl, {
      username: quiet.id,
      password: quiet.mqtt.password,
      clientId: quiet.id,
      protocolVersion: 4,
      reconnectPeriod: 0,
    })
    const now = Date.now()
    await silent.publishAsync(
      topic('gatewayStatus', { gatewayId: quiet.id }),
      Buffer.from(encodePayload('gatewayStatus', { online: true, at: now, session: now })),
      { qos: 1, retain: true },
    )
    await silent.publishAsync(
      topic('lockLink', { gatewayId: quiet.id, lockId: shedLock.id }),
      Buffer.from(encodePayload('lockLink', { inRange: true, battery: 90, at: now })),
      { qos: 1, retain: true },
    )
    await eventually('the shed lock reachable', async () => {
      const body = await owner.api.expect(200, 'GET', `/api/v1/locks/${shedLock.id}`)
      return body.online
    })
    expect(sample(await scrape(t.url), 'latchkey_gateways_connected')).toBe(2)
    const waiting = await owner.api.expect(202, 'POST', `/api/v1/locks/${shedLock.id}/unlock`)
    expect(waiting.status).toBe('pending')
    expect(sample(await scrape(t.url), 'latchkey_lock_commands_pending{type="unlock"}')).toBe(1)
  })

  it('count logins and Code Logins the throttles refuse', async () => {
    const before = await scrape(t.url)
    const email = `throttled-${process.pid}@example.test`
    for (let attempt = 0; attempt < 11; attempt++) {
      await t.api.request('POST', '/api/v1/auth/login', { email, password: 'not the password' })
    }
    for (let attempt = 0; attempt < 11; attempt++) {
      await t.api.request('POST', '/api/v1/app/code-login', { code: 'ABCD-EFGH-JK', deviceId: 'phone-1' })
    }
    const after = await scrape(t.url)
    const moved = (series: string) => sample(after, series) - sample(before, series)
    expect(moved('logins_total{outcome="refused"}')).toBe(10)
    expect(moved('logins_total{outcome="throttled"}')).toBe(1)
    expect(moved('code_logins_total{outcome="throttled"}')).toBe(1)
  })

  it('time each route by its pattern, never by the raw URL', async () => {
    const before = await scrape(t.url)
    const ids = [randomBytes(16).toString('hex'), randomBytes(16).toString('hex')]
    for (const id of ids) await owner.api.request('GET', `/api/v1/gateways/${id}`)
    const after = await scrape(t.url)
    const series = 'http_request_duration_seconds_count{method="GET",route="/api/v1/gateways/:id"}'
    expect(sample(after, series) - sample(before, series)).toBe(2)
    expect(after).toContain(
      'http_request_duration_seconds_bucket{method="GET",route="/api/v1/gateways/:id",le="0.1"}',
    )
    for (const id of ids) expect(after).not.toContain(id)
  })
})

describe('reconciler lag', () => {
  let server: RunningServer
  let dataDir: string
  const clock = new SimulatedClock({ frozenAt: Date.UTC(2030, 0, 15, 10, 0, 0) })

  beforeAll(async () => {
    dataDir = await makeTestDataDir()
    server = await startServer({
      port: 0,
      host: '127.0.0.1',
      dataDir,
      mqttPort: 0,
      clock,
      reconciler: false,
      logger: false,
      env: {
        LATCHKEY_MASTER_KEY: randomBytes(32).toString('base64'),
        LATCHKEY_METRICS_TOKEN: E2E_METRICS_TOKEN,
      },
    })
  })
  afterAll(async () => {
    await server?.close()
    if (dataDir) rmSync(dataDir, { recursive: true, force: true })
  })

  it('is the age of the oldest lock waiting for its look, and grows while nothing takes it', async () => {
    expect(sample(await scrape(server.url), 'latchkey_reconciler_lag_seconds')).toBe(0)
    const api = new ApiClient(server.url)
    const signup = await api.expect(201, 'POST', '/api/v1/auth/signup', {
      email: 'lag@example.test',
      password: 'correct horse battery',
      organizationName: 'Lag',
    })
    const owner = api.withToken(signup.token)
    const lock = await owner.expect(201, 'POST', '/api/v1/locks', {
      name: 'Front door',
      timezone: 'Europe/Berlin',
    })
    const reconcile = await owner.request('POST', `/api/v1/locks/${lock.id}/reconcile`)
    expect(reconcile.status).toBeLessThan(300)
    clock.advance(90_000)
    expect(sample(await scrape(server.url), 'latchkey_reconciler_lag_seconds')).toBe(90)
    clock.advance(30_000)
    expect(sample(await scrape(server.url), 'latchkey_reconciler_lag_seconds')).toBe(120)
  })
})
