/**
 * MQTT over TLS (SPEC §15): the embedded broker serves `mqtts://` with a certificate and key
 * (`--mqtt-tls-cert`, `--mqtt-tls-key`), a `latchkey sim` process trusts it through LATCHKEY_MQTT_CA,
 * a code reaches the simulated lock and opens it; a plain MQTT client is refused at the TLS port.
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type RunningServer, startServer } from '@latchkey/server'
import mqtt from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { makeTestDataDir } from '../packages/server/src/testing.ts'
import { ApiClient, eventually, type SimProcess, selfSignedCertificate, startSim } from './harness.ts'

let dir: string
let dataDir: string
let certFile: string
let server: RunningServer
let sim: SimProcess | null = null

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'latchkey-tls-'))
  certFile = join(dir, 'cert.pem')
  const keyFile = join(dir, 'key.pem')
  selfSignedCertificate(certFile, keyFile)
  dataDir = await makeTestDataDir()
  server = await startServer({
    port: 0,
    host: '127.0.0.1',
    dataDir,
    mqttPort: 0,
    mqttTls: { cert: readFileSync(certFile), key: readFileSync(keyFile) },
    logger: false,
    env: { LATCHKEY_MASTER_KEY: randomBytes(32).toString('base64') },
  })
})

afterAll(async () => {
  await sim?.stop()
  await server?.close()
  if (dataDir) rmSync(dataDir, { recursive: true, force: true })
  if (dir) rmSync(dir, { recursive: true, force: true })
})

/**
 * What an MQTT client gets from this URL with a made-up login: `connected`, the broker's refusal, a TLS
 * error, or `closed` when the connection ends with no answer at all.
 */
function answers(url: string, options: { ca?: Buffer } = {}): Promise<string> {
  return new Promise((resolve) => {
    const client = mqtt.connect(url, {
      username: 'nobody',
      password: 'nothing',
      protocolVersion: 4,
      reconnectPeriod: 0,
      connectTimeout: 5000,
      ...options,
    })
    const done = (outcome: string) => {
      client.end(true)
      resolve(outcome)
    }
    client.once('connect', () => done('connected'))
    client.once('error', (error) => done(error.message))
    client.once('close', () => done('closed'))
  })
}

describe('the embedded broker over TLS', () => {
  it('refuses a plain MQTT client and one that does not trust its certificate', async () => {
    expect(server.mqttUrl).toMatch(/^mqtts:\/\/127\.0\.0\.1:\d+$/)
    const port = new URL(server.mqttUrl).port
    // the TLS port speaks no plain MQTT: no CONNACK comes back
    expect(await answers(`mqtt://127.0.0.1:${port}`)).toBe('closed')
    expect(await answers(server.mqttUrl)).toMatch(/self[- ]signed/)
    // trusting the certificate, the broker answers (and refuses this made-up login)
    expect(await answers(server.mqttUrl, { ca: readFileSync(certFile) })).toMatch(/Bad username or password/)
  })

  it('carries a code to a simulated lock whose gateway trusts it through LATCHKEY_MQTT_CA', async () => {
    const api = new ApiClient(server.url)
    const signup = await api.expect(201, 'POST', '/api/v1/auth/signup', {
      email: `tls-${process.pid}@example.test`,
      password: 'correct horse battery',
      organizationName: 'TLS',
    })
    const owner = api.withToken(signup.token)
    const gateway = await owner.expect(201, 'POST', '/api/v1/gateways', { name: 'Lobby' })
    expect(gateway.mqtt.url).toBe(server.mqttUrl)
    const lock = await owner.expect(201, 'POST', '/api/v1/locks', {
      name: 'Front door',
      timezone: 'Europe/Berlin',
      gatewayId: gateway.id,
    })
    sim = await startSim({
      serverUrl: server.url,
      gatewayId: gateway.id,
      gatewayToken: gateway.mqtt.password,
      stateDir: join(dir, 'sim'),
      env: { LATCHKEY_MQTT_CA: certFile },
    })
    await sim.api.expect(201, 'POST', '/sim/locks', { bundle: lock.bundle })
    await eventually('the lock online over TLS', async () => {
      const body = await owner.expect(200, 'GET', `/api/v1/locks/${lock.id}`)
      return body.online && body.clockSet
    })
    const code = await owner.expect(201, 'POST', `/api/v1/locks/${lock.id}/access-codes`, {
      name: 'Cleaner',
      kind: 'permanent',
      code: '583049',
      delivery: 'synced',
    })
    await eventually('the code set on the lock', async () => {
      const body = await owner.expect(200, 'GET', `/api/v1/access-codes/${code.id}`)
      return body.status === 'set'
    })
    const typed = await sim.api.expect(200, 'POST', `/sim/locks/${lock.id}/keypad`, { digits: '583049' })
    expect(typed).toEqual({ result: 'unlocked' })
    expect(sim.output()).toContain(`connected to ${server.mqttUrl}`)
  })
})
