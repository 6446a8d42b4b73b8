/**
 * A restart of the broker under the server (its own Mosquitto, with the services): what it held for
 * the server's clean session is gone, and with it maybe a lock's answer. Once the server is on the
 * broker again it reads every lock's table it has not had since, so what it knows of each lock is what
 * the lock holds, without waiting hours for the next read.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { usingTestServices } from '../packages/server/src/testing.ts'
import { type ApiClient, E2E_METRICS_TOKEN, eventually, startTestServer, type TestServer } from './harness.ts'
import { type RelayGateway, startRelayGateway } from './relay-gateway.ts'

let t: TestServer
let owner: { api: ApiClient }
let relay: RelayGateway

async function tableReadsSent(): Promise<number> {
  const response = await fetch(`${t.url}/metrics`, {
    headers: { authorization: `Bearer ${E2E_METRICS_TOKEN}` },
  })
  const text = await response.text()
  const match = /^latchkey_lock_commands_sent_total\{type="read_table"\} (\d+)$/m.exec(text)
  return match === null ? 0 : Number(match[1])
}

describe.skipIf(!usingTestServices())('a restart of the broker under the server', () => {
  beforeAll(async () => {
    t = await startTestServer()
    owner = await t.signup()
    relay = await startRelayGateway(t, owner.api, { reconnect: true })
  })

  afterAll(async () => {
    await relay?.close()
    await t?.close()
  })

  it('reads the lock’s table again once the server is back on the broker, and the lock answers it', async () => {
    const code = await owner.api.expect(201, 'POST', `/api/v1/locks/${relay.lockId}/access-codes`, {
      name: 'Cleaner',
      kind: 'permanent',
      delivery: 'synced',
    })
    await eventually(
      'the code set',
      async () => (await owner.api.expect(200, 'GET', `/api/v1/access-codes/${code.id}`)).status === 'set',
    )
    // the lock's table as the server read it after the lock came online, and nothing in flight
    await eventually('the first table read', async () => (await tableReadsSent()) >= 1)
    const reads = await tableReadsSent()
    const frames = relay.counters.length

    await t.mosquitto!.restart()

    await eventually('a table read sent after the restart', async () => (await tableReadsSent()) > reads)
    // it reached the lock (the gateway is back on the broker too) and was answered: nothing waits
    await eventually('the read at the lock', () => relay.counters.length > frames)
    const lock = await owner.api.expect(200, 'GET', `/api/v1/locks/${relay.lockId}`)
    expect(lock.capacity.used).toBe(1)
    expect((await owner.api.expect(200, 'GET', `/api/v1/access-codes/${code.id}`)).status).toBe('set')
  })
})
