/**
 * Lock event ingestion on PostgreSQL: GATEWAYS real gateways (packages/gateway `Gateway`, MQTT clients
 * in this process with their own credentials) host LOCKS_PER_GATEWAY real locks each (packages/lock
 * `Lock`, the firmware: it logs keypad entries in its event ring, seals its event batches with its own
 * key and drops what the server acknowledges). They publish on the real topics of a Mosquitto with
 * dynamic security (a private one on a free loopback port: broker/private-mosquitto.ts, as the services
 * tests use) to a `latchkey serve` process of its own (the compiled CLI, not in this process: the
 * gateways would share its event loop), on a PostgreSQL database of its own made and dropped by the run.
 *
 * A round: every lock has one code (set on it by the server's reconciler, as in production); on each
 * lock EVENTS_PER_LOCK keypad entries are typed, then every gateway uploads
 * at once. The lock sends its oldest 100, the server stores them, acknowledges (sealed `ack_events`),
 * the lock drops them and the gateway sends the next batch. The round ends when no lock holds an
 * unacknowledged event. Counted in the database: the rows with a lock_seq stored during the round,
 * per second from the first upload to the last acknowledgement; then, against the seqs each lock
 * numbered, how many are missing and how many are there twice.
 *
 * The floor, in the same run after each round: the rows that round stored (every column as stored),
 * inserted again into the same events table by a bare `pg` pool as plain multi-row INSERTs of the
 * same batch sizes, FLOOR_CONNECTIONS at once (the server's pool size), their lock_seq moved out of the
 * way. The ratio of the two rates is the figure that counts.
 *
 * Two mixes of entries, each its own rounds: `unlocks` (three times the right PIN, then a wrong one:
 * unlocked with the code's id, whose use the reconciler's event handler counts; access_denied
 * unknown_code with the PIN's keyed hash, which the server looks up among the lock's ended codes) and
 * `refusals` (unknown PINs only: five, then the keypad locks out and refuses every entry as
 * locked_out; the event handlers pass over them), so the handlers' share shows.
 *
 * LATCHKEY_BENCH_INGEST_EVENTS (events per lock and round, default 100, at most the ring's 500),
 * LATCHKEY_BENCH_INGEST_MIXES (default unlocks,refusals),
 * LATCHKEY_BENCH_INGEST_GATEWAYS (default 20), LATCHKEY_BENCH_INGEST_LOCKS (per gateway, default 50),
 * LATCHKEY_BENCH_INGEST_ROUNDS (per mix, default 1). LATCHKEY_BENCH_INGEST_PROFILE=1 runs the server under
 * `node --cpu-prof` and adds the functions with the most self time during the rounds
 * (LATCHKEY_BENCH_INGEST_PROFILE_DIR keeps the profile).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { systemClock } from '@latchkey/core'
import { Gateway } from '@latchkey/gateway'
import pg from 'pg'
import {
  type PrivateMosquitto,
  startPrivateMosquitto,
} from '../packages/server/src/broker/private-mosquitto.ts'
import { profileTop, sampleActivity } from './ingest-profile.ts'
import { type BenchRow, defineSuite, formatNumber } from './lib.ts'

const GATEWAYS = Number(process.env.LATCHKEY_BENCH_INGEST_GATEWAYS ?? 20)
const LOCKS_PER_GATEWAY = Number(process.env.LATCHKEY_BENCH_INGEST_LOCKS ?? 50)
const EVENTS_PER_LOCK = Math.min(500, Number(process.env.LATCHKEY_BENCH_INGEST_EVENTS ?? 100))
/**
 * What is typed on the keypads: `unlocks` (three times the right PIN, then a wrong one) or `refusals`
 * (unknown PINs only: after five the keypad locks out, and every entry is refused as locked_out).
 */
