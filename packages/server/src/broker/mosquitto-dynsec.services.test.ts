// Runs with `npm run test:services` (LATCHKEY_TEST_SERVICES=1): a private Mosquitto 2.0 with its
// dynamic-security plugin on a free loopback port (never the one on 1883).
import { LatchkeyError } from '@latchkey/core'
import { topic } from '@latchkey/protocol'
import mqtt from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { gatewayRoleAcls, gatewayRoleName, MosquittoDynsec } from './mosquitto-dynsec.ts'
import { type PrivateMosquitto, startPrivateMosquitto } from './private-mosquitto.ts'

const connect = (url: string, username: string, password: string, clientId: string) =>
  mqtt.connectAsync(url, {
    username,
    password,
    clientId,
    protocolVersion: 4,
    reconnectPeriod: 0,
    connectTimeout: 5000,
  })

describe.skipIf(process.env.LATCHKEY_TEST_SERVICES !== '1')('Mosquitto dynamic security', () => {
  let mosquitto: PrivateMosquitto
  let dynsec: MosquittoDynsec

  beforeAll(async () => {
    mosquitto = await startPrivateMosquitto()
    dynsec = await MosquittoDynsec.connect({ url: mosquitto.url, ...mosquitto.admin })
  })
  afterAll(async () => {
    await dynsec?.close()
    await mosquitto?.stop()
  })

  it('gives a gateway a login bound to its id and a role confined to its topics', async () => {
    await dynsec.upsertGateway('gw-a', 'token-a')
    const role = await dynsec.send({ command: 'getRole', rolename: gatewayRoleName('gw-a') })
    const acls = (role.data as { role: { acls: unknown[] } }).role.acls
    expect(acls).toHaveLength(gatewayRoleAcls('gw-a').length)
    expect(acls).toEqual(expect.arrayContaining(gatewayRoleAcls('gw-a')))
    const client = await dynsec.send({ command: 'getClient', username: 'gw-a' })
    expect(client.data).toEqual({
      client: {
        username: 'gw-a',
        clientid: 'gw-a',
        roles: [{ rolename: 'latchkey-gw-gw-a', priority: 0 }],
        groups: [],
      },
    })

    const gateway = await connect(mosquitto.url, 'gw-a', 'token-a', 'gw-a')
    expect(gateway.connected).toBe(true)
    await gateway.endAsync()
    await expect(connect(mosquitto.url, 'gw-a', 'token-a', 'gw-b')).rejects.toThrow('Not authorized')
  })

  it('rotates a token: the old one is refused, the new one works; a removed gateway is refused', async () => {
    await dynsec.upsertGateway('gw-r', 'first')
    await dynsec.upsertGateway('gw-r', 'second')
    await expect(connect(mosquitto.url, 'gw-r', 'first', 'gw-r')).rejects.toThrow(/Connection refused/)
    const client = await connect(mosquitto.url, 'gw-r', 'second', 'gw-r')
    await client.endAsync()
    await dynsec.removeGateway('gw-r')
    await expect(connect(mosquitto.url, 'gw-r', 'second', 'gw-r')).rejects.toThrow(/Connection refused/)
    // Removing twice is not an error.
    await dynsec.removeGateway('gw-r')
  })

  it("lets the server use every gateway's topics", async () => {
    await dynsec.ensureServerClient('server', 'server-pw')
    await dynsec.ensureServerClient('server', 'server-pw')
    await dynsec.upsertGateway('gw-s', 'token-s')
    const server = await connect(mosquitto.url, 'server', 'server-pw', 'server-1')
    const gateway = await connect(mosquitto.url, 'gw-s', 'token-s', 'gw-s')
    try {
      await server.subscribeAsync('latchkey/v1/gw/+/status', { qos: 1 })
      const got = new Promise<string>((resolve) => server.once('message', (t, p) => resolve(`${t} ${p}`)))
      const status = topic('gatewayStatus', { gatewayId: 'gw-s' })
      await gateway.publishAsync(status, '{"online":true,"at":0}', { qos: 1 })
      expect(await got).toBe(`${status} {"online":true,"at":0}`)
      // …but not administer the broker with its own login.
      const next = new Promise<string>((resolve) => server.once('message', (t) => resolve(t)))
      await server.subscribeAsync('$CONTROL/dynamic-security/v1/response', { qos: 1 }).catch(() => {})
      await server.publishAsync('$CONTROL/dynamic-security/v1', '{"commands":[{"command":"listClients"}]}', {
        qos: 1,
      })
      await gateway.publishAsync(status, 'marker', { qos: 1 })
      expect(await next).toBe(status)
      // …but not administer the broker with its own login.
      const answered = new Promise<string>((resolve) => server.once('message', (t) => resolve(t)))
      await server.subscribeAsync('$CONTROL/dynamic-security/v1/response', { qos: 1 }).catch(() => {})
      await server.publishAsync('$CONTROL/dynamic-security/v1', '{"commands":[{"command":"listClients"}]}', {
        qos: 1,
      })
      await server.publishAsync(status, 'marker', { qos: 1 })
      expect(await answered).toBe(status)
    } finally {
      await server.endAsync()
      await gateway.endAsync()
    }
  })

  it('refuses to administer with a login that is not the admin', async () => {
    await dynsec.ensureServerClient('server', 'server-pw')
    const error = await MosquittoDynsec.connect({
      url: mosquitto.url,
      username: 'server',
      password: 'server-pw',
    }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(LatchkeyError)
    expect((error as LatchkeyError).code).toBe('forbidden')
  })
})
