/**
 * Scale: the reads of an organization with 100,000 locks (2,000 gateways), 1,000,000 access codes and
 * 10,000,000 events over 90 days, on PostgreSQL, and one reconciler sweep over every lock.
 *
 * The dataset (bench/scale-data.ts) goes into a database of its own, `latchkey_bench_scale` on
 * 127.0.0.1:5432, migrated by the server's own migrator (startServer on it), with an owner made by
 * sign-up; it is kept between runs (its parameters and the migration level are in
 * `bench_scale_marker`) and made again when either differs, or with LATCHKEY_BENCH_SCALE_FRESH=1.
 * LATCHKEY_BENCH_SCALE_DROP=1 drops it at the end.
 *
 * The server runs in this process on that database (startServer, the reconciler off while the reads
 * are measured); each request goes over HTTP (fetch) with the owner's session, one at a time, to a
 * random lock (and day, and page), REQUESTS of each route. The floor is the SQL the route issued for
 * that same request (its credential lookup included), recorded through drizzle's logger and issued
 * again by a plain pg client on its own connection: route and floor alternate which goes first per
 * request, so both see the same cache and load. The figure that counts is the ratio of their p50 and p99.
 *
 * The sweep is the reconciler's own `runOnce` (claim due locks, a batch of 25, look at each: read the
 * lock, its table and its codes, plan, statuses, commands), called until every lock has been looked at
 * once, as a restarted server does (its first runOnce marks every table stale and every lock due). No
 * gateway is online, so no command is sent: each look finds the lock out of reach. Its floor: the
 * statements of some of those runOnce calls, recorded and issued again in a transaction rolled back.
 *
 * Environment: LATCHKEY_BENCH_SCALE_LOCKS (default 100000; gateways, codes and events follow),
 * LATCHKEY_BENCH_SCALE_REQUESTS (default 300), LATCHKEY_BENCH_SCALE_SWEEP_S (the sweep's time limit,
 * default 900; 0 skips it), LATCHKEY_BENCH_SCALE_PLANS=1 prints each statement's EXPLAIN (ANALYZE, BUFFERS).
 */
import { mkdtempSync, readFileSync, rmSync, statfsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type RunningServer, startServer } from '@latchkey/server'
import pg from 'pg'
import { revokedShares } from '../packages/server/src/app-users/index.ts'
import { startReconciler } from '../packages/server/src/reconciler/index.ts'
import { type BenchRow, defineSuite, formatNumber } from './lib.ts'
import { DEFAULT_PARAMS, generate, type ScaleParams } from './scale-data.ts'

const POSTGRES = 'postgres://postgres@127.0.0.1:5432'
const DATABASE = 'latchkey_bench_scale'
const DATABASE_URL = `${POSTGRES}/${DATABASE}`
/** The bench's own master key (the PINs of the kept dataset are encrypted with it). */
const MASTER_KEY = Buffer.alloc(32, 'latchkey-bench-scale').toString('base64')
const EMAIL = 'owner@scale.bench.test'
const PASSWORD = 'correct horse battery staple'
const REQUESTS = Number(process.env.LATCHKEY_BENCH_SCALE_REQUESTS ?? 300)
const SWEEP_S = Number(process.env.LATCHKEY_BENCH_SCALE_SWEEP_S ?? 900)
const MIN_FREE_GB = 30
const DAY = 86_400_000
const API = '/api/v1'
const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)))
const JOURNAL = join(ROOT, 'packages/server/drizzle/meta/_journal.json')
const READ_AIM_MS = 20

function paramsFromEnv(): ScaleParams {
  const locks = Number(process.env.LATCHKEY_BENCH_SCALE_LOCKS ?? DEFAULT_PARAMS.locks)
  const scale = locks / DEFAULT_PARAMS.locks
  return {
    ...DEFAULT_PARAMS,
    locks,
    gateways: Math.max(1, Math.round(DEFAULT_PARAMS.gateways * scale)),
    otherLocks: Math.max(10, Math.round(DEFAULT_PARAMS.otherLocks * scale)),
  }
}

const migrationLevel = () =>
  (JSON.parse(readFileSync(JOURNAL, 'utf8')) as { entries: unknown[] }).entries.length

const log = (line: string) => process.stderr.write(`\n  scale: ${line}`)

