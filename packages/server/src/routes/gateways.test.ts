import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  addMemberAndLogin,
  buildTestApp,
  signupOwner,
  TEST_EPOCH,
  type TestAccount,
  type TestApp,
} from '../testing.ts'

let t: TestApp
let owner: TestAccount
let other: TestAccount
beforeAll(async () => {
  t = await buildTestApp({
    broker: {
      publicUrl: (hostname) => `mqtt://${hostname ?? 'localhost'}:1884`,
      registrar: { register: async () => {}, remove: async () => {} },
    },
  })
  owner = await signupOwner(t.app)
  other = await signupOwner(t.app)
})
afterAll(() => t.close())

const create = (account: TestAccount, payload: unknown) =>
  t.app.inject({
    method: 'POST',
    url: '/api/v1/gateways',
    headers: account.headers,
    payload: payload as object,
  })
const get = (account: TestAccount, url: string) =>
  t.app.inject({ method: 'GET', url, headers: account.headers })

describe('gateways', () => {
  it('are registered with an MQTT login shown once, then listed and read without it', async () => {
    const response = await create(owner, { name: '  Lobby gateway ' })
    expect(response.statusCode).toBe(201)
    const body = response.json()
    expect(body).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      name: 'Lobby gateway',
      online: false,
      lastSeenAt: null,
      lockCount: 0,
      createdAt: new Date(TEST_EPOCH).toISOString(),
      mqtt: {
        url: 'mqtt://localhost:1884',
        username: body.id,
        password: expect.stringMatching(/^lkg_[A-Za-z0-9_-]{43}$/),
        clientId: body.id,
      },
    })
    const { mqtt, ...gateway } = body

    expect((await get(owner, '/api/v1/gateways')).json()).toEqual({ items: [gateway] })
    expect((await get(owner, `/api/v1/gateways/${body.id}`)).json()).toEqual(gateway)
    // the token is never shown again
    expect(JSON.stringify((await get(owner, '/api/v1/gateways')).json())).not.toContain(mqtt.password)
  })

  it('tell their broker to a gateway that shows its token, and to nobody else', async () => {
    const { mqtt } = (await create(owner, { name: 'Gate' })).json()
    const broker = await t.app.inject({
      method: 'GET',
      url: '/api/v1/broker',
      headers: { authorization: `Bearer ${mqtt.password}`, host: 'latchkey.example:8080' },
    })
    expect(broker.statusCode).toBe(200)
    expect(broker.json()).toEqual({ mqttUrl: 'mqtt://latchkey.example:1884' })

    for (const authorization of [`Bearer lkg_${'A'.repeat(43)}`, owner.headers.authorization, undefined]) {
      const refused = await t.app.inject({
        method: 'GET',
        url: '/api/v1/broker',
        headers: authorization === undefined ? {} : { authorization },
      })
      expect(refused.statusCode).toBe(401)
      expect(refused.json().code).toBe('unauthorized')
    }
  })

  it('are registered only by owners and admins; members read them', async () => {
    const admin = await addMemberAndLogin(t.app, owner, 'admin')
    expect((await create(admin, { name: 'By admin' })).statusCode).toBe(201)
    const member = await addMemberAndLogin(t.app, owner, 'member')
    const refused = await create(member, { name: 'By member' })
    expect(refused.statusCode).toBe(403)
    expect(refused.json()).toMatchObject({
      code: 'forbidden',
      detail: 'only owner or admin can register gateways',
    })
    const names = (await get(member, '/api/v1/gateways')).json().items.map((g: { name: string }) => g.name)
    // created at the same instant (the test clock is stopped), so compare as a set
    expect(names.sort()).toEqual(['By admin', 'Gate', 'Lobby gateway'])
  })

  it('refuse an empty name and unknown fields', async () => {
    const response = await create(owner, { name: ' ', token: 'mine' })
    expect(response.statusCode).toBe(400)
    expect(response.json().code).toBe('validation_failed')
  })

  it('of one organization are invisible to another', async () => {
    const { id } = (await create(owner, { name: 'Private' })).json()
    expect((await get(other, '/api/v1/gateways')).json()).toEqual({ items: [] })
    const response = await get(other, `/api/v1/gateways/${id}`)
    expect(response.statusCode).toBe(404)
    expect(response.json().code).toBe('not_found')
    expect((await get(owner, '/api/v1/gateways/not-a-uuid')).statusCode).toBe(404)
  })
})

describe('a server without a broker', () => {
  it('answers 503 to a gateway asking for it', async () => {
    const bare = await buildTestApp()
    try {
      const account = await signupOwner(bare.app)
      const created = await bare.app.inject({
        method: 'POST',
        url: '/api/v1/gateways',
        headers: account.headers,
        payload: { name: 'G' },
      })
      expect(created.json().mqtt.url).toBe(null)
      const response = await bare.app.inject({
        method: 'GET',
        url: '/api/v1/broker',
        headers: { authorization: `Bearer ${created.json().mqtt.password}` },
      })
      expect(response.statusCode).toBe(503)
      expect(response.json().code).toBe('service_unavailable')
    } finally {
      await bare.close()
    }
  })
})

describe('a broker that refuses the change of a gateway’s login', () => {
  it('leaves the gateway, its token and its locks as they were, and says so in words', async () => {
    let refuse = false
    const broker = await buildTestApp({
      broker: {
        publicUrl: () => 'mqtt://localhost:1884',
        registrar: {
          register: async () => {
            if (refuse) throw new Error('broker down')
          },
          remove: async () => {
            throw new Error('broker down')
          },
        },
      },
    })
    try {
      const account = await signupOwner(broker.app)
      const inject = (method: 'GET' | 'POST' | 'DELETE', url: string, payload?: object) =>
        broker.app.inject({ method, url, headers: account.headers, ...(payload ? { payload } : {}) })
      const gateway = (await inject('POST', '/api/v1/gateways', { name: 'Hall' })).json()
      const lock = (
        await inject('POST', '/api/v1/locks', { name: 'Door', timezone: 'UTC', gatewayId: gateway.id })
      ).json()
      refuse = true

      for (const [method, url] of [
        ['DELETE', `/api/v1/gateways/${gateway.id}`],
        ['POST', `/api/v1/gateways/${gateway.id}/rotate-token`],
      ] as const) {
        const refused = await inject(method, url)
        expect(refused.statusCode).toBe(503)
        expect(refused.headers['content-type']).toContain('application/problem+json')
        expect(refused.json()).toMatchObject({
          code: 'service_unavailable',
          detail:
            'the MQTT broker did not take the change of the gateway’s login; nothing was changed, try again',
        })
      }
      expect((await inject('GET', `/api/v1/gateways/${gateway.id}`)).json()).toMatchObject({ lockCount: 1 })
      expect((await inject('GET', `/api/v1/locks/${lock.id}`)).json()).toMatchObject({
        gatewayId: gateway.id,
      })
      const asked = await broker.app.inject({
        method: 'GET',
        url: '/api/v1/broker',
        headers: { authorization: `Bearer ${gateway.mqtt.password}` },
      })
      expect(asked.statusCode).toBe(200)
    } finally {
      await broker.close()
    }
  })
})
