/**
 * Revocation latency: how long after `DELETE /api/v1/access-codes/{id}` the lock refuses the PIN.
 *
 * The parts, each a process of its own on loopback: `latchkey serve` (compiled) on a PostgreSQL
 * database of its own (made and dropped by the run) and a private Mosquitto with dynamic security
 * (broker/private-mosquitto.ts, as the services tests use; the server gets its admin login in
 * MQTT_URL and makes the gateways' logins), and GATEWAYS `latchkey sim` gateway processes holding
 * LOCKS_PER_GATEWAY simulated locks each (their flash on disk, fsync on every change). Every lock gets
 * one synced permanent code, set on it by the reconciler; the run waits until all are `set`.
 *
 * Then every code is deleted, in an order that goes round the gateways (lock 1 of gateway 1, 2, …, 20,
 * then lock 2 of each), CONCURRENCY at a time (default one at a time). Each deletion is timed from
 * just before the DELETE request to the moment the lock's sealed answer to the `remove_code` reaches
 * a spy on the broker (bench/revocation-spy.ts: one more subscriber with the locks' keys, which opens
 * the frames). The lock takes the code out of its table and writes its flash before it seals that
 * answer, so this is the moment from which the lock refuses the PIN; nothing polls the lock, so no
 * polling interval is in the figure. The server receives the same answer through the same broker at
 * about the same time. After the timed part, the PIN is typed once on every lock through the sim's
 * keypad (one wrong attempt each, far from the lockout), which must refuse it.
 *
 * Also recorded per deletion: the DELETE's response, and the moment the sealed `remove_code` reached
 * the spy (so: server part = DELETE → command delivered, gateway + lock = command → answer).
 *
 * The floor, in the same run, one sample after each deletion (so under the same load): a ping
 * published at QoS 1 (as the server's commands) received by a second client that publishes a pong at
 * QoS 1 (as the gateway publishes the lock's answer), received by a third (as the spy): two publish →
 * deliver hops on the same broker, the least a command and its answer cost. The ratios of the p50s
 * and of the p99s are what count.
 *
 * LATCHKEY_BENCH_REVOCATION_GATEWAYS (default 20), LATCHKEY_BENCH_REVOCATION_LOCKS (per gateway,
 * default 50), LATCHKEY_BENCH_REVOCATION_CONCURRENCY (deletions at once, default 1).
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { type ProvisioningBundle, parseBundle } from '@latchkey/protocol'
import pg from 'pg'
import {
  type PrivateMosquitto,
  startPrivateMosquitto,
} from '../packages/server/src/broker/private-mosquitto.ts'
import { ApiClient, type SimProcess, startLatchkeyProcess, startSim } from '../test/harness.ts'
import { type BenchRow, defineSuite, formatNumber } from './lib.ts'
import { BrokerFloor, benchLogin, type Removal, Spy } from './revocation-spy.ts'

const GATEWAYS = Number(process.env.LATCHKEY_BENCH_REVOCATION_GATEWAYS ?? 20)
const LOCKS_PER_GATEWAY = Number(process.env.LATCHKEY_BENCH_REVOCATION_LOCKS ?? 50)
const CONCURRENCY = Math.max(1, Number(process.env.LATCHKEY_BENCH_REVOCATION_CONCURRENCY ?? 1))
const PIN = '482915'
const POSTGRES = 'postgres://postgres@127.0.0.1:5432'
const DATABASE_NAME = 'latchkey_bench_revocation'
const API = '/api/v1'
const SETUP_CONCURRENCY = 8
const SETUP_TIMEOUT_MS = 300_000
/** A deletion whose answer has not come after this long counts as lost (the figure says how many). */
const ANSWER_TIMEOUT_MS = 30_000
/** The whole timed part stops after this long, whatever is left. */
const TIMED_PART_MS = 600_000
const AIM_P99_MS = 100

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function until(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`)
    await sleep(200)
  }
}

async function inParallel<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length)
  let next = 0
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) {
        const i = next++
        results[i] = await fn(items[i]!)
      }
    }),
  )
  return results
}

async function onPostgres(statement: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: `${POSTGRES}/postgres` })
  try {
    await client.connect()
  } catch {
    return false
  }
  try {
    await client.query(statement)
    return true
  } finally {
    await client.end()
  }
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!
}

function summary(values: readonly number[]): { p50: number; p99: number; max: number; n: number } {
  const sorted = [...values].sort((a, b) => a - b)
  return {
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted.at(-1) ?? Number.NaN,
    n: sorted.length,
  }
}

const ms = (v: number) => formatNumber(v)

interface Target {
  lockId: string
  codeId: string
  gateway: number
}

interface Timed {
  target: Target
  /** From just before the DELETE was sent. */
  responseMs: number
  commandMs: number | null
  answerMs: number | null
  ok: boolean
}

interface Fleet {
  sims: SimProcess[]
  bundles: ProvisioningBundle[]
  targets: Target[]
}

async function setUp(
  owner: ApiClient,
  serverUrl: string,
  db: pg.Pool,
  dirs: string[],
  sims: SimProcess[],
): Promise<Fleet> {
  const gatewayBodies = await inParallel(
    Array.from({ length: GATEWAYS }, (_, g) => g),
    SETUP_CONCURRENCY,
    (g) => owner.expect(201, 'POST', `${API}/gateways`, { name: `Gateway ${g + 1}` }),
  )
  // in gateway order; each one in `sims` as soon as it runs, so that a failed setup still stops it
  const started = await inParallel(gatewayBodies, 4, async (body) => {
    const stateDir = mkdtempSync(join(tmpdir(), 'latchkey-revocation-sim-'))
    dirs.push(stateDir)
    const sim = await startSim({
      serverUrl,
      gatewayId: String(body.id),
      gatewayToken: String(body.mqtt.password),
      stateDir,
      startTimeoutMs: 60_000,
    })
    sims.push(sim)
    return sim
  })
  const slots = Array.from({ length: LOCKS_PER_GATEWAY }, (_, l) =>
    Array.from({ length: GATEWAYS }, (_, g) => ({ g, l })),
  ).flat()
  const bundles: ProvisioningBundle[] = []
  const targets = await inParallel(slots, SETUP_CONCURRENCY, async ({ g, l }) => {
    const lock = await owner.expect(201, 'POST', `${API}/locks`, {
      name: `Room ${g + 1}.${l + 1}`,
      timezone: 'Europe/Berlin',
      gatewayId: gatewayBodies[g]!.id,
    })
    await started[g]!.api.expect(201, 'POST', '/sim/locks', { bundle: lock.bundle })
    bundles.push(parseBundle(lock.bundle))
    const code = await owner.expect(201, 'POST', `${API}/locks/${lock.id}/access-codes`, {
      name: `Guest ${g + 1}.${l + 1}`,
      kind: 'permanent',
      delivery: 'synced',
      code: PIN,
    })
    return { lockId: String(lock.id), codeId: String(code.id), gateway: g }
  })
  const total = GATEWAYS * LOCKS_PER_GATEWAY
  await until('every code set on its lock', SETUP_TIMEOUT_MS, async () => {
    const { rows } = await db.query<{ n: string }>(
      `select count(*) as n from access_codes where status = 'set'`,
    )
    return Number(rows[0]!.n) === total
  })
  return { sims: started, bundles, targets }
}

async function deleteAll(owner: ApiClient, spy: Spy, floor: BrokerFloor, targets: readonly Target[]) {
  const timed: Timed[] = []
  const floorOneWay: number[] = []
  const floorRoundTrip: number[] = []
  const deadline = Date.now() + TIMED_PART_MS
  let next = 0
  const worker = async () => {
    while (next < targets.length && Date.now() < deadline) {
      const target = targets[next++]!
      const started = performance.now()
      const answered = spy.answered(target.codeId, ANSWER_TIMEOUT_MS)
      const response = await owner.request('DELETE', `${API}/access-codes/${target.codeId}`)
      const responseMs = performance.now() - started
      if (response.status !== 200)
        throw new Error(`DELETE: ${response.status} ${JSON.stringify(response.body)}`)
      await answered
      const removal: Removal | undefined = spy.removal(target.codeId)
      timed.push({
        target,
        responseMs,
        commandMs: removal === undefined ? null : removal.downAt - started,
        answerMs: removal?.upAt == null ? null : removal.upAt - started,
        ok: removal?.ok ?? false,
      })
      const sample = await floor.sample()
      if (sample !== null) {
        floorOneWay.push(sample.oneWayMs)
        floorRoundTrip.push(sample.roundTripMs)
      }
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, worker))
  return { timed, floorOneWay, floorRoundTrip }
}

/** The PIN typed once on every lock whose code was deleted: how many locks refused it. */
async function refusals(fleet: Fleet, timed: readonly Timed[]): Promise<{ refused: number; opened: number }> {
  let refused = 0
  let opened = 0
  await inParallel(timed, SETUP_CONCURRENCY, async ({ target }) => {
    const answer = await fleet.sims[target.gateway]!.api.expect(
      200,
      'POST',
      `/sim/locks/${target.lockId}/keypad`,
      {
        digits: PIN,
      },
    )
    if (answer.result === 'unlocked') opened += 1
    else refused += 1
  })
  return { refused, opened }
}

export default defineSuite({
  name: 'revocation',
  async run(): Promise<BenchRow[]> {
    const dirs: string[] = []
    const dataDir = mkdtempSync(join(tmpdir(), 'latchkey-revocation-bench-'))
    dirs.push(dataDir)
    let mosquitto: PrivateMosquitto | null = null
    let server: SimProcess | null = null
    let fleet: Fleet | null = null
    const sims: SimProcess[] = []
    let spy: Spy | null = null
    let floor: BrokerFloor | null = null
    let db: pg.Pool | null = null
    await onPostgres(`drop database if exists ${DATABASE_NAME}`)
    if (!(await onPostgres(`create database ${DATABASE_NAME}`)))
      return [{ name: 'revocation', value: 'skipped', unit: '', note: `no PostgreSQL at ${POSTGRES}` }]
    try {
      mosquitto = await startPrivateMosquitto()
      const admin = `${encodeURIComponent(mosquitto.admin.username)}:${encodeURIComponent(mosquitto.admin.password)}`
      const brokerUrl = `mqtt://${mosquitto.host}:${mosquitto.port}`
      server = await startLatchkeyProcess({
        args: ['serve', '--port', '0', '--mqtt-port', '0', '--data-dir', dataDir],
        env: {
          DATABASE_URL: `${POSTGRES}/${DATABASE_NAME}`,
          MQTT_URL: `mqtt://${admin}@${mosquitto.host}:${mosquitto.port}`,
          LATCHKEY_MASTER_KEY: randomBytes(32).toString('base64'),
          LOG_LEVEL: 'warn',
        },
        ready: /Latchkey is running at (http:\/\/\S+)/,
        stateDir: dataDir,
        startTimeoutMs: 60_000,
        stopGraceMs: 15_000,
      })
      const serverUrl = server.controlUrl
      db = new pg.Pool({ connectionString: `${POSTGRES}/${DATABASE_NAME}`, max: 2 })
      const signup = await new ApiClient(serverUrl).expect(201, 'POST', `${API}/auth/signup`, {
        email: 'revocation@example.test',
        password: 'correct horse battery',
        organizationName: 'Revocation',
      })
      const owner = new ApiClient(serverUrl, String(signup.token))
      const setupStarted = performance.now()
      fleet = await setUp(owner, serverUrl, db, dirs, sims)
      const setupS = (performance.now() - setupStarted) / 1000
      const login = await benchLogin({ url: brokerUrl, admin: mosquitto.admin }, 'latchkey-revocation-bench')
      spy = await Spy.connect(brokerUrl, login)
      for (const bundle of fleet.bundles) spy.know(bundle)
      floor = await BrokerFloor.connect(brokerUrl, login)
      for (let i = 0; i < 50; i++) await floor.sample() // warm the floor's connections

      const load = loadavg()
      const { timed, floorOneWay, floorRoundTrip } = await deleteAll(owner, spy, floor, fleet.targets)
      const loadAfter = loadavg()
      const { refused, opened } = await refusals(fleet, timed)

      const answered = timed.filter((t) => t.answerMs !== null && t.ok)
      const total = summary(answered.map((t) => t.answerMs!))
      const response = summary(timed.map((t) => t.responseMs))
      const command = summary(timed.filter((t) => t.commandMs !== null).map((t) => t.commandMs!))
      const lockPart = summary(
        answered.filter((t) => t.commandMs !== null).map((t) => t.answerMs! - t.commandMs!),
      )
      const floorRt = summary(floorRoundTrip)
      const floorOne = summary(floorOneWay)
      const locks = GATEWAYS * LOCKS_PER_GATEWAY
      const at = CONCURRENCY === 1 ? 'one at a time' : `${CONCURRENCY} at a time`
      return [
        {
          name: `DELETE → the lock's answer to remove_code (refuses the PIN from then on)`,
          value: `${ms(total.p50)} / ${ms(total.p99)} / ${ms(total.max)}`,
          unit: 'ms p50 / p99 / max',
          note: `${total.n} of ${timed.length} deletions answered ok (${at}), ${locks} locks on ${GATEWAYS} gateways; aim p99 ≤ ${AIM_P99_MS} ms: ${total.p99 <= AIM_P99_MS ? 'met' : 'NOT met'}`,
        },
        {
          name: 'floor: Mosquitto ping → pong, QoS 1 both ways (two publish → deliver hops)',
          value: `${ms(floorRt.p50)} / ${ms(floorRt.p99)} / ${ms(floorRt.max)}`,
          unit: 'ms p50 / p99 / max',
          note: `${floorRt.n} samples, one after each deletion; one hop (publish → deliver): ${ms(floorOne.p50)} / ${ms(floorOne.p99)} ms p50 / p99`,
        },
        {
          name: 'revocation / floor',
          value: `${formatNumber(total.p50 / floorRt.p50)} / ${formatNumber(total.p99 / floorRt.p99)}`,
          unit: '× floor (p50 / p99)',
        },
        {
          name: '… DELETE → its response',
          value: `${ms(response.p50)} / ${ms(response.p99)} / ${ms(response.max)}`,
          unit: 'ms p50 / p99 / max',
        },
        {
          name: '… DELETE → the sealed remove_code delivered by the broker',
          value: `${ms(command.p50)} / ${ms(command.p99)} / ${ms(command.max)}`,
          unit: 'ms p50 / p99 / max',
          note: 'route, reconciler wake-up and look, counter, seal, publish',
        },
        {
          name: '… remove_code delivered → the lock’s answer delivered',
          value: `${ms(lockPart.p50)} / ${ms(lockPart.p99)} / ${ms(lockPart.max)}`,
          unit: 'ms p50 / p99 / max',
          note: 'gateway, lock (table change, flash write with fsync), gateway publish',
        },
        {
          name: 'the PIN typed on each lock afterwards',
          value: `${refused} refused, ${opened} opened`,
          unit: 'locks',
          note: `sim keypad; ${timed.length - answered.length} deletions without an ok answer within ${ANSWER_TIMEOUT_MS / 1000} s; spy frames ${spy.frames}, unreadable ${spy.unreadable}`,
        },
        {
          name: 'setup; load average',
          value: `${formatNumber(setupS)} s; ${load.map((l) => l.toFixed(2)).join(' ')} → ${loadAfter.map((l) => l.toFixed(2)).join(' ')}`,
          unit: 's; 1/5/15 min',
          note: 'setup: gateways, sims, locks, codes set; load before and after the timed part',
        },
      ]
    } finally {
      await spy?.close()
      await floor?.close()
      await Promise.all(sims.map((sim) => sim.stop()))
      await server?.stop()
      await db?.end()
      await mosquitto?.stop()
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
      await onPostgres(`drop database if exists ${DATABASE_NAME}`)
    }
  },
})
