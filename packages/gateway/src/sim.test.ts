import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LatchkeyError } from '@latchkey/core'
import Fastify, { type FastifyInstance } from 'fastify'
import { afterEach, describe, expect, it } from 'vitest'
import { ServerDouble } from '../../lock/src/testing/server-double.ts'
import { discoverBroker, type RunningSim, runSim } from './sim.ts'

const cleanups: Array<() => Promise<unknown> | unknown> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

/** A stand-in for the server's HTTP API with only the broker route (or without it). */
async function fakeServer(withBrokerRoute: boolean): Promise<{ url: string; seen: string[] }> {
  const app: FastifyInstance = Fastify()
  const seen: string[] = []
  if (withBrokerRoute) {
    app.get('/api/v1/broker', async (request) => {
      seen.push(String(request.headers.authorization))
      return { mqttUrl: 'mqtt://127.0.0.1:1884' }
    })
  }
  await app.listen({ host: '127.0.0.1', port: 0 })
  cleanups.push(() => app.close())
  const address = app.server.address()
  return { url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`, seen }
}

describe('latchkey sim', () => {
  it("asks the server for its broker with the gateway's token", async () => {
    const server = await fakeServer(true)
    expect(await discoverBroker(server.url, 'tok')).toBe('mqtt://127.0.0.1:1884')
    expect(server.seen).toEqual(['Bearer tok'])
  })

  it('says clearly when the server does not tell its broker, or cannot be reached', async () => {
    const server = await fakeServer(false)
    const missing = await discoverBroker(server.url, 'tok').catch((e: unknown) => e)
    expect(missing).toBeInstanceOf(LatchkeyError)
    expect((missing as LatchkeyError).code).toBe('service_unavailable')
    expect((missing as LatchkeyError).message).toContain('GET /api/v1/broker: 404); pass --mqtt-url')

    const closed = await discoverBroker('http://127.0.0.1:9', 'tok').catch((e: unknown) => e)
    expect((closed as LatchkeyError).message).toBe(
      'cannot reach the server at http://127.0.0.1:9 to find its MQTT broker',
    )
    await expect(
      runSim({
        gatewayId: 'gw-1',
        gatewayToken: 't',
        controlPort: 0,
        stateDir: '/nonexistent',
        log: () => {},
      }),
    ).rejects.toMatchObject({ code: 'validation_failed' })
  })

  it('serves the control API on loopback and stops cleanly', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'latchkey-sim-'))
    cleanups.push(() => rmSync(stateDir, { recursive: true, force: true }))
    const lines: string[] = []
    const sim: RunningSim = await runSim({
      gatewayId: 'gw-1',
      gatewayToken: 't',
      mqttUrl: 'mqtt://127.0.0.1:9',
      controlPort: 0,
      stateDir,
      handleSignals: false,
      log: (line) => lines.push(line),
    })
    cleanups.push(() => sim.close())
    expect(sim.controlUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    const bundle = new ServerDouble().bundle
    const attached = await fetch(`${sim.controlUrl}/sim/locks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ bundle }),
    })
    expect(attached.status).toBe(201)
    const gateway = await (await fetch(`${sim.controlUrl}/sim/gateway`)).json()
    expect(gateway).toEqual({
      gatewayId: 'gw-1',
      online: true,
      connected: false,
      locks: [{ id: bundle.lockId, name: 'Front door', inRange: true }],
    })
    // The world clock of a sim process is the real one: it cannot be moved.
    expect((await fetch(`${sim.controlUrl}/sim/clock`)).status).toBe(404)
    await sim.close()
    expect(lines[0]).toBe(
      `gateway gw-1 with 0 lock(s) from ${stateDir}; broker mqtt://127.0.0.1:9; control API ${sim.controlUrl}/sim`,
    )
    expect(lines.at(-1)).toBe('stopped')
    await expect(fetch(`${sim.controlUrl}/sim/gateway`)).rejects.toThrow()
  })
})
