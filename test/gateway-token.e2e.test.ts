/**
 * Rotating a gateway's token and retiring a gateway, end to end: the server over HTTP, a gateway with
 * a simulated lock, and the real broker between them — the embedded one (`npm test`) or Mosquitto
 * with dynamic security (`npm run test:services`). The broker login changes at once in both.
 */
import { SimulatedClock } from '@latchkey/core'
import { Gateway } from '@latchkey/gateway'
import mqtt from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ApiClient, eventually, startTestServer, type TestServer } from './harness.ts'

let t: TestServer
let owner: { api: ApiClient; userId: string; organizationId: string }
const gateways: Gateway[] = []

/** Logs in to the broker as this gateway; answers whether the broker took the login. */
async function brokerTakes(gatewayId: string, token: string): Promise<boolean> {
  try {
    const client = await mqtt.connectAsync(t.server.mqttUrl, {
      username: gatewayId,
      password: token,
      clientId: gatewayId,
      protocolVersion: 4,
      reconnectPeriod: 0,
      connectTimeout: 5000,
    })
    await client.endAsync(true)
    return true
  } catch {
    return false
  }
}

/** A registered gateway with one lock, its gateway process connected and the lock online. */
async function gatewayWithLock(name: string) {
  const created = await owner.api.expect(201, 'POST', '/api/v1/gateways', { name })
  const lock = await owner.api.expect(201, 'POST', '/api/v1/locks', {
    name: `${name} door`,
    timezone: 'Europe/Berlin',
    gatewayId: created.id,
  })
  const gateway = new Gateway({
    gatewayId: created.id,
    token: created.mqtt.password,
    mqttUrl: t.server.mqttUrl,
    world: new SimulatedClock(),
    reconnectPeriodMs: 200,
  })
  gateways.push(gateway)
  await gateway.attach(lock.bundle)
  await gateway.start()
  await eventually('the lock online', async () => {
    const body = await owner.api.expect(200, 'GET', `/api/v1/locks/${lock.id}`)
    return body.online === true
  })
  return {
    id: created.id as string,
    token: created.mqtt.password as string,
    lockId: lock.id as string,
    gateway,
  }
}

beforeAll(async () => {
  t = await startTestServer()
  owner = await t.signup()
})

afterAll(async () => {
  for (const gateway of gateways) await gateway.stop()
  await t?.close()
})

describe('rotating a gateway token', () => {
  it('refuses the old token at once, ends its session, and lets the gateway back in with the new one', async () => {
    const { id, token, lockId, gateway } = await gatewayWithLock('Lobby')

    const rotated = await owner.api.expect(200, 'POST', `/api/v1/gateways/${id}/rotate-token`)
    expect(rotated).toEqual({
      id,
      mqtt: { url: t.server.mqttUrl, username: id, password: expect.stringMatching(/^lkg_/), clientId: id },
    })
    const fresh: string = rotated.mqtt.password
    expect(fresh).not.toBe(token)

    // the connected gateway was disconnected, and the broker keeps refusing its old token
    await eventually('the gateway offline', async () => {
      const body = await owner.api.expect(200, 'GET', `/api/v1/gateways/${id}`)
      return body.online === false && !gateway.status().connected
    })
    expect(await brokerTakes(id, token)).toBe(false)
    expect(gateway.status().connected).toBe(false)
    expect((await owner.api.expect(200, 'GET', `/api/v1/locks/${lockId}`)).online).toBe(false)

    // given the new token, the same gateway comes back, and its lock with it
    gateway.setToken(fresh)
    await eventually('the gateway and its lock online again', async () => {
      const gw = await owner.api.expect(200, 'GET', `/api/v1/gateways/${id}`)
      const lock = await owner.api.expect(200, 'GET', `/api/v1/locks/${lockId}`)
      return gw.online === true && lock.online === true && gateway.status().connected
    })
    // the old token still asks the server for nothing
    const broker = await fetch(`${t.url}/api/v1/broker`, { headers: { authorization: `Bearer ${token}` } })
    expect(broker.status).toBe(401)
  })

  it('is for owners and admins of the gateway’s organization only', async () => {
    const created = await owner.api.expect(201, 'POST', '/api/v1/gateways', { name: 'Shed' })
    const other = await t.signup()
    const refused = await other.api.request('POST', `/api/v1/gateways/${created.id}/rotate-token`)
    expect(refused.status).toBe(404)
    expect(refused.headers.get('content-type')).toContain('application/problem+json')
    expect(refused.body).toMatchObject({ code: 'not_found' })
    expect(await brokerTakes(created.id, created.mqtt.password)).toBe(true)
    const unknown = await owner.api.request('POST', '/api/v1/gateways/not-an-id/rotate-token')
    expect(unknown.status).toBe(404)
  })
})

describe('retiring a gateway', () => {
  it('removes its broker login at once and detaches its locks, which say they have no gateway', async () => {
    const { id, token, lockId, gateway } = await gatewayWithLock('Garage')

    const retired = await owner.api.expect(200, 'DELETE', `/api/v1/gateways/${id}`)
    expect(retired).toEqual({ id, name: 'Garage', detachedLocks: [{ id: lockId, name: 'Garage door' }] })

    await eventually('the gateway disconnected', () => !gateway.status().connected)
    expect(await brokerTakes(id, token)).toBe(false)
    const gone = await owner.api.request('GET', `/api/v1/gateways/${id}`)
    expect(gone.status).toBe(404)
    expect(gone.body).toMatchObject({ code: 'not_found' })
    const listed = (await owner.api.expect(200, 'GET', '/api/v1/gateways')).items.map(
      (g: { id: string }) => g.id,
    )
    expect(listed).not.toContain(id)

    const lock = await owner.api.expect(200, 'GET', `/api/v1/locks/${lockId}`)
    expect(lock).toMatchObject({ gatewayId: null, online: false })
    const offline = await owner.api.expect(200, 'GET', `/api/v1/events?lockId=${lockId}&type=lock.offline`)
    expect(offline.items[0]).toMatchObject({ type: 'lock.offline', data: { reason: 'gateway_deleted' } })

    // a code made now says why it cannot reach the lock
    const code = await owner.api.expect(201, 'POST', `/api/v1/locks/${lockId}/access-codes`, {
      name: 'Cleaner',
      kind: 'permanent',
      delivery: 'synced',
    })
    await eventually('the code to say the lock has no gateway', async () => {
      const body = await owner.api.expect(200, 'GET', `/api/v1/access-codes/${code.id}`)
      return JSON.stringify(body.errors).includes('the lock has no gateway')
    })

    // retiring it again: there is no such gateway
    const again = await owner.api.request('DELETE', `/api/v1/gateways/${id}`)
    expect(again.status).toBe(404)
  })

  it('is refused to a member, and changes nothing then', async () => {
    const created = await owner.api.expect(201, 'POST', '/api/v1/gateways', { name: 'Attic' })
    const invitation = await owner.api.expect(201, 'POST', '/api/v1/invitations', {
      email: `member-${process.pid}@example.test`,
      role: 'member',
    })
    const login = await t.api.expect(200, 'POST', '/api/v1/auth/accept-invitation', {
      token: invitation.token,
      password: 'member password 1',
    })
    const member = t.api.withToken(login.token)
    const refused = await member.request('DELETE', `/api/v1/gateways/${created.id}`)
    expect(refused.status).toBe(403)
    expect(refused.body).toMatchObject({ code: 'forbidden' })
    expect((await member.request('POST', `/api/v1/gateways/${created.id}/rotate-token`)).status).toBe(403)
    expect(await brokerTakes(created.id, created.mqtt.password)).toBe(true)
  })
})