async function adminQuery(statement: string): Promise<pg.QueryResult | null> {
  const client = new pg.Client({ connectionString: `${POSTGRES}/postgres` })
  try {
    await client.connect()
  } catch {
    return null
  }
  try {
    return await client.query(statement)
  } finally {
    await client.end()
  }
}

interface Marker {
  params: ScaleParams
  migrations: number
  anchorMs: number
  organizationId: string
  steps: { name: string; ms: number }[]
}

async function readMarker(): Promise<Marker | null> {
  const exists = await adminQuery(`select 1 from pg_database where datname = '${DATABASE}'`)
  if (exists === null || exists.rowCount === 0) return null
  const client = new pg.Client({ connectionString: DATABASE_URL })
  await client.connect()
  try {
    const rows = await client.query<{ marker: Marker }>(`select marker from bench_scale_marker`)
    return rows.rows[0]?.marker ?? null
  } catch {
    return null
  } finally {
    await client.end()
  }
}

/** jsonb keeps an object's keys in an order of its own: the parameters are compared one by one. */
const sameParams = (a: ScaleParams, b: ScaleParams) =>
  (Object.keys(b) as (keyof ScaleParams)[]).every((key) => a[key] === b[key]) &&
  Object.keys(a).length === Object.keys(b).length

function serverOn(dataDir: string): Promise<RunningServer> {
  return startServer({
    port: 0,
    host: '127.0.0.1',
    dataDir,
    databaseUrl: DATABASE_URL,
    mqttPort: 0,
    logger: false,
    reconciler: false,
    signup: 'first',
    env: { LATCHKEY_MASTER_KEY: MASTER_KEY },
  })
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
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text.slice(0, 500)}`)
  return JSON.parse(text) as Record<string, unknown>
}

/** Makes the database and the dataset again. */
async function regenerate(params: ScaleParams, dataDir: string): Promise<Marker> {
  const freeGb = (() => {
    const s = statfsSync('/var/lib/postgresql')
    return (s.bavail * s.bsize) / 1e9
  })()
  if (freeGb < MIN_FREE_GB) throw new Error(`only ${freeGb.toFixed(0)} GB free, the dataset needs about 10`)
  await adminQuery(`drop database if exists ${DATABASE}`)
  if ((await adminQuery(`create database ${DATABASE}`)) === null)
    throw new Error(`no PostgreSQL at ${POSTGRES}`)
  const started = performance.now()
  const server = await serverOn(dataDir)
  let organizationId: string
  let ownerId: string
  try {
    const signup = await call(server.url, 'POST', '/auth/signup', null, {
      email: EMAIL,
      password: PASSWORD,
      organizationName: 'Scale',
    })
    organizationId = String(signup.organizationId)
    ownerId = String(signup.userId)
  } catch (error) {
    await server.close()
    throw error
  }
  const migratedMs = performance.now() - started
  const anchorMs = Date.now()
  const client = new pg.Client({ connectionString: DATABASE_URL })
  await client.connect()
  try {
    const generated = await generate(
      client,
      server.deps.secrets,
      organizationId,
      ownerId,
      params,
      anchorMs,
      log,
    )
    const marker: Marker = {
      params,
      migrations: migrationLevel(),
      anchorMs,
      organizationId,
      steps: [{ name: 'migrate (empty database) and sign-up', ms: migratedMs }, ...generated.steps],
    }
    await client.query(`create table bench_scale_marker (marker jsonb not null)`)
    await client.query(`insert into bench_scale_marker values ($1)`, [JSON.stringify(marker)])
    return marker
  } finally {
    await client.end()
    await server.close()
  }
}

// ---------------------------------------------------------------- statements of a request

type Step = { sql: string; params: unknown[] }

interface DrizzleSession {
  logger: unknown
  options: { logger?: unknown }
}

/** Records what the server's drizzle issues while `recording` is set. */
function recorder(server: RunningServer) {
  let steps: Step[] | null = null
  const session = (server.deps.db as unknown as { session: DrizzleSession }).session
  const logger = {
    logQuery(query: string, params: unknown[]) {
      steps?.push({ sql: query, params: [...params] })
    },
  }
  session.logger = logger
  session.options.logger = logger
  return {
    async during<T>(fn: () => Promise<T>): Promise<{ result: T; steps: Step[] }> {
      steps = []
      try {
        const result = await fn()
        return { result, steps }
      } finally {
        steps = null
      }
    },
  }
}

/** `lockTimezone` (access-codes/lookup.ts): one lock's time zone. */
const ZONE_LOOKUP = /^select "timezone" from "locks" where "locks"\."id" = \$1$/

const TRANSACTION_EDGE = /^\s*(begin|commit|rollback|start transaction|set transaction)\b/i

/** Issues `steps` again on a plain connection (inside a transaction that is rolled back, with `rollback`). */
async function replay(client: pg.Client, steps: Step[], rollback: boolean): Promise<number> {
  const started = performance.now()
  if (rollback) await client.query('begin')
  try {
    for (const step of steps) {
      if (TRANSACTION_EDGE.test(step.sql)) {
        if (!rollback) await client.query(step.sql)
        continue
      }
      await client.query(step.sql, step.params)
    }
  } finally {
    if (rollback) await client.query('rollback')
  }
  return performance.now() - started
}

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!
}

/** What the plan of the statement on the large table used, and what it cost. */
async function explain(client: pg.Client, step: Step): Promise<string> {
  const plan = await client.query<{ 'QUERY PLAN': string }>(
    `explain (analyze, buffers) ${step.sql}`,
    step.params,
  )
  const lines = plan.rows.map((r) => r['QUERY PLAN'])
  if (process.env.LATCHKEY_BENCH_SCALE_PLANS === '1') log(`plan of ${step.sql}\n${lines.join('\n')}`)
  const used = new Set<string>()
  for (const line of lines) {
    const m =
      /(Index Only Scan|Index Scan)(?: Backward)? using (\S+) on|Bitmap Index Scan on (\S+)|Seq Scan on (\S+)/.exec(
        line,
      )
    if (m?.[2] !== undefined) used.add(`${m[1]} ${m[2]}`)
    else if (m?.[3] !== undefined) used.add(`Bitmap Index Scan ${m[3]}`)
    else if (m?.[4] !== undefined) used.add(`Seq Scan on ${m[4]}`)
  }
  const execution = lines.find((l) => l.startsWith('Execution Time'))?.replace('Execution Time: ', '')
  const buffers = /Buffers: (.*)$/.exec(lines.find((l) => l.includes('Buffers:')) ?? '')?.[1]
  return `plan: ${[...used].join(', ')}; ${execution ?? ''}; buffers ${buffers ?? 'none'}`
}

interface Case {
  name: string
  paths: string[]
  /** The statement on the large table (EXPLAINed). */
  main: RegExp
}

async function measureReads(
  server: RunningServer,
  token: string,
  floor: pg.Client,
  cases: Case[],
): Promise<BenchRow[]> {
  const rec = recorder(server)
  const rows: BenchRow[] = []
  for (const c of cases) {
    // first pass: each request once, its statements recorded (and the caches warmed alike)
    const recorded: Step[][] = []
    for (const path of c.paths) {
      const { steps } = await rec.during(() => call(server.url, 'GET', path, token))
      recorded.push(steps)
    }
    const route: number[] = []
    const bare: number[] = []
    for (let i = 0; i < c.paths.length; i++) {
      const timeRoute = async () => {
        const started = performance.now()
        await call(server.url, 'GET', c.paths[i]!, token)
        route.push(performance.now() - started)
      }
      const timeFloor = async () => bare.push(await replay(floor, recorded[i]!, false))
      if (i % 2 === 0) {
        await timeRoute()
        await timeFloor()
      } else {
        await timeFloor()
        await timeRoute()
      }
    }
    // the route's statements but one look-up of a lock's time zone per lock of the page
    const zoneLookups = recorded.map((steps) => steps.filter((s) => ZONE_LOOKUP.test(s.sql)).length)
    const withoutZones: number[] = []
    if (zoneLookups.some((n) => n > 1)) {
      for (let i = 0; i < c.paths.length; i++)
        withoutZones.push(
          await replay(
            floor,
            recorded[i]!.filter((s) => !ZONE_LOOKUP.test(s.sql)),
            false,
          ),
        )
    }
    const main = recorded[0]!.find((s) => c.main.test(s.sql))
    const plan = main === undefined ? 'no statement on the large table' : await explain(floor, main)
    const p50 = quantile(route, 0.5)
    const p99 = quantile(route, 0.99)
    const f50 = quantile(bare, 0.5)
    const f99 = quantile(bare, 0.99)
    rows.push(
      {
        name: `${c.name}: Latchkey`,
        value: formatNumber(p99),
        unit: 'ms p99',
        note: `p50 ${formatNumber(p50)} ms, max ${formatNumber(Math.max(...route))} ms; ${route.length} requests; aim p99 ≤ ${READ_AIM_MS} ms: ${p99 <= READ_AIM_MS ? 'met' : 'NOT met'}`,
      },
      {
        name: `${c.name}: floor (its ${recorded[0]!.length} statements)`,
        value: formatNumber(f99),
        unit: 'ms p99',
        note: `p50 ${formatNumber(f50)} ms; ${plan}`,
      },
      ...(withoutZones.length === 0
        ? []
        : [
            {
              name: `${c.name}: floor without the time-zone look-ups`,
              value: formatNumber(quantile(withoutZones, 0.99)),
              unit: 'ms p99',
              note: `p50 ${formatNumber(quantile(withoutZones, 0.5))} ms; the route looks up the time zone of each lock of the page on its own (${formatNumber(quantile(zoneLookups, 0.5))} statements per page, median)`,
            },
          ]),
      {
        name: `${c.name}: Latchkey / floor`,
        value: formatNumber(p99 / f99),
        unit: '× floor (p99)',
        note: `p50 ${formatNumber(p50 / f50)} × floor`,
      },
    )
  }
  return rows
}

// ---------------------------------------------------------------- the sweep

async function measureSweep(server: RunningServer, floor: pg.Client): Promise<BenchRow[]> {
  const deps = server.deps
  const total = Number((await floor.query<{ n: string }>(`select count(*) as n from lock_sync`)).rows[0]!.n)
  let errors = 0
  let firstError: unknown
  const reconciler = startReconciler(
    { db: deps.db, secrets: deps.secrets, clock: deps.clock, metrics: deps.metrics },
    deps.channel,
    {
      manual: true,
      revocations: (db, lockId, nowMs) => revokedShares(db, lockId, nowMs),
      onError: (error) => {
        errors++
        firstError ??= error
      },
    },
  )
  const before = await sweepCounts(floor)
  const saved = await saveSweptTables(floor)
  const rec = recorder(server)
  const samples: { steps: Step[]; ms: number; looked: number }[] = []
  let looked = 0
  let calls = 0
  let firstMs = 0
  const started = performance.now()
  const deadline = started + SWEEP_S * 1000
  try {
    while (looked < total && performance.now() < deadline) {
      const keep = calls % 400 === 1
      const t = performance.now()
      const { result: n, steps } = keep
        ? await rec.during(() => reconciler.runOnce())
        : { result: await reconciler.runOnce(), steps: [] }
      const ms = performance.now() - t
      if (calls === 0) firstMs = ms
      if (keep) samples.push({ steps, ms, looked: n })
      calls++
      looked += n
      if (n === 0) break
      if (calls % 400 === 0)
        log(`sweep: ${looked.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} locks`)
    }
  } finally {
    await reconciler.stop()
  }
  const sweepMs = performance.now() - started
  const after = await sweepCounts(floor)
  // the floor: the same statements on a plain connection, in a transaction rolled back, on the rows
  // as the sweep left them (every table stale), before they are put back
  let realMs = 0
  let floorMs = 0
  let floorLooked = 0
  let statements = 0
  for (const s of samples) {
    realMs += s.ms
    floorMs += await replay(floor, s.steps, true)
    floorLooked += s.looked
    statements += s.steps.length
  }
  const restoreStarted = performance.now()
  await restoreSweptTables(floor, saved)
  log(`sweep undone in ${formatNumber((performance.now() - restoreStarted) / 1000)} s`)
  const complete = looked >= total
  const rate = looked / (sweepMs / 1000)
  return [
    {
      name: 'reconciler sweep: every lock looked at once',
      value: formatNumber(sweepMs / 1000),
      unit: complete ? 's' : 's (time limit)',
      note: `${looked.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} locks in ${calls.toLocaleString('en-US')} runOnce calls, ${formatNumber(rate)} locks/s${complete ? '' : `, a whole sweep ≈ ${formatNumber(total / rate / 60)} min`}; the first runOnce (every table marked stale, every lock due) ${formatNumber(firstMs)} ms; ${errors} errors${firstError === undefined ? '' : ` (first: ${String(firstError)})`}; what it did: ${describeCounts(before, after)}`,
    },
    {
      name: 'reconciler sweep: floor (statements of sampled runOnce calls, rolled back)',
      value: formatNumber(floorMs / Math.max(1, floorLooked)),
      unit: 'ms per lock',
      note: `${samples.length} runOnce calls, ${floorLooked} locks, ${formatNumber(statements / Math.max(1, floorLooked))} statements per lock; Latchkey ${formatNumber(realMs / Math.max(1, floorLooked))} ms per lock, ${formatNumber(realMs / Math.max(1, floorMs))} × floor`,
    },
  ]
}

type Counts = Record<string, number>

/**
 * The sweep changes the kept dataset (statuses, warnings, due times, a few events): what it may
 * change is copied before and put back after, so the next run starts from the same rows.
 */
async function saveSweptTables(client: pg.Client): Promise<{ maxEventId: number }> {
  await client.query(`drop table if exists bench_saved_codes, bench_saved_sync`)
  await client.query(`create table bench_saved_codes as select * from access_codes`)
  await client.query(`create table bench_saved_sync as select * from lock_sync`)
  const max = await client.query<{ id: string }>(`select coalesce(max(id), 0) as id from events`)
  return { maxEventId: Number(max.rows[0]!.id) }
}

async function restoreSweptTables(client: pg.Client, saved: { maxEventId: number }): Promise<void> {
  const columns = (
    await client.query<{ column_name: string }>(
      `select column_name from information_schema.columns where table_name = 'access_codes' and column_name <> 'id'`,
    )
  ).rows.map((r) => `"${r.column_name}"`)
  await client.query(`delete from events where id > $1`, [saved.maxEventId])
  await client.query(
    `update access_codes a set (${columns.join(', ')}) = (${columns.map((c) => `s.${c}`).join(', ')})
     from bench_saved_codes s where s.id = a.id and row(a.*) is distinct from row(s.*)`,
  )
  await client.query(`truncate lock_sync`)
  await client.query(`insert into lock_sync select * from bench_saved_sync`)
  await client.query(`drop table bench_saved_codes, bench_saved_sync`)
  await client.query(`vacuum analyze access_codes, lock_sync, events`)
}

async function sweepCounts(client: pg.Client): Promise<Counts> {
  const codes = await client.query<{ status: string; n: string }>(
    `select status, count(*) as n from access_codes group by status`,
  )
  const events = await client.query<{ n: string }>(`select count(*) as n from events`)
  const stale = await client.query<{ n: string }>(`select count(*) as n from lock_sync where stale`)
  const counts: Counts = {}
  for (const row of codes.rows) counts[`codes ${row.status}`] = Number(row.n)
  counts.events = Number(events.rows[0]!.n)
  counts['stale tables'] = Number(stale.rows[0]!.n)
  return counts
}

function describeCounts(before: Counts, after: Counts): string {
  const changes: string[] = []
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const d = (after[key] ?? 0) - (before[key] ?? 0)
    if (d !== 0) changes.push(`${key} ${d > 0 ? '+' : ''}${d.toLocaleString('en-US')}`)
  }
  return changes.length === 0 ? 'no code changed status, no event' : changes.join(', ')
}

// ---------------------------------------------------------------- the suite

/** A deterministic PRNG for the requests' choices. */
function chooser(seed: number) {
  let a = seed >>> 0
  return (n: number) => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = Math.imul(a ^ (a >>> 15), a | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n)
  }
}

async function casesOf(client: pg.Client, marker: Marker): Promise<Case[]> {
  const pick = chooser(42)
  const { params } = marker
  const lockN = Array.from({ length: REQUESTS }, () => pick(params.locks))
  const ids = new Map(
    (
      await client.query<{ n: number; id: string }>(`select n, id from bench_lock where n = any($1::int[])`, [
        lockN,
      ])
    ).rows.map((r) => [r.n, r.id]),
  )
  const t0 = marker.anchorMs - params.days * DAY
  const days = lockN.map(() => t0 + pick(params.days) * DAY)
  const failed = (
    await client.query<{ id: string; ms: string }>(
      `select id, (extract(epoch from created_at) * 1000)::bigint as ms from access_codes
       where organization_id = $1 and status = 'failed' order by random() limit $2`,
      [marker.organizationId, REQUESTS],
    )
  ).rows
  const cursor = (row: { id: string; ms: string }) =>
    Buffer.from(JSON.stringify([Number(row.ms), row.id])).toString('base64url')
  return [
    {
      name: 'list-codes of a lock',
      paths: lockN.map((n) => `/locks/${ids.get(n)}/access-codes`),
      main: /from "access_codes"/,
    },
    {
      name: 'events of a lock in a day',
      paths: lockN.map(
        (n, i) =>
          `/events?lockId=${ids.get(n)}&from=${new Date(days[i]!).toISOString()}&to=${new Date(days[i]! + DAY).toISOString()}`,
      ),
      main: /from "events"/,
    },
    {
      name: 'failed codes of the organization (a page of 50 from a random cursor)',
      paths: failed.map((row, i) =>
        i === 0 ? '/access-codes?status=failed' : `/access-codes?status=failed&cursor=${cursor(row)}`,
      ),
      main: /from "access_codes"/,
    },
    {
      name: 'codes with errors of the organization (status=errors, a page from a random cursor)',
      paths: failed.map((row, i) =>
        i === 0 ? '/access-codes?status=errors' : `/access-codes?status=errors&cursor=${cursor(row)}`,
      ),
      main: /from "access_codes"/,
    },
  ]
}

export default defineSuite({
  name: 'scale',
  async run() {
    const params = paramsFromEnv()
    if ((await adminQuery('select 1')) === null)
      return [{ name: 'scale', value: 'skipped', unit: '', note: `no PostgreSQL at ${POSTGRES}` }]
    const dataDir = mkdtempSync(join(tmpdir(), 'latchkey-scale-bench-'))
    const rows: BenchRow[] = []
    try {
      let marker = process.env.LATCHKEY_BENCH_SCALE_FRESH === '1' ? null : await readMarker()
      let reused = true
      if (marker === null || !sameParams(marker.params, params) || marker.migrations !== migrationLevel()) {
        log('generating the dataset')
        marker = await regenerate(params, dataDir)
        reused = false
      }
      const generationMs = marker.steps.reduce((a, s) => a + s.ms, 0)
      rows.push({
        name: `dataset: ${params.locks.toLocaleString('en-US')} locks, ${(params.locks * params.codesPerLock).toLocaleString('en-US')} codes, ${(params.locks * params.eventsPerLock).toLocaleString('en-US')} events (+${params.others} organizations of ${params.otherLocks.toLocaleString('en-US')} locks)`,
        value: formatNumber(generationMs / 1000),
        unit: 's to generate',
        note: `${reused ? `kept from ${new Date(marker.anchorMs).toISOString()} (generated then in` : 'generated now in'} ${marker.steps.map((s) => `${s.name} ${formatNumber(s.ms / 1000)} s`).join(', ')}${reused ? ')' : ''}`,
      })
      const floor = new pg.Client({ connectionString: DATABASE_URL })
      await floor.connect()
      const server = await serverOn(dataDir)
      try {
        const size = await floor.query<{ s: string }>(
          `select pg_size_pretty(pg_database_size(current_database())) as s`,
        )
        rows[0]!.note += `; database ${size.rows[0]!.s}`
        const login = await call(server.url, 'POST', '/auth/login', null, {
          email: EMAIL,
          password: PASSWORD,
        })
        const token = String(login.token)
        rows.push(...(await measureReads(server, token, floor, await casesOf(floor, marker))))
        if (SWEEP_S > 0) rows.push(...(await measureSweep(server, floor)))
      } finally {
        await server.close()
        await floor.end()
      }
      if (process.env.LATCHKEY_BENCH_SCALE_DROP === '1')
        await adminQuery(`drop database if exists ${DATABASE}`)
    } finally {
      rmSync(dataDir, { recursive: true, force: true })
    }
    return rows
  },
})
