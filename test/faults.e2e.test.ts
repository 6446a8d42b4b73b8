/**
 * kill -9 of `latchkey serve` (the embedded default: PGlite and its broker in the one process) in the
 * middle of a churn of codes on locks of two `latchkey sim` gateways, each a process of its own; the
 * server started again on the same data directory. Every lock's own table comes to the codes the API
 * holds, no acknowledged code is lost, and every event a lock recorded is stored exactly once
 * (counted against the lock's own seq). `npm run bench -- faults` measures the same with 100 locks
 * (docs/RELIABILITY.md).
 */
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest'
import { usingTestServices } from '../packages/server/src/testing.ts'
import { account, Churn, type Rig, startRig, waitConverged } from './fault-rig.ts'
import { sleep } from './harness.ts'

let rig: Rig | null = null

describe.skipIf(usingTestServices())('kill -9 of the one server process under a churn of codes', () => {
  beforeAll(async () => {
    rig = await startRig({ locks: 12, gateways: 2 })
  }, 120_000)

  afterAll(async () => {
    await rig?.close()
  }, 60_000)

  it('loses no code and no lock event, stores none twice, and brings every lock table to the API’s codes', async () => {
    onTestFailed(() => console.error(rig?.output()))
    const churn = new Churn(rig!, 3)
    churn.start(3, { maxMs: 20_000 })
    await sleep(3_000)
    await rig!.killServer()
    await churn.stop()
    const ready = await rig!.startServer()
    await waitConverged(rig!, ready, { timeoutMs: 45_000 })
    const books = await account(rig!, churn)
    expect(churn.created.size).toBeGreaterThan(0)
    expect(books.lockEvents).toBeGreaterThan(0)
    expect({
      lostCodes: books.lostCodes,
      lostEvents: books.lostEvents,
      duplicatedEvents: books.duplicatedEvents,
    }).toEqual({ lostCodes: [], lostEvents: 0, duplicatedEvents: 0 })
    expect(books.storedEvents).toBe(books.lockEvents)
  }, 90_000)
})