type Mix = 'unlocks' | 'refusals'
const MIXES = (process.env.LATCHKEY_BENCH_INGEST_MIXES ?? 'unlocks,refusals').split(',') as Mix[]
const ROUNDS = Number(process.env.LATCHKEY_BENCH_INGEST_ROUNDS ?? 1)
const PROFILE = process.env.LATCHKEY_BENCH_INGEST_PROFILE === '1'
/** The server's pool (store/open-store.ts default). */
const FLOOR_CONNECTIONS = 10
/** What the lock sends in one batch (packages/lock EVENT_BATCH_LIMIT). */
const BATCH = 100
const PIN = '482915'
const WRONG_PIN = '777111'
const POSTGRES = 'postgres://postgres@127.0.0.1:5432'
const DATABASE_NAME = 'latchkey_bench_ingest'
const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)))
const BIN = join(ROOT, 'packages/cli/bin/latchkey.js')
const API = '/api/v1'
const START_TIMEOUT_MS = 60_000
const STOP_GRACE_MS = 15_000
const SETUP_TIMEOUT_MS = 180_000
const ROUND_TIMEOUT_MS = 180_000
const SETUP_CONCURRENCY = 8
/** lock_seq of the floor's copies: far above anything a lock numbers in a run. */
const FLOOR_SEQ_OFFSET = 1_000_000_000

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

interface ServerProcess {
  url: string
  stop(): Promise<void>
}

/** `latchkey serve` in a process of its own, up once it prints its URL. */
async function startServe(
  env: Record<string, string>,
  dataDir: string,
  nodeArgs: string[],
): Promise<ServerProcess> {
  const child: ChildProcess = spawn(
    process.execPath,
    [...nodeArgs, BIN, 'serve', '--port', '0', '--data-dir', dataDir],
    { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let output = ''
  let matched = false
  const exited = new Promise<void>((r) => child.once('exit', () => r()))
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return
    child.kill('SIGINT')
    if (!(await Promise.race([exited.then(() => true), sleep(STOP_GRACE_MS).then(() => false)]))) {
      child.kill('SIGKILL')
      await exited
    }
  }
  try {
    const url = await new Promise<string>((resolveUrl, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`not ready in ${START_TIMEOUT_MS} ms:\n${output}`)),
        START_TIMEOUT_MS,
      )
      const onData = (chunk: Buffer) => {
        // read and dropped after the start (a full pipe would stall the server); warnings are kept
        const text = chunk.toString('utf8')
        if (!matched) output = (output + text).slice(-20_000)
        else if (/"level":(50|60)/.test(text)) process.stderr.write(`server: ${text.slice(0, 500)}\n`)
        const match = matched ? null : /Latchkey is running at (http:\S+)/.exec(output)
        if (match) {
          matched = true
          clearTimeout(timer)
          resolveUrl(match[1]!)
        }
      }
      child.stdout!.on('data', onData)
      child.stderr!.on('data', onData)
      child.once('exit', (code) => {
        clearTimeout(timer)
        reject(new Error(`exited with ${code} before it was ready:\n${output}`))
      })
    })
    return { url, stop }
  } catch (error) {
    await stop()
    throw error
  }
}

