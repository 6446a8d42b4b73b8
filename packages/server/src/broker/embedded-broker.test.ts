import { once } from 'node:events'
import { createServer, type Server } from 'node:net'
import { LatchkeyError } from '@latchkey/core'
import { topic } from '@latchkey/protocol'
import fc from 'fast-check'
import mqtt from 'mqtt'
import { describe, expect, it } from 'vitest'
import { isPortInUse, startEmbeddedBroker } from './embedded-broker.ts'
import { type BrokerPrincipal, mayUseClientId, mayUseTopic } from './policy.ts'

const authenticate = async (username: string, password: string): Promise<BrokerPrincipal | null> => {
  if (username === 'server' && password === 'server-pw') return { kind: 'server' }
  if (username === 'gw-1' && password === 'gw-1-token') return { kind: 'gateway', gatewayId: 'gw-1' }
  return null
}

const connect = (url: string, username: string, password: string, clientId: string) =>
  mqtt.connectAsync(url, {
    username,
    password,
    clientId,
    protocolVersion: 4,
    reconnectPeriod: 0,
    connectTimeout: 5000,
  })

describe('topic policy', () => {
  const gw1: BrokerPrincipal = { kind: 'gateway', gatewayId: 'gw-1' }

  it('confines a gateway to its own topics and lets the server use any', () => {
    const cases: Array<[string, boolean]> = [
      ['latchkey/v1/gw/gw-1/status', true],
      ['latchkey/v1/gw/gw-1/lock/door/down', true],
      ['latchkey/v1/gw/gw-1/lock/+/down', true],
      ['latchkey/v1/gw/gw-1/#', true],
      ['latchkey/v1/gw/gw-1', false],
      ['latchkey/v1/gw/gw-10/status', false],
      ['latchkey/v1/gw/gw-2/status', false],
      ['latchkey/v1/gw/+/status', false],
      ['latchkey/v1/gw/#', false],
      ['#', false],
      ['$SYS/broker/clients', false],
    ]
    expect(cases.map(([t]) => [t, mayUseTopic(gw1, t)])).toEqual(cases)
    expect(cases.every(([t]) => mayUseTopic({ kind: 'server' }, t))).toBe(true)
  })

  it('never lets one gateway use a topic of another, whatever the ids', () => {
    const id = fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/)
    fc.assert(
      fc.property(id, id, (a, b) => {
        fc.pre(a !== b)
        const other = topic('lockDown', { gatewayId: b, lockId: 'door' })
        return !mayUseTopic({ kind: 'gateway', gatewayId: a }, other)
      }),
    )
  })

  it('requires a gateway to use its id as client id', () => {
    expect(mayUseClientId(gw1, 'gw-1')).toBe(true)
    expect(mayUseClientId(gw1, 'gw-2')).toBe(false)
    expect(mayUseClientId({ kind: 'server' }, 'anything')).toBe(true)
  })
})

/** Tries to listen on a loopback port: the error code, or null when it was free. */
async function listenError(port: number): Promise<string | null> {
  const probe = createServer()
  return new Promise((resolve) => {
    probe.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'))
    probe.listen({ host: '127.0.0.1', port }, () => probe.close(() => resolve(null)))
  })
}

describe('embedded broker', () => {
  it('picks a free loopback port for port 0 and tells its URL', async () => {
    const broker = await startEmbeddedBroker({ port: 0, authenticate })
    try {
      expect(broker.url).toBe(`mqtt://127.0.0.1:${broker.port}`)
      // the port it tells is the one it holds: another listener there is refused
      expect(await listenError(broker.port)).toBe('EADDRINUSE')
      const client = await connect(broker.url, 'server', 'server-pw', 'server-1')
      expect(broker.connectedClients()).toBe(1)
      await client.endAsync()
    } finally {
      await broker.close()
    }
  })

  it('refuses a taken port with a clear error instead of sharing it', async () => {
    const squatter: Server = createServer()
    squatter.listen({ host: '127.0.0.1', port: 0 })
    await once(squatter, 'listening')
    const address = squatter.address()
    const port = typeof address === 'object' && address ? address.port : 0
    try {
      const error = await startEmbeddedBroker({ port, authenticate }).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(LatchkeyError)
      expect((error as LatchkeyError).code).toBe('service_unavailable')
      expect((error as LatchkeyError).message).toContain(`127.0.0.1:${port} is already in use`)
      expect((error as LatchkeyError).details).toEqual({ reason: 'port_in_use', host: '127.0.0.1', port })
      expect(isPortInUse(error)).toBe(true)
      expect(isPortInUse(new Error('other'))).toBe(false)
    } finally {
      squatter.close()
    }
  })

  it('refuses unknown logins and a login that cannot be checked', async () => {
    const broker = await startEmbeddedBroker({
      port: 0,
      authenticate: async (username, password) => {
        if (username === 'broken') throw new Error('store down')
        return authenticate(username, password)
      },
    })
    try {
      await expect(connect(broker.url, 'gw-1', 'wrong', 'gw-1')).rejects.toThrow('Bad username or password')
      await expect(connect(broker.url, 'nobody', 'x', 'nobody')).rejects.toThrow('Bad username or password')
      await expect(connect(broker.url, 'gw-1', 'gw-1-token', 'gw-2')).rejects.toThrow('Identifier rejected')
      await expect(connect(broker.url, 'broken', 'x', 'broken')).rejects.toThrow('Not authorized')
      expect(broker.connectedClients()).toBe(0)
    } finally {
      await broker.close()
    }
  })

  it('closes its clients when it closes, and frees its port', async () => {
    const broker = await startEmbeddedBroker({ port: 0, authenticate })
    const client = await connect(broker.url, 'gw-1', 'gw-1-token', 'gw-1')
    const closed = new Promise((resolve) => client.once('close', () => resolve(undefined)))
    await broker.close()
    await closed
    expect(client.connected).toBe(false)
    const again = await startEmbeddedBroker({ port: broker.port, authenticate })
    expect(again.port).toBe(broker.port)
    await again.close()
  })
})
