/**
 * The gateway over a real broker, end to end on loopback: the same suite runs on the embedded broker
 * (npm test) and on a private Mosquitto with dynamic security (npm run test:services).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { SimulatedClock } from '@latchkey/core'
import { Gateway } from '@latchkey/gateway'
import type { LockEvent } from '@latchkey/protocol'
import { topic } from '@latchkey/protocol'
import type { MqttClient } from 'mqtt'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  connectRaw,
  MqttServerDouble,
  makeLock,
  sleep,
  T0,
  type TestBroker,
  type TestLock,
  waitFor,
} from './harness.ts'

const HOUR = 60 * 60 * 1000
const here = dirname(fileURLToPath(import.meta.url))
const repoRoot = resolve(here, '../..')
const PIN = '2468'

function unlockedSeqs(events: LockEvent[]): number[] {
  return events.filter((e) => e.type === 'unlocked' && e.method === 'keypad').map((e) => e.seq)
}

/** Every seq from 1 to the last stored, each once: nothing lost, nothing stored twice. */
function expectContiguous(events: LockEvent[]): void {
  expect(events.map((e) => e.seq)).toEqual(Array.from({ length: events.length }, (_, i) => i + 1))
}

export function gatewaySuite(name: string, startBroker: () => Promise<TestBroker>): void {
  // Generous per-test bounds: these start processes and brokers on a machine shared with other suites.
  describe(name, { timeout: 120_000 }, () => {
    let broker: TestBroker
    let counter = 0
    const cleanups: Array<() => Promise<void> | void> = []

    beforeAll(async () => {
      broker = await startBroker()
    })
    afterAll(async () => {
      await broker?.close()
    })
    afterEach(async () => {
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
    })

    async function newGatewayId(): Promise<{ gatewayId: string; token: string }> {
      counter += 1
      const gatewayId = `gw-${broker.kind}-${counter}-${randomBytes(3).toString('hex')}`
      const token = randomBytes(16).toString('base64url')
      await broker.addGateway(gatewayId, token)
      return { gatewayId, token }
    }

    function tempDir(): string {
      const dir = mkdtempSync(join(tmpdir(), 'latchkey-gw-test-'))
      cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
      return dir
    }

    async function serverDouble(world: { now(): number }): Promise<MqttServerDouble> {
      const server = await MqttServerDouble.connect({ broker, clock: () => world.now() })
      cleanups.push(() => server.close())
      return server
    }

    /** A started gateway hosting one lock, and the server that holds the lock's secret. */
    async function setup(options: { syncIntervalMs?: number } = {}) {
      const { gatewayId, token } = await newGatewayId()
      const world = new SimulatedClock({ frozenAt: T0 })
      const server = await serverDouble(world)
      const lock = makeLock(`lock-${counter}`, gatewayId)
      const lockId = lock.bundle.lockId
      server.addLock(gatewayId, lock)
      const logs: string[] = []
      const gateway = new Gateway({
        gatewayId,
        token,
        mqttUrl: broker.url(),
        world,
        stateDir: tempDir(),
        pollIntervalMs: 500,
        reconnectPeriodMs: 200,
        syncIntervalMs: options.syncIntervalMs ?? 6 * HOUR,
        log: (line) => logs.push(line),
      })
      cleanups.push(() => gateway.stop())
      await gateway.attach(lock.bundle)
      await gateway.start()
      // The first sync on connect: the server answered with set_time, and the lock reported it.
      await waitFor('the first clock_set', () => server.events(lockId).find((e) => e.type === 'clock_set'))
      return { gatewayId, token, world, server, lock, lockId, gateway, logs }
    }

    it('relays a command sealed by the server to the lock and its sealed reply back', async () => {
      const { server, lockId, gateway } = await setup()
      const reply = await server.request(lockId, {
        type: 'set_code',
        codeId: 'cleaner',
        pin: PIN,
        rule: { kind: 'permanent' },
      })
      expect(reply).toMatchObject({ kind: 'reply', status: 'ok', data: { replaced: false } })
      expect(gateway.lock(lockId)!.view().codes).toEqual([
        { codeId: 'cleaner', kind: 'permanent', uses: 0, rule: { kind: 'permanent' } },
      ])

      expect(gateway.keypad(lockId, PIN)).toEqual({ result: 'unlocked' })
      const unlocked = await waitFor('the keypad event', () =>
        server.events(lockId).find((e) => e.type === 'unlocked'),
      )
      expect(unlocked).toEqual({
        seq: unlocked.seq,
        at: T0,
        type: 'unlocked',
        method: 'keypad',
        codeId: 'cleaner',
      })
      // The server acknowledged what it stored, so the lock's ring is empty again.
      await waitFor('the ring to empty', () => gateway.lock(lockId)!.view().events.unacked === 0)
      expect(server.lock(lockId).refused).toEqual([])
    })

    it('announces itself, its locks and asks for their time; its last will reports it offline', async () => {
      const { gatewayId, server, lockId, gateway } = await setup()
      expect(server.statuses.filter((s) => s.gatewayId === gatewayId)[0]).toEqual({
        gatewayId,
        online: true,
        at: T0,
        session: expect.any(Number),
        locks: [lockId],
      })
      await waitFor('the lock link', () => server.links.find((l) => l.lockId === lockId))
      expect(server.links.filter((l) => l.lockId === lockId)).toEqual([
        { gatewayId, lockId, inRange: true, battery: 100, at: T0 },
      ])
      expect(server.timeRequests).toEqual([{ gatewayId, lockId, reason: 'connect', at: T0 }])

      // Cut off: no goodbye reaches the broker, which publishes the will.
      gateway.setOnline(false)
      await waitFor('the last will', () =>
        server.statuses.find((s) => s.gatewayId === gatewayId && !s.online),
      )
      expect(server.statuses.filter((s) => s.gatewayId === gatewayId).map((s) => s.online)).toEqual([
        true,
        false,
      ])

      gateway.setOnline(true)
      await waitFor('the second time request', () => server.timeRequests.length === 2)
      expect(server.timeRequests[1]).toEqual({ gatewayId, lockId, reason: 'connect', at: T0 })
      expect(server.statuses.filter((s) => s.gatewayId === gatewayId).map((s) => s.online)).toEqual([
        true,
        false,
        true,
      ])

      await gateway.stop()
      await waitFor(
        'the goodbye',
        () => server.statuses.filter((s) => s.gatewayId === gatewayId).length === 4,
      )
      const statuses = server.statuses.filter((s) => s.gatewayId === gatewayId)
      expect(statuses.at(-1)).toEqual({ gatewayId, online: false, at: T0, session: expect.any(Number) })
      // Each connection is numbered, higher than the one before; its will and its goodbye say its number.
      const [first, will, second, goodbye] = statuses.map((s) => s.session!)
      expect([will, goodbye]).toEqual([first, second])
      expect(second).toBeGreaterThan(first!)
    })

    it('syncs the lock clock on connect and every sync interval; the lock reports the offset', async () => {
      const { server, lockId, gateway, world } = await setup({ syncIntervalMs: HOUR })
      // On connect the clock was unset: no offset to report.
      expect(server.events(lockId).filter((e) => e.type === 'clock_set')).toEqual([
        { seq: 1, at: T0, type: 'clock_set', offsetMs: null },
      ])
      expect(gateway.lock(lockId)!.view().clock.ms).toBe(T0)

      // The lock's clock falls 5 s behind; an hour of world time later the gateway asks again.
      gateway.changeLockClock(lockId, { advanceMs: -5000 })
      world.advance(HOUR)
      await waitFor(
        'the periodic clock_set',
        () => server.events(lockId).filter((e) => e.type === 'clock_set')[1],
      )
      expect(server.timeRequests.map((r) => r.reason)).toEqual(['connect', 'periodic'])
      expect(server.events(lockId).filter((e) => e.type === 'clock_set')[1]).toEqual({
        seq: 2,
        at: T0 + HOUR,
        type: 'clock_set',
        offsetMs: 5000,
      })
      expect(gateway.lock(lockId)!.view().clock.ms).toBe(T0 + HOUR)

      // After a power loss the clock is unset; the lock rejoins and is synced again at once.
      gateway.changeLockClock(lockId, { powerLoss: true })
      await waitFor(
        'the clock after power loss',
        () => server.events(lockId).filter((e) => e.type === 'clock_set')[2],
      )
      expect(server.events(lockId).slice(2)).toEqual([
        { seq: 3, at: null, type: 'power_restored' },
        { seq: 4, at: T0 + HOUR, type: 'clock_set', offsetMs: null },
      ])
    })

    it('drops frames for a lock out of range, and catches up when it is back', async () => {
      const { gatewayId, server, lockId, gateway, logs } = await setup()
      // Quiet first: every frame the server sent so far has reached the lock, every event is acknowledged.
      await waitFor('a quiet link', () => {
        const view = gateway.lock(lockId)!.view()
        return view.events.unacked === 0 && view.counters.rx === server.lock(lockId).sent
      })
      gateway.setInRange(lockId, false)
      await waitFor('the link report', () => server.links.find((l) => l.lockId === lockId && !l.inRange))
      const rxBefore = gateway.lock(lockId)!.view().counters.rx
      const lost = server.send(lockId, { type: 'unlock', notAfter: T0 + 60_000 })
      await waitFor('the dropped frame', () => logs.includes(`lock ${lockId} out of range: frame dropped`))
      expect(gateway.lock(lockId)!.view().counters.rx).toBe(rxBefore)
      expect(server.lock(lockId).replies.has(lost)).toBe(false)

      // Used while out of range: the lock decides alone and keeps the event until it is back.
      expect(gateway.keypad(lockId, '0000')).toEqual({ result: 'denied', reason: 'unknown_code' })
      gateway.setInRange(lockId, true)
      await waitFor(
        'the link back',
        () =>
          server.links
            .filter((l) => l.lockId === lockId)
            .map((l) => l.inRange)
            .join() === 'true,false,true',
      )
      expect(server.timeRequests.map((r) => [r.gatewayId, r.reason])).toEqual([
        [gatewayId, 'connect'],
        [gatewayId, 'connect'],
      ])
      const reply = await server.request(lockId, { type: 'unlock', notAfter: T0 + 60_000 })
      expect(reply).toMatchObject({ status: 'ok' })
      await waitFor('the remote unlock event', () =>
        server.events(lockId).find((e) => e.type === 'unlocked' && e.method === 'remote'),
      )
      expect(server.events(lockId).filter((e) => e.type !== 'clock_set')).toEqual([
        expect.objectContaining({ type: 'access_denied', method: 'keypad', reason: 'unknown_code' }),
        expect.objectContaining({ type: 'unlocked', method: 'remote' }),
      ])
    })

    describe('topic policy', () => {
      const raw: MqttClient[] = []
      afterEach(async () => {
        for (const client of raw.splice(0)) await client.endAsync(true)
      })

      it('refuses a gateway with a wrong token, or under another client id', async () => {
        const { gatewayId, token } = await newGatewayId()
        await expect(
          connectRaw(broker.url(), { username: gatewayId, password: 'not-the-token', clientId: gatewayId }),
        ).rejects.toThrow(/Connection refused/)
        await expect(
          connectRaw(broker.url(), { username: gatewayId, password: token, clientId: 'someone-else' }),
        ).rejects.toThrow(/Connection refused/)
        const ok = await connectRaw(broker.url(), {
          username: gatewayId,
          password: token,
          clientId: gatewayId,
        })
        raw.push(ok)
        expect(ok.connected).toBe(true)
      })

      it("does not let a gateway subscribe to another gateway's topics", async () => {
        const a = await newGatewayId()
        const b = await newGatewayId()
        const spy = await connectRaw(broker.url(), {
          username: a.gatewayId,
          password: a.token,
          clientId: a.gatewayId,
        })
        raw.push(spy)
        const received: string[] = []
        spy.on('message', (name) => received.push(name))
        const foreign = [
          topic('lockDown', { gatewayId: b.gatewayId, lockId: 'door' }),
          `latchkey/v1/gw/${b.gatewayId}/#`,
          'latchkey/v1/gw/+/lock/+/down',
          '#',
        ]
        // Each refused filter gets SUBACK 0x80 (mqtt.js reports it as an error carrying the SUBACK).
        const refusal = await spy.subscribeAsync(foreign, { qos: 1 }).then(
          () => null,
          (error: { packet?: { granted?: number[] } }) => error.packet?.granted,
        )
        expect(refusal).toEqual([128, 128, 128, 128])
        const own = topic('poll', { gatewayId: a.gatewayId, lockId: 'door' })
        expect((await spy.subscribeAsync(own, { qos: 1 })).map((g) => g.qos)).toEqual([1])

        const server = await connectRaw(broker.url(), {
          ...broker.serverLogin,
          clientId: `srv-${randomBytes(4).toString('hex')}`,
        })
        raw.push(server)
        await server.publishAsync(
          topic('lockDown', { gatewayId: b.gatewayId, lockId: 'door' }),
          'secret frame',
          { qos: 1 },
        )
        await server.publishAsync(own, JSON.stringify({ at: T0 }), { qos: 1 })
        await waitFor('the message on its own topic', () => received.length > 0)
        expect(received).toEqual([own])
      })

      it("drops what a gateway publishes on another gateway's topics", async () => {
        const a = await newGatewayId()
        const b = await newGatewayId()
        const observer = await connectRaw(broker.url(), {
          ...broker.serverLogin,
          clientId: `srv-${randomBytes(4).toString('hex')}`,
        })
        raw.push(observer)
        const seen: string[] = []
        observer.on('message', (name, payload) => seen.push(`${name} ${payload.toString()}`))
        await observer.subscribeAsync('latchkey/v1/gw/+/lock/+/up', { qos: 1 })

        const forger = await connectRaw(broker.url(), {
          username: a.gatewayId,
          password: a.token,
          clientId: a.gatewayId,
        })
        raw.push(forger)
        const forged = topic('lockUp', { gatewayId: b.gatewayId, lockId: 'door' })
        // The embedded broker closes the forger's connection (MQTT-3.3.5-2); Mosquitto acknowledges and drops.
        await Promise.race([
          forger.publishAsync(forged, 'forged', { qos: 1 }).catch(() => {}),
          new Promise((resolve) => forger.once('close', () => resolve(undefined))),
          sleep(5000),
        ])
        const honest = await connectRaw(broker.url(), {
          username: b.gatewayId,
          password: b.token,
          clientId: b.gatewayId,
        })
        raw.push(honest)
        const own = topic('lockUp', { gatewayId: b.gatewayId, lockId: 'door' })
        await honest.publishAsync(own, 'honest', { qos: 1 })
        await waitFor('the honest message', () => seen.length > 0)
        expect(seen).toEqual([`${own} honest`])
      })
    })

    it('loses no event and stores none twice across a broker restart', async () => {
      const { server, lockId, gateway, gatewayId } = await setup()
      await server.request(lockId, { type: 'set_code', codeId: 'c', pin: PIN, rule: { kind: 'permanent' } })
      for (let i = 0; i < 3; i++) expect(gateway.keypad(lockId, PIN)).toEqual({ result: 'unlocked' })

      await broker.down()
      // While the broker is away the lock keeps working and keeps its events.
      for (let i = 0; i < 4; i++) expect(gateway.keypad(lockId, PIN)).toEqual({ result: 'unlocked' })
      await broker.up()
      for (let i = 0; i < 2; i++) expect(gateway.keypad(lockId, PIN)).toEqual({ result: 'unlocked' })

      await waitFor('all nine presses', () => unlockedSeqs(server.events(lockId)).length === 9, 30_000)
      await waitFor('the ring to empty', () => gateway.lock(lockId)!.view().events.unacked === 0, 30_000)
      expect(unlockedSeqs(server.events(lockId))).toHaveLength(9)
      expectContiguous(server.events(lockId))
      expect(gateway.lock(lockId)!.view().events.lastSeq).toBe(server.events(lockId).length)
      // It came back on a new connection, numbered higher than the first.
      const sessions = server.statuses
        .filter((s) => s.gatewayId === gatewayId && s.online)
        .map((s) => s.session!)
      expect(Math.max(...sessions)).toBeGreaterThan(sessions[0]!)
    })

    describe('a gateway process killed with SIGKILL', () => {
      const children: ChildProcess[] = []
      afterEach(async () => {
        for (const child of children.splice(0)) {
          if (child.exitCode === null && child.signalCode === null) {
            child.kill('SIGKILL')
            await once(child, 'exit')
          }
        }
      })

      async function spawnGateway(options: object): Promise<{ child: ChildProcess; controlUrl: string }> {
        const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'gateway-process.ts')], {
          cwd: repoRoot,
          env: { ...process.env, LATCHKEY_TEST_SIM: JSON.stringify(options) },
          stdio: ['ignore', 'pipe', 'pipe'],
        })
        children.push(child)
        let stdout = ''
        let stderr = ''
        child.stdout!.on('data', (chunk: Buffer) => {
          stdout += chunk.toString()
        })
        child.stderr!.on('data', (chunk: Buffer) => {
          stderr = (stderr + chunk.toString()).slice(-5000)
        })
        const controlUrl = await waitFor(
          'the gateway process to listen',
          () => {
            if (child.exitCode !== null) throw new Error(`the gateway process exited: ${stderr}`)
            return /READY (\S+)/.exec(stdout)?.[1]
          },
          60_000,
        )
        return { child, controlUrl }
      }

      async function call(url: string, method: string, body?: unknown) {
        const response = await fetch(url, {
          method,
          headers: body === undefined ? {} : { 'content-type': 'application/json' },
          body: body === undefined ? null : JSON.stringify(body),
        })
        return { status: response.status, body: (await response.json()) as Record<string, unknown> }
      }

      it('stops cleanly on SIGTERM: says goodbye and exits 0', async () => {
        const { gatewayId, token } = await newGatewayId()
        const server = await serverDouble({ now: () => Date.now() })
        const options = { gatewayId, gatewayToken: token, mqttUrl: broker.url(), stateDir: tempDir() }
        const { child } = await spawnGateway(options)
        await waitFor('the gateway online', () =>
          server.statuses.find((s) => s.gatewayId === gatewayId && s.online),
        )
        const exited = once(child, 'exit')
        child.kill('SIGTERM')
        expect(await exited).toEqual([0, null])
        await waitFor('the goodbye', () =>
          server.statuses.find((s) => s.gatewayId === gatewayId && !s.online),
        )
        expect(
          server.statuses.filter((s) => s.gatewayId === gatewayId).map((s) => [s.online, s.locks]),
        ).toEqual([
          [true, []],
          [false, undefined],
        ])
      })

      it('loses no event and stores none twice; restarted on its state directory it hosts the same lock', async () => {
        const { gatewayId, token } = await newGatewayId()
        const server = await serverDouble({ now: () => Date.now() })
        const lock: TestLock = makeLock(`lock-${counter}`, gatewayId)
        const lockId = lock.bundle.lockId
        server.addLock(gatewayId, lock)
        const options = {
          gatewayId,
          gatewayToken: token,
          mqttUrl: broker.url(),
          stateDir: tempDir(),
          pollIntervalMs: 500,
        }

        let { child, controlUrl } = await spawnGateway(options)
        expect((await call(`${controlUrl}/sim/locks`, 'POST', { bundle: lock.bundle })).status).toBe(201)
        // Its time request shows the lock's topics are subscribed.
        await waitFor('the time request', () => server.timeRequests.find((r) => r.lockId === lockId))
        expect(
          await server.request(lockId, {
            type: 'set_code',
            codeId: 'c',
            pin: PIN,
            rule: { kind: 'permanent' },
          }),
        ).toMatchObject({ status: 'ok' })

        const press = async () =>
          expect(
            (await call(`${controlUrl}/sim/locks/${lockId}/keypad`, 'POST', { digits: PIN })).body,
          ).toEqual({
            result: 'unlocked',
          })
        for (let i = 0; i < 5; i++) await press()
        child.kill('SIGKILL')
        await once(child, 'exit')
        await waitFor('the last will', () =>
          server.statuses.find((s) => s.gatewayId === gatewayId && !s.online),
        )

        ;({ child, controlUrl } = await spawnGateway(options))
        const view = await call(`${controlUrl}/sim/locks/${lockId}`, 'GET')
        expect(view.status).toBe(200)
        expect(view.body.codes).toEqual([
          { codeId: 'c', kind: 'permanent', uses: 5, rule: { kind: 'permanent' } },
        ])
        for (let i = 0; i < 3; i++) await press()

        await waitFor('all eight presses', () => unlockedSeqs(server.events(lockId)).length === 8, 30_000)
        await waitFor(
          'the ring to empty',
          async () =>
            ((await call(`${controlUrl}/sim/locks/${lockId}`, 'GET')).body.events as { unacked: number })
              .unacked === 0,
          30_000,
        )
        expect(unlockedSeqs(server.events(lockId))).toHaveLength(8)
        expectContiguous(server.events(lockId))
      })
    })
  })
}