async function call(base: string, method: string, path: string, token: string | null, body?: unknown) {
  const response = await fetch(`${base}${API}${path}`, {
    method,
    headers: {
      ...(token === null ? {} : { authorization: `Bearer ${token}` }),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  const text = await response.text()
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`)
  return JSON.parse(text) as Record<string, unknown>
}

/** Runs `fn` over `items`, `limit` at a time. */
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

async function until(
  what: string,
  timeoutMs: number,
  check: () => Promise<boolean> | boolean,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`)
    await sleep(100)
  }
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

interface Fleet {
  gateways: Gateway[]
  /** Every lock id, by gateway. */
  lockIds: string[][]
}

/** An owner, GATEWAYS gateways with LOCKS_PER_GATEWAY locks each, one code per lock; the gateways connected. */
async function setUp(base: string, mqttUrl: string, db: pg.Pool): Promise<Fleet> {
  const signup = await call(base, 'POST', '/auth/signup', null, {
    email: 'ingest@example.test',
    password: 'correct horse battery',
    organizationName: 'Ingest',
  })
  const token = String(signup.token)
  const gatewayBodies = await inParallel(
    Array.from({ length: GATEWAYS }, (_, g) => g),
    SETUP_CONCURRENCY,
    (g) => call(base, 'POST', '/gateways', token, { name: `Gateway ${g + 1}` }),
  )
  const gateways: Gateway[] = []
  const lockIds: string[][] = []
  const logged: string[] = []
  for (const body of gatewayBodies) {
    const mqtt = body.mqtt as { password: string }
    gateways.push(
      new Gateway({
        gatewayId: String(body.id),
        token: mqtt.password,
        mqttUrl,
        world: systemClock,
        log: (message) => {
          if (!/connected to|attached/.test(message) && logged.length < 20) logged.push(message)
        },
      }),
    )
    lockIds.push([])
  }
  const slots = gateways.flatMap((_, g) => Array.from({ length: LOCKS_PER_GATEWAY }, (_, l) => ({ g, l })))
  await inParallel(slots, SETUP_CONCURRENCY, async ({ g, l }) => {
    const gateway = gateways[g]!
    const lock = await call(base, 'POST', '/locks', token, {
      name: `Room ${g + 1}.${l + 1}`,
      timezone: 'Europe/Berlin',
      gatewayId: gateway.gatewayId,
    })
    await gateway.attach(lock.bundle)
    lockIds[g]!.push(String(lock.id))
    await call(base, 'POST', `/locks/${String(lock.id)}/access-codes`, token, {
      name: `Guest ${g + 1}.${l + 1}`,
      kind: 'permanent',
      delivery: 'synced',
      code: PIN,
    })
  })
  for (const gateway of gateways) await gateway.start()
  const total = GATEWAYS * LOCKS_PER_GATEWAY
  await until('every code set on its lock', SETUP_TIMEOUT_MS, async () => {
    const { rows } = await db.query<{ n: string }>(
      `select count(*) as n from access_codes where status = 'set'`,
    )
    return Number(rows[0]!.n) === total
  })
  await until('the first events acknowledged', SETUP_TIMEOUT_MS, () => unacked(gateways) === 0)
  if (logged.length > 0) process.stderr.write(`\ngateways said: ${logged.join(' | ')}\n`)
  return { gateways, lockIds }
}

function unacked(gateways: readonly Gateway[]): number {
  let n = 0
  for (const gateway of gateways) for (const lock of gateway.locks()) n += lock.view().events.unacked
  return n
}

async function storedCount(db: pg.Pool): Promise<number> {
  const { rows } = await db.query<{ n: string }>(
    `select count(*) as n from events where lock_seq is not null and lock_seq < ${FLOOR_SEQ_OFFSET}`,
  )
  return Number(rows[0]!.n)
}

interface RoundResult {
  events: number
  seconds: number
  rate: number
  missing: number
  twice: number
  /** The id range of the round's rows (for the floor). */
  fromId: number
  toId: number
}

/** Types EVENTS_PER_LOCK entries on every lock, lets the gateways upload, waits for every acknowledgement. */
async function serverRound(fleet: Fleet, db: pg.Pool, mix: Mix): Promise<RoundResult> {
  const { rows: before } = await db.query<{ id: string | null }>('select max(id) as id from events')
  const fromId = Number(before[0]!.id ?? 0)
  const storedBefore = await storedCount(db)
  // typed while the gateways are idle (the firmware logs them; nothing goes up yet) ...
  for (const gateway of fleet.gateways) {
    for (const lock of gateway.locks()) {
      for (let i = 0; i < EVENTS_PER_LOCK - 1; i++)
        lock.keypad(mix === 'unlocks' && i % 4 !== 3 ? PIN : WRONG_PIN)
    }
  }
  // ... and the last entry of each lock through its gateway, which uploads the lock's first batch
  const activity = PROFILE ? sampleActivity((q) => db.query(q), DATABASE_NAME) : null
  const started = performance.now()
  for (const gateway of fleet.gateways) {
    for (const lock of gateway.locks()) gateway.keypad(lock.id, WRONG_PIN)
  }
  await until('every event acknowledged', ROUND_TIMEOUT_MS, () => unacked(fleet.gateways) === 0)
  const seconds = (performance.now() - started) / 1000
  if (activity !== null)
    process.stderr.write(`\nconnections busy (share of samples, statement):\n${await activity.stop()}\n`)
  const events = (await storedCount(db)) - storedBefore
  const { rows: after } = await db.query<{ id: string | null }>('select max(id) as id from events')
  // exactly once: per lock, the seqs stored are 1…lastSeq of the lock's own counter
  const { rows } = await db.query<{ lock_id: string; n: string; distinct_n: string }>(
    `select lock_id, count(*) as n, count(distinct lock_seq) as distinct_n from events
     where lock_seq is not null and lock_seq < ${FLOOR_SEQ_OFFSET} group by lock_id`,
  )
  const byLock = new Map(rows.map((r) => [r.lock_id, r]))
  let missing = 0
  let twice = 0
  for (const gateway of fleet.gateways) {
    for (const lock of gateway.locks()) {
      const lastSeq = lock.view().events.lastSeq
      const row = byLock.get(lock.id)
      const distinct = Number(row?.distinct_n ?? 0)
      missing += lastSeq - distinct
      twice += Number(row?.n ?? 0) - distinct
    }
  }
  return { events, seconds, rate: events / seconds, missing, twice, fromId, toId: Number(after[0]!.id ?? 0) }
}

const COLUMNS = [
  'organization_id',
  'lock_id',
  'type',
  'access_code_id',
  'unique_code_id',
  'gateway_id',
  'actor_user_id',
  'data',
  'occurred_at',
  'recorded_at',
  'lock_seq',
  'pin_hash',
] as const

/**
 * The floor: the round's rows again, in batches of the size the locks sent (per lock, BATCH in seq
 * order), plain multi-row INSERTs by FLOOR_CONNECTIONS bare clients at once.
 */
async function floorRound(round: RoundResult): Promise<{ events: number; seconds: number; rate: number }> {
  const pool = new pg.Pool({
    connectionString: `${POSTGRES}/${DATABASE_NAME}`,
    max: FLOOR_CONNECTIONS,
    application_name: 'bench-floor',
  })
  try {
    const { rows } = await pool.query<Record<(typeof COLUMNS)[number], unknown>>(
      `select ${COLUMNS.join(', ')} from events where id > $1 and id <= $2 and lock_seq is not null
       order by lock_id, lock_seq`,
      [round.fromId, round.toId],
    )
    const batches: unknown[][][] = []
    let current: unknown[][] = []
    let lockOf: unknown = null
    for (const row of rows) {
      if (row.lock_id !== lockOf || current.length === BATCH) {
        if (current.length > 0) batches.push(current)
        current = []
        lockOf = row.lock_id
      }
      current.push(
        COLUMNS.map((c) =>
          c === 'lock_seq'
            ? Number(row.lock_seq) + FLOOR_SEQ_OFFSET
            : c === 'data'
              ? JSON.stringify(row.data)
              : row[c],
        ),
      )
    }
    if (current.length > 0) batches.push(current)
    // warm the connections
    await Promise.all(Array.from({ length: FLOOR_CONNECTIONS }, () => pool.query('select 1')))
    const insert = (batch: unknown[][]) => {
      const values = batch
        .map((_, r) => `(${COLUMNS.map((_, c) => `$${r * COLUMNS.length + c + 1}`).join(', ')})`)
        .join(', ')
      return pool.query(`insert into events (${COLUMNS.join(', ')}) values ${values}`, batch.flat())
    }
    const started = performance.now()
    let next = 0
    await Promise.all(
      Array.from({ length: FLOOR_CONNECTIONS }, async () => {
        while (next < batches.length) await insert(batches[next++]!)
      }),
    )
    const seconds = (performance.now() - started) / 1000
    return { events: rows.length, seconds, rate: rows.length / seconds }
  } finally {
    await pool.end()
  }
}

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length

export default defineSuite({
  name: 'ingest',
  async run(): Promise<BenchRow[]> {
    const dataDir = mkdtempSync(join(tmpdir(), 'latchkey-ingest-bench-'))
    const profileDir = PROFILE ? mkdtempSync(join(tmpdir(), 'latchkey-ingest-profile-')) : null
    let mosquitto: PrivateMosquitto | null = null
    let server: ServerProcess | null = null
    let fleet: Fleet | null = null
    let db: pg.Pool | null = null
    await onPostgres(`drop database if exists ${DATABASE_NAME}`)
    if (!(await onPostgres(`create database ${DATABASE_NAME}`)))
      return [{ name: 'ingest', value: 'skipped', unit: '', note: `no PostgreSQL at ${POSTGRES}` }]
    try {
      mosquitto = await startPrivateMosquitto()
      const admin = `${encodeURIComponent(mosquitto.admin.username)}:${encodeURIComponent(mosquitto.admin.password)}`
      server = await startServe(
        {
          DATABASE_URL: `${POSTGRES}/${DATABASE_NAME}`,
          MQTT_URL: `mqtt://${admin}@${mosquitto.host}:${mosquitto.port}`,
          LATCHKEY_MASTER_KEY: randomBytes(32).toString('base64'),
          LOG_LEVEL: 'warn',
        },
        dataDir,
        profileDir === null ? [] : ['--cpu-prof', '--cpu-prof-dir', profileDir],
      )
      db = new pg.Pool({
        connectionString: `${POSTGRES}/${DATABASE_NAME}`,
        max: 2,
        application_name: 'bench',
      })
      fleet = await setUp(server.url, `mqtt://${mosquitto.host}:${mosquitto.port}`, db)
      const window = { from: process.hrtime.bigint() / 1000n, to: 0n }
      const locks = GATEWAYS * LOCKS_PER_GATEWAY
      const rows: BenchRow[] = []
      for (const mix of MIXES) {
        const rounds: { server: RoundResult; floor: Awaited<ReturnType<typeof floorRound>> }[] = []
        for (let r = 0; r < ROUNDS; r++) {
          const s = await serverRound(fleet, db, mix)
          window.to = process.hrtime.bigint() / 1000n
          const f = await floorRound(s)
          rounds.push({ server: s, floor: f })
        }
        const serverRate = mean(rounds.map((r) => r.server.rate))
        const floorRate = mean(rounds.map((r) => r.floor.rate))
        const ratio = serverRate / floorRate
        const events = rounds.reduce((a, r) => a + r.server.events, 0)
        // counted over every seq each lock numbered so far: the last round's count covers the earlier ones
        const missing = rounds.at(-1)!.server.missing
        const twice = rounds.at(-1)!.server.twice
        rows.push(
          {
            name: `${mix}: Latchkey, ${GATEWAYS} gateways × ${LOCKS_PER_GATEWAY} locks → serve → PostgreSQL`,
            value: formatNumber(serverRate),
            unit: 'events/s',
            note: `${ROUNDS} ${ROUNDS === 1 ? 'round' : 'rounds'} of ${EVENTS_PER_LOCK} events × ${locks} locks (${rounds.map((r) => `${formatNumber(r.server.rate)}/s in ${formatNumber(r.server.seconds)} s`).join(', ')}); aim ≥ 20,000: ${serverRate >= 20_000 ? 'met' : 'NOT met'}`,
          },
          {
            name: `${mix}: floor, multi-row INSERT of the same rows (${BATCH} a statement, ${FLOOR_CONNECTIONS} connections)`,
            value: formatNumber(floorRate),
            unit: 'events/s',
            note: rounds.map((r) => `${formatNumber(r.floor.rate)}`).join(', '),
          },
          {
            name: `${mix}: Latchkey / floor`,
            value: formatNumber(ratio),
            unit: '× floor',
            note: `aim ≥ 0.5: ${ratio >= 0.5 ? 'met' : 'NOT met'}`,
          },
          {
            name: `${mix}: exactly once (after the acks)`,
            value: `${missing} missing, ${twice} twice`,
            unit: 'events',
            note: `${events.toLocaleString('en-US')} events stored in these rounds; every seq each lock numbered so far, looked up`,
          },
        )
      }
      if (profileDir !== null) {
        await server.stop()
        server = null
        const file = readdirSync(profileDir).find((f) => f.endsWith('.cpuprofile'))
        if (file !== undefined) {
          const keep = process.env.LATCHKEY_BENCH_INGEST_PROFILE_DIR
          if (keep !== undefined) cpSync(join(profileDir, file), join(keep, 'ingest-server.cpuprofile'))
          rows.push({
            name: 'server profile, top self time during the rounds',
            value: profileTop(JSON.parse(readFileSync(join(profileDir, file), 'utf8')), window),
            unit: '% of busy samples',
          })
        }
      }
      return rows
    } finally {
      if (fleet !== null) for (const gateway of fleet.gateways) await gateway.stop()
      await server?.stop()
      await db?.end()
      await mosquitto?.stop()
      rmSync(dataDir, { recursive: true, force: true })
      if (profileDir !== null) rmSync(profileDir, { recursive: true, force: true })
      await onPostgres(`drop database if exists ${DATABASE_NAME}`)
    }
  },
})
