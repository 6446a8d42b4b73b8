/**
 * Faults in the scale-out setup (docs/RELIABILITY.md): three `latchkey serve` processes behind one
 * address, on a PostgreSQL and a Mosquitto of the test's own, two `latchkey sim` gateways, and a
 * churn of codes through the one address. One after the other: kill -9 of a server process, Mosquitto
 * restarted, PostgreSQL crashed and started, every gateway cut off, kill -9 of a gateway. After each,
 * every lock's table comes to the codes the API holds; at the end no acknowledged code is lost, every
 * event a lock recorded is stored exactly once (against the lock's own seq), and no command is carried
 * out twice (a copy that reaches a lock again is refused as replayed; no frame is refused for any
 * other reason). `npm run bench -- faults` measures the same with 100 locks.
 * Runs only against the real services (`npm run test:services`).
 */
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest'
import { usingTestServices } from '../packages/server/src/testing.ts'
import { account, Churn, FAULTS, type FaultRound, faultRound, type Rig, startRig } from './fault-rig.ts'
import { privatePostgresAvailable } from './private-postgres.ts'

let rig: Rig | null = null

describe.skipIf(!usingTestServices() || !privatePostgresAvailable())(
  'faults under a churn of codes: three server processes, one PostgreSQL, one Mosquitto',
  () => {
    beforeAll(async () => {
      rig = await startRig({ locks: 12, gateways: 2, scaleOut: { servers: 3 } })
    }, 180_000)

    afterAll(async () => {
      await rig?.close()
    }, 60_000)

    it('after each fault every lock table converges; nothing acknowledged is lost, no event stored twice, no command carried out twice', async () => {
      onTestFailed(() => console.error(rig?.output()))
      const churn = new Churn(rig!, 3)
      const rounds: FaultRound[] = []
      for (const fault of FAULTS) {
        const round = await faultRound(rig!, churn, fault, {
          workers: 3,
          churnMs: 2_000,
          downMs: 2_000,
        }).catch((error: Error) => {
          throw new Error(`${fault.name}: ${error.message}`)
        })
        rounds.push(round)
        console.log(`${round.fault}: tables ${round.tablesMs} ms, settled ${round.settledMs} ms`)
      }
      expect(rounds.map((r) => r.fault)).toEqual(FAULTS.map((f) => f.name))
      const books = await account(rig!, churn)
      expect(churn.created.size).toBeGreaterThan(0)
      expect(churn.deleted.size).toBeGreaterThan(0)
      expect(books.lockEvents).toBeGreaterThan(0)
      expect({
        lostCodes: books.lostCodes,
        lostEvents: books.lostEvents,
        duplicatedEvents: books.duplicatedEvents,
        // a copy of a command that reached a lock again is refused (frame_replayed): nothing else
        framesDamagedOrForged: Object.keys(books.framesRejected).filter((r) => r !== 'frame_replayed'),
      }).toEqual({ lostCodes: [], lostEvents: 0, duplicatedEvents: 0, framesDamagedOrForged: [] })
      expect(books.storedEvents).toBe(books.lockEvents)
    }, 600_000)
  },
)
