/**
 * Faults under continuous code churn (docs/RELIABILITY.md): 100 simulated locks on 4 `latchkey sim`
 * gateways, each a process of its own, in the two setups:
 * - the embedded default: one `latchkey serve` with its PGlite and broker;
 * - scale-out: three `latchkey serve` processes behind one address, on a PostgreSQL server and a
 *   Mosquitto of the run's own (so either can be crashed and restarted).
 * Clients create and delete codes through the one address; each fault is injected mid-churn and
 * ended; from the moment all is back, the time until every lock's own table is the desired one (the
 * API's codes that are not deleted) and no code waits. Then what was acknowledged is looked for again
 * (lost codes), every lock event is counted against the lock's own seq (lost, stored twice), and the
 * frames the locks refused are counted. The floor is the same convergence with no fault (the churn
 * stopped), in the same run. Scale-out also measures create throughput through 1 and 3 processes.
 */

import {
  account,
  Churn,
  FAULTS,
  type Fault,
  type FaultRound,
  faultRound,
  type Rig,
  startRig,
  waitConverged,
} from '../test/fault-rig.ts'
import { sleep } from '../test/harness.ts'
import { privatePostgresAvailable } from '../test/private-postgres.ts'
import { type BenchRow, defineSuite, formatNumber } from './lib.ts'

const LOCKS = 100
const GATEWAYS = 4
const WORKERS = 4
const CHURN_MS = 4_000
const DOWN_MS = 2_000
/** Gateways are cut off for minutes, not seconds: their locks go offline and come back. */
const GATEWAYS_CUT_MS = 120_000
const THROUGHPUT_MS = 10_000
const THROUGHPUT_CLIENTS = 16

const downFor = (fault: Fault) => (fault.name.includes('cut off') ? GATEWAYS_CUT_MS : DOWN_MS)
const log = (message: string) => process.stderr.write(` ${message} …`)

/** What the servers sent meanwhile: the backlog's size, and how fast it went. */
function commandsNote(round: FaultRound): string {
  const total = [...round.commands.values()].reduce((n, count) => n + count, 0)
  const byType = [...round.commands].map(([type, count]) => `${count} ${type}`).join(', ')
  const rate = total / Math.max(0.001, round.settledMs / 1000)
  return `${total} commands sent until then (${byType || 'none'}), ${formatNumber(rate)}/s`
}

/** LATCHKEY_BENCH_FAULT: only the faults whose name holds it (e.g. "cut off"), to look at one. */
const only = process.env.LATCHKEY_BENCH_FAULT ?? ''

async function floorOf(rig: Rig, churn: Churn): Promise<number> {
  churn.start(WORKERS, { maxMs: CHURN_MS + 10_000 })
  await sleep(CHURN_MS)
  await churn.stop()
  return (await waitConverged(rig, Date.now())).tablesMs
}

/** Creates through the front by `clients` at once for `ms`: acknowledged creates per second. */
async function createRate(rig: Rig, clients: number, ms: number): Promise<number> {
  const deadline = Date.now() + ms
  let created = 0
  const client = async (c: number) => {
    for (let i = 0; i < 100_000 && Date.now() < deadline; i++) {
      const lockId = rig.lockIds[(c * 7 + i) % rig.lockIds.length]!
      const response = await rig.owner
        .post(`/api/v1/locks/${lockId}/access-codes`, {
          name: `Rate ${c}-${i}`,
          kind: 'permanent',
          delivery: 'synced',
        })
        .catch(() => null)
      if (response?.status === 201) created += 1
    }
  }
  const started = Date.now()
  await Promise.all(Array.from({ length: clients }, (_, c) => client(c)))
  return created / ((Date.now() - started) / 1000)
}

async function runSetup(
  setup: string,
  servers: number | null,
): Promise<{ rows: BenchRow[]; rig: Rig; churn: Churn }> {
  const rig = await startRig({
    locks: LOCKS,
    gateways: GATEWAYS,
    log,
    ...(servers === null ? {} : { scaleOut: { servers } }),
  })
  try {
    return await measureSetup(setup, servers, rig)
  } catch (error) {
    await rig.close()
    throw error
  }
}

