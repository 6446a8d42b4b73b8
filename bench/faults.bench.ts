/**
 * Faults under continuous code churn (issue 14, item 6; docs/RELIABILITY.md): 100 simulated locks on
 * 4 `latchkey sim` gateways, each a process of its own, and `latchkey serve` with its embedded PGlite
 * and broker (the default). Clients create and delete codes over the API; the fault is injected
 * mid-churn; after the process is back, the time until every lock's own table is the desired one (the
 * API's codes that are not deleted) and no code is left waiting. Then what was acknowledged is looked
 * for again (lost codes), and every lock event is counted against the lock's own seq (lost, stored
 * twice). The floor is the same convergence with no fault: the churn stopped, the time until the
 * tables match, in the same run.
 */
import { account, Churn, type Convergence, type Rig, startRig, waitConverged } from '../test/fault-rig.ts'
import { sleep } from '../test/harness.ts'
import { type BenchRow, defineSuite, formatNumber, median } from './lib.ts'

const LOCKS = 100
const GATEWAYS = 4
const WORKERS = 4
const ROUNDS = 2
const CHURN_MS = 5_000
const DOWN_MS = 1_000

interface Round extends Convergence {
  fault: string
}

const p50 = (values: number[]) => formatNumber(median(values))
const max = (values: number[]) => formatNumber(Math.max(...values))

async function churnFor(rig: Rig, churn: Churn, ms: number): Promise<void> {
  churn.start(WORKERS, { maxMs: ms + 10_000 })
  await sleep(ms)
}

/** kill -9 of the one process mid-churn, then the same process again on its data directory. */
async function killServeRound(rig: Rig, churn: Churn): Promise<Round> {
  await churnFor(rig, churn, CHURN_MS)
  await rig.killServer()
  await churn.stop()
  await sleep(DOWN_MS)
  const ready = await rig.startServer()
  return { fault: 'kill -9 latchkey serve', ...(await waitConverged(rig, ready)) }
}

export default defineSuite({
  name: 'faults',
  async run() {
    const rig = await startRig({
      locks: LOCKS,
      gateways: GATEWAYS,
      log: (message) => process.stderr.write(` ${message} …`),
    })
    try {
      const churn = new Churn(rig)
      await churnFor(rig, churn, CHURN_MS)
      await churn.stop()
      const floor = await waitConverged(rig, Date.now())
      const rounds: Round[] = []
      for (let round = 0; round < ROUNDS; round++) {
        rounds.push(await killServeRound(rig, churn))
        process.stderr.write(` round ${round + 1}: ${rounds.at(-1)!.tablesMs} ms …`)
      }
      const books = await account(rig, churn)
      const counts = churn.counts()
      const tables = rounds.map((r) => r.tablesMs)
      const settled = rounds.map((r) => r.settledMs)
      const rows: BenchRow[] = [
        {
          name: 'faults injected',
          value: String(rounds.length),
          unit: 'kill -9',
          note: `latchkey serve (embedded PGlite and broker), ${LOCKS} locks on ${GATEWAYS} sim processes, ${WORKERS} churn clients, ${CHURN_MS / 1000} s of churn before each kill, down ${DOWN_MS / 1000} s`,
        },
        {
          name: 'work done: codes created / deleted (acknowledged)',
          value: `${counts.created} / ${counts.deleted}`,
          unit: 'codes',
          note: `${counts.unanswered} requests cut off by the kills, ${counts.refused} refused; ${books.lockEvents} lock events`,
        },
        { name: 'lost: acknowledged codes', value: String(books.lostCodes.length), unit: 'codes' },
        {
          name: 'lost / duplicated: lock events (against the locks’ seq)',
          value: `${books.lostEvents} / ${books.duplicatedEvents}`,
          unit: 'events',
          note: `${books.storedEvents} stored for ${books.lockEvents} recorded`,
        },
        {
          name: 'floor: no fault, churn stopped → every table desired',
          value: formatNumber(floor.tablesMs),
          unit: 'ms',
          note: `no code waiting after ${formatNumber(floor.settledMs)} ms`,
        },
        {
          name: 'kill -9: ready → every table desired, p50 / max',
          value: `${p50(tables)} / ${max(tables)}`,
          unit: 'ms',
          note: `${formatNumber(median(tables) / Math.max(1, floor.tablesMs))} × floor (p50); aim ≤ 5,000 ms`,
        },
        {
          name: 'kill -9: ready → no code waiting in the API, p50 / max',
          value: `${p50(settled)} / ${max(settled)}`,
          unit: 'ms',
        },
      ]
      return rows
    } finally {
      await rig.close()
    }
  },
})
