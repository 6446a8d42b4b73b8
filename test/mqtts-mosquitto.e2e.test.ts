/**
 * `MQTT_URL=mqtts://…` (SPEC §15): the server reaches a Mosquitto that listens with TLS only, trusting
 * its certificate through LATCHKEY_MQTT_CA (mqttCa), makes the gateway's login over it with dynamic
 * security, and a gateway given the same certificate authority brings its lock online.
 * Runs with `npm run test:services` (a private Mosquitto on a free loopback port).
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SimulatedClock } from '@latchkey/core'
import { Gateway } from '@latchkey/gateway'
import { type RunningServer, startServer } from '@latchkey/server'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type PrivateMosquitto,
  startPrivateMosquitto,
} from '../packages/server/src/broker/private-mosquitto.ts'
import { makeTestDataDir } from '../packages/server/src/testing.ts'
import { ApiClient, eventually, selfSignedCertificate } from './harness.ts'

describe.skipIf(process.env.LATCHKEY_TEST_SERVICES !== '1')('MQTT_URL with mqtts://', () => {
  let dir: string
  let dataDir: string
  let mosquitto: PrivateMosquitto
  let server: RunningServer
  let gateway: Gateway | null = null
  let ca: Buffer

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'latchkey-mqtts-'))
    const certFile = join(dir, 'cert.pem')
    const keyFile = join(dir, 'key.pem')
    selfSignedCertificate(certFile, keyFile)
    ca = readFileSync(certFile)
    mosquitto = await startPrivateMosquitto({ tls: { certFile, keyFile } })
    dataDir = await makeTestDataDir()
    const login = `${encodeURIComponent(mosquitto.admin.username)}:${encodeURIComponent(mosquitto.admin.password)}`
    server = await startServer({
      port: 0,
      host: '127.0.0.1',
      dataDir,
      mqttUrl: `mqtts://${login}@127.0.0.1:${mosquitto.port}`,
      mqttCa: ca,
      logger: false,
      env: { LATCHKEY_MASTER_KEY: randomBytes(32).toString('base64') },
    })
  })

  afterAll(async () => {
    await gateway?.stop()
    await server?.close()
    await mosquitto?.stop()
    if (dataDir) rmSync(dataDir, { recursive: true, force: true })
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  it('registers a gateway over TLS, and its lock comes online through the TLS listener', async () => {
    expect(server.mqttUrl).toBe(`mqtts://127.0.0.1:${mosquitto.port}`)
    const api = new ApiClient(server.url)
    const signup = await api.expect(201, 'POST', '/api/v1/auth/signup', {
      email: `mqtts-${process.pid}@example.test`,
      password: 'correct horse battery',
      organizationName: 'MQTTS',
    })
    const owner = api.withToken(signup.token)
    const created = await owner.expect(201, 'POST', '/api/v1/gateways', { name: 'Lobby' })
    const lock = await owner.expect(201, 'POST', '/api/v1/locks', {
      name: 'Front door',
      timezone: 'Europe/Berlin',
      gatewayId: created.id,
    })
    gateway = new Gateway({
      gatewayId: created.id,
      token: created.mqtt.password,
      mqttUrl: created.mqtt.url,
      tls: { ca: [ca] },
      world: new SimulatedClock(),
    })
    await gateway.attach(lock.bundle)
    await gateway.start()
    const online = await eventually('the lock online with its clock set', async () => {
      const body = await owner.expect(200, 'GET', `/api/v1/locks/${lock.id}`)
      return body.online && body.clockSet ? body : null
    })
    expect(online).toMatchObject({ online: true, clockSet: true, gatewayId: created.id })
  })
})