async function measureSetup(
  setup: string,
  servers: number | null,
  rig: Rig,
): Promise<{ rows: BenchRow[]; rig: Rig; churn: Churn }> {
  const churn = new Churn(rig)
  const floorMs = await floorOf(rig, churn)
  const rounds: FaultRound[] = []
  const unconverged: BenchRow[] = []
  for (const fault of FAULTS.filter((f) => (servers !== null || !f.scaleOut) && f.name.includes(only))) {
    try {
      rounds.push(
        await faultRound(rig, churn, fault, {
          workers: WORKERS,
          churnMs: CHURN_MS,
          downMs: downFor(fault),
          timeoutMs: 180_000,
        }),
      )
      log(`${fault.name}: ${rounds.at(-1)!.tablesMs} ms`)
    } catch (error) {
      // a round that does not converge is a finding, not the end of the run
      await churn.stop()
      log(`${fault.name}: did not converge`)
      unconverged.push({
        name: `${setup}: ${fault.name} → DID NOT CONVERGE`,
        value: '—',
        unit: '',
        note: (error as Error).message.slice(0, 400),
      })
    }
  }
  const books = await account(rig, churn)
  const counts = churn.counts()
  const rejected = Object.entries(books.framesRejected)
  const rows: BenchRow[] = [
    {
      name: `${setup}: work done, codes created / deleted (acknowledged)`,
      value: `${counts.created} / ${counts.deleted}`,
      unit: 'codes',
      note: `${LOCKS} locks on ${GATEWAYS} sim processes, ${WORKERS} churn clients; ${counts.unanswered} requests cut off, ${counts.refused} refused (503 while the database was down, or a lock gone)`,
    },
    {
      name: `${setup}: lost acknowledged codes`,
      value: String(books.lostCodes.length),
      unit: 'codes',
    },
    {
      name: `${setup}: lock events lost / stored twice (against the locks’ seq)`,
      value: `${books.lostEvents} / ${books.duplicatedEvents}`,
      unit: 'events',
      note: `${books.storedEvents} stored for ${books.lockEvents} recorded`,
    },
    {
      name: `${setup}: frames the locks refused`,
      value: String(rejected.reduce((n, [, count]) => n + count, 0)),
      unit: 'frames',
      note: rejected.length === 0 ? 'none' : rejected.map(([reason, n]) => `${n} ${reason}`).join(', '),
    },
    {
      name: `${setup}: floor, no fault: churn stopped → every table desired`,
      value: formatNumber(floorMs),
      unit: 'ms',
    },
    ...rounds.map((round) => ({
      name: `${setup}: ${round.fault} → every table desired`,
      value: formatNumber(round.tablesMs),
      unit: 'ms',
      note: `${formatNumber(round.tablesMs / Math.max(1, floorMs))} × floor; no code waiting after ${formatNumber(round.settledMs)} ms; ${commandsNote(round)}; aim ≤ 5,000 ms`,
    })),
    ...unconverged,
  ]
  return { rows, rig, churn }
}

export default defineSuite({
  name: 'faults',
  async run() {
    const rows: BenchRow[] = []
    const embedded = await runSetup('embedded default, 1 process', null)
    await embedded.rig.close()
    rows.push(...embedded.rows)
    if (!privatePostgresAvailable()) {
      rows.push({ name: 'scale-out', value: 'not run', unit: '', note: 'no PostgreSQL 15 programs here' })
      return rows
    }
    const scaleOut = await runSetup('scale-out, 3 processes', 3)
    try {
      rows.push(...scaleOut.rows)
      const rig = scaleOut.rig
      rig.useServers(1)
      const one = await createRate(rig, THROUGHPUT_CLIENTS, THROUGHPUT_MS)
      rig.useServers(3)
      const three = await createRate(rig, THROUGHPUT_CLIENTS, THROUGHPUT_MS)
      rows.push(
        {
          name: 'scale-out: creates through 1 process (the floor)',
          value: formatNumber(one),
          unit: 'codes/s',
          note: `${THROUGHPUT_CLIENTS} clients, ${THROUGHPUT_MS / 1000} s, the same database and broker`,
        },
        {
          name: 'scale-out: creates through 3 processes',
          value: formatNumber(three),
          unit: 'codes/s',
          note: `${formatNumber(three / Math.max(1e-9, one))} × 1 process`,
        },
      )
    } finally {
      await scaleOut.rig.close()
    }
    return rows
  },
})
