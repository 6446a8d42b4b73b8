/**
 * API throughput (autocannon, CONNECTIONS at once): create-code, list-codes (a lock with 250 codes),
 * get-lock and list-events, on PGlite and on the PostgreSQL server, each next to its floor.
 *
 * The server runs as in production: the compiled `latchkey serve` in a process of its own (the
 * client, this process, shares the machine's cores with it; in-process, autocannon would compete with
 * the server for one event loop). Its log is pino JSON at `info`, as `latchkey serve` writes it when its
 * output is not a terminal.
 *
 * The floor (`bench/api-floor.ts`) is a bare fastify app, in a process of its own too, issuing the SQL
 * the route issued for the same request: each route is called once on an in-process server started on
 * the same rows (startServer, reconciler off) with drizzle's logger recording the statements of that
 * request (its credential lookup included, and where a transaction begins and ends). On PGlite, which
 * one process opens at a time, the floor opens a copy of the data directory made after seeding; on
 * PostgreSQL it uses the same database. Server and floor are measured in alternating rounds so both
 * see the same machine load; the ratio of their throughputs is the figure that counts.
 *
 * Creates go round CREATE_LOCKS locks (each holds a few codes); the reads all ask about the lock of
 * 250 codes. LATCHKEY_BENCH_API_PROFILE=1 also runs each route alone against a server under
 * `node --cpu-prof` and prints the functions with the most self time (`only`: no measurement;
 * LATCHKEY_BENCH_API_PROFILE_DIR keeps the profiles).
 * LATCHKEY_BENCH_API_STORES=pglite (or postgres) runs one store; LATCHKEY_BENCH_API_SECONDS sets each run's
 * length (default 5); LATCHKEY_BENCH_API_RECORDING=<path> keeps the recorded statements in <path>.<store>.json. PostgreSQL: a database of its own
 * (DATABASE_NAME) on 127.0.0.1:5432, made and dropped by the run.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { startServer } from '@latchkey/server'
import autocannon from 'autocannon'
import pg from 'pg'
import type { RecordedRoute, RecordedStep, Recording } from './api-floor.ts'
import { type BenchRow, defineSuite, formatNumber } from './lib.ts'

const CONNECTIONS = 16
const DURATION_S = Number(process.env.LATCHKEY_BENCH_API_SECONDS ?? 5)
const WARMUP_S = 1
const ROUNDS = 2
const LIST_CODES = 250
const CREATE_LOCKS = 100
const START_TIMEOUT_MS = 60_000
const STOP_GRACE_MS = 10_000
const PROFILE_TOP = 12
const RECORD_ATTEMPTS = 3
const POSTGRES = 'postgres://postgres@127.0.0.1:5432'
const DATABASE_NAME = 'latchkey_bench_api'
const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)))
const BIN = join(ROOT, 'packages/cli/bin/latchkey.js')
const BUNDLE = join(ROOT, 'packages/cli/dist/latchkey.js')
const FLOOR = join(ROOT, 'bench/api-floor.ts')
const API = '/api/v1'

type Store = 'pglite' | 'postgres'
type Who = 'server' | 'floor'

interface Process {
  url: string
  stop(): Promise<void>
}

/** `node <args>`, up once its output matches `ready` (whose first group is its URL). */
async function startProcess(
  args: string[],
  env: Record<string, string | undefined>,
  ready: RegExp,
): Promise<Process> {
  const child: ChildProcess = spawn(process.execPath, args, {
    cwd: ROOT,
    env: {
      ...process.env,
      DATABASE_URL: undefined,
      MQTT_URL: undefined,
      LATCHKEY_MASTER_KEY: undefined,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  let matched = false
  const exited = new Promise<void>((r) => child.once('exit', () => r()))
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return
    child.kill('SIGINT')
    const done = await Promise.race([exited.then(() => true), sleep(STOP_GRACE_MS).then(() => false)])
    if (!done) {
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
        // the log is read and dropped (a full pipe would stall the server); the start is kept for errors
        if (!matched) output = (output + chunk.toString('utf8')).slice(-20_000)
        const match = matched ? null : ready.exec(output)
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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

interface ServerSetup {
  dataDir: string
  databaseUrl: string | undefined
  masterKey: string
}

function startLatchkey(setup: ServerSetup, nodeArgs: string[] = []): Promise<Process> {
  return startProcess(
    [...nodeArgs, BIN, 'serve', '--port', '0', '--mqtt-port', '0', '--data-dir', setup.dataDir],
    { DATABASE_URL: setup.databaseUrl, LATCHKEY_MASTER_KEY: setup.masterKey },
    /Latchkey is running at (http:\S+)/,
  )
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

const CODE_BODY = { name: 'Bench code', kind: 'permanent', delivery: 'synced' }

interface Seeded {
  token: string
  listLockId: string
  /**
   * Where the server's creates go, and the floor's: on PostgreSQL the floor writes into the same
   * database, and its codes (PINs encrypted for the recorded row) must not be among those the server reads.
   */
  createLockIds: { server: string[]; floor: string[] }
}

/** An organization, its owner's session, a lock with 250 codes (and their events), CREATE_LOCKS more locks. */
async function seed(base: string): Promise<Seeded> {
  const signup = await call(base, 'POST', '/auth/signup', null, {
    email: 'bench@example.test',
    password: 'correct horse battery',
    organizationName: 'Bench',
  })
  const token = String(signup.token)
  const lock = async (name: string) =>
    String((await call(base, 'POST', '/locks', token, { name, timezone: 'Europe/Berlin' })).id)
  const listLockId = await lock('Front door')
  const rows = Array.from({ length: LIST_CODES }, (_, i) => ({ ...CODE_BODY, name: `Guest ${i + 1}` }))
  const imported = await call(base, 'POST', `/locks/${listLockId}/access-codes/import`, token, { rows })
  if (imported.created !== LIST_CODES) throw new Error(`seeding made ${String(imported.created)} codes`)
  const createLockIds = { server: [] as string[], floor: [] as string[] }
  for (let i = 0; i < CREATE_LOCKS; i++) {
    createLockIds.server.push(await lock(`Room ${i + 1}`))
    createLockIds.floor.push(await lock(`Floor room ${i + 1}`))
  }
  return { token, listLockId, createLockIds }
}

interface Route {
  name: string
  method: 'GET' | 'POST'
  pattern: string
  /** The path of the i-th request. */
  path(i: number, who: Who): string
  body?: unknown
  /** The read aim (0.5) or the create aim (0.3), as a share of the floor's throughput. */
  aim: number
}

function routesOf(seeded: Seeded): Route[] {
  return [
    {
      name: 'create-code',
      method: 'POST',
      pattern: `${API}/locks/:lockId/access-codes`,
      path: (i, who) => `${API}/locks/${seeded.createLockIds[who][i % CREATE_LOCKS]}/access-codes`,
      body: CODE_BODY,
      aim: 0.3,
    },
    {
      name: `list-codes (${LIST_CODES})`,
      method: 'GET',
      pattern: `${API}/locks/:lockId/access-codes`,
      path: () => `${API}/locks/${seeded.listLockId}/access-codes?limit=${LIST_CODES}`,
      aim: 0.5,
    },
    {
      name: 'get-lock',
      method: 'GET',
      pattern: `${API}/locks/:id`,
      path: () => `${API}/locks/${seeded.listLockId}`,
      aim: 0.5,
    },
    {
      name: 'list-events (50)',
      method: 'GET',
      pattern: `${API}/events`,
      path: () => `${API}/events?lockId=${seeded.listLockId}`,
      aim: 0.5,
    },
  ]
}

/**
 * The statements each route issues, recorded from an in-process server on the same rows through
 * drizzle's logger (and, on PGlite, where its transactions begin and end).
 */
async function record(setup: ServerSetup, seeded: Seeded, routes: Route[]): Promise<Recording> {
  const server = await startServer({
    port: 0,
    host: '127.0.0.1',
    dataDir: setup.dataDir,
    databaseUrl: setup.databaseUrl,
    mqttPort: 0,
    logger: false,
    reconciler: false,
    env: { LATCHKEY_MASTER_KEY: setup.masterKey },
  })
  // What the server issues while one request is in flight (nothing else runs: the reconciler is off,
  // and of ATTEMPTS recordings the shortest is kept, in case a periodic worker looked in meanwhile).
  let steps: RecordedStep[] | null = null
  // drizzle keeps its logger on the session and hands it to every transaction's session
  const session = (server.deps.db as unknown as { session: DrizzleSession }).session
  const logger = {
    logQuery(query: string, params: unknown[]) {
      if (steps === null) return
      const word = query.trim().toLowerCase()
      if (word === 'begin' || word === 'commit') steps.push(word)
      else steps.push({ sql: query, params: JSON.parse(JSON.stringify(params)) as unknown[] })
    },
  }
  session.logger = logger
  session.options.logger = logger
  const client = session.client as {
    transaction?: (fn: (tx: unknown) => Promise<unknown>) => Promise<unknown>
  }
  if (server.deps.store.kind === 'pglite' && client.transaction !== undefined) {
    const transaction = client.transaction.bind(client)
    client.transaction = async (fn) => {
      steps?.push('begin')
      const result = await transaction(fn)
      steps?.push('commit')
      return result
    }
  }
  try {
    const recording: Recording = {}
    for (const route of routes) {
      let shortest: { steps: RecordedStep[]; createdId: string } | null = null
      for (let attempt = 0; attempt < RECORD_ATTEMPTS; attempt++) {
        steps = []
        const response = await server.app.inject({
          method: route.method,
          url: route.path(0, 'server'),
          headers: { authorization: `Bearer ${seeded.token}` },
          ...(route.body === undefined ? {} : { payload: route.body as Record<string, unknown> }),
        })
        const got = steps
        steps = null
        if (response.statusCode >= 300)
          throw new Error(`${route.name}: ${response.statusCode} ${response.body}`)
        if (shortest === null || got.length < shortest.steps.length)
          shortest = { steps: got, createdId: String((response.json() as { id?: string }).id) }
      }
      const entry: RecordedRoute = {
        method: route.method,
        pattern: route.pattern,
        steps: shortest!.steps,
        lockId: /\/locks\/([0-9a-f-]{36})/.exec(route.path(0, 'server'))?.[1] ?? seeded.listLockId,
      }
      if (route.method === 'POST') entry.createdId = shortest!.createdId
      recording[route.name] = entry
    }
    return recording
  } finally {
    await server.close()
  }
}

interface DrizzleSession {
  logger: unknown
  options: { logger?: unknown }
  client: unknown
}

interface Run {
  rps: number
  p50: number
  p99: number
  requests: number
  failed: number
  firstFailure: string | undefined
}

async function load(base: string, who: Who, token: string, route: Route, durationS: number): Promise<Run> {
  let i = 0
  let firstFailure: string | undefined
  const result = await autocannon({
    url: base,
    connections: CONNECTIONS,
    duration: durationS,
    requests: [
      {
        method: route.method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(route.body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(route.body === undefined ? {} : { body: JSON.stringify(route.body) }),
        setupRequest: (request) => ({ ...request, path: route.path(i++, who) }),
        onResponse: (status, body) => {
          if ((status < 200 || status >= 300) && firstFailure === undefined)
            firstFailure = `${status} ${String(body).slice(0, 300)}`
        },
      },
    ],
  })
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    requests: result.requests.total,
    failed: result.non2xx + result.errors + result.timeouts,
    firstFailure,
  }
}

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length

function summary(runs: Run[]) {
  return {
    rps: mean(runs.map((r) => r.rps)),
    p50: mean(runs.map((r) => r.p50)),
    p99: mean(runs.map((r) => r.p99)),
    requests: runs.reduce((a, r) => a + r.requests, 0),
    failed: runs.reduce((a, r) => a + r.failed, 0),
    firstFailure: runs.find((r) => r.firstFailure !== undefined)?.firstFailure,
  }
}

async function measure(store: Store, token: string, routes: Route[], server: Process, floor: Process) {
  const runs = new Map<string, { server: Run[]; floor: Run[] }>()
  for (const route of routes) {
    await load(server.url, 'server', token, route, WARMUP_S)
    await load(floor.url, 'floor', token, route, WARMUP_S)
    runs.set(route.name, { server: [], floor: [] })
  }
  for (let round = 0; round < ROUNDS; round++) {
    for (const route of routes) {
      const r = runs.get(route.name)!
      // which goes first alternates, so neither always runs on a fuller table
      const order = round % 2 === 0 ? (['server', 'floor'] as const) : (['floor', 'server'] as const)
      for (const who of order)
        r[who].push(await load((who === 'server' ? server : floor).url, who, token, route, DURATION_S))
    }
  }
  const rows: BenchRow[] = []
  for (const route of routes) {
    const r = runs.get(route.name)!
    const s = summary(r.server)
    const f = summary(r.floor)
    const line = (who: string, m: ReturnType<typeof summary>): BenchRow => ({
      name: `${store} ${route.name}: ${who}`,
      value: formatNumber(m.rps),
      unit: 'req/s',
      note: `p50 ${formatNumber(m.p50)} ms, p99 ${formatNumber(m.p99)} ms; ${m.requests.toLocaleString('en-US')} requests${m.failed > 0 ? `, ${m.failed} FAILED (first: ${m.firstFailure ?? 'no answer'})` : ''}`,
    })
    const ratio = s.rps / f.rps
    rows.push(line('Latchkey', s), line('floor', f), {
      name: `${store} ${route.name}: Latchkey / floor`,
      value: formatNumber(ratio),
      unit: '× floor',
      note: `aim ≥ ${route.aim}: ${ratio >= route.aim ? 'met' : 'NOT met'}`,
    })
  }
  return rows
}

// ---------------------------------------------------------------- profile

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
}
interface CpuProfile {
  nodes: ProfileNode[]
  startTime: number
  samples: number[]
  timeDeltas: number[]
}

/** The bundle's `// ../server/src/….ts` comments: which source file a line of the bundle is in. */
function bundleFiles(): { line: number; file: string }[] {
  const marks: { line: number; file: string }[] = []
  readFileSync(BUNDLE, 'utf8')
    .split('\n')
    .forEach((text, line) => {
      const match = /^\/\/ (\S+\.ts)$/.exec(text)
      if (match) marks.push({ line, file: match[1]!.replace(/^\.\.\//, '') })
    })
  return marks
}

function placeOf(marks: { line: number; file: string }[], frame: ProfileNode['callFrame']): string {
  if (!frame.url.endsWith('dist/latchkey.js'))
    return frame.url.replace(/^.*node_modules\//, '').replace(/^file:\/\//, '') || 'native'
  let file = 'bundle'
  for (const mark of marks) {
    if (mark.line > frame.lineNumber) break
    file = mark.file
  }
  return file.replace(/^node_modules\//, '')
}

/** The functions with the most self time, as shares of the samples (idle left out). */
function topSelfTime(
  profile: CpuProfile,
  marks: { line: number; file: string }[],
  window: { from: bigint; to: bigint },
): { label: string; share: number }[] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const self = new Map<string, number>()
  let total = 0
  let at = profile.startTime
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0
    at += dt
    if (BigInt(at) < window.from || BigInt(at) > window.to) return
    const frame = byId.get(id)!.callFrame
    if (frame.functionName === '(idle)') return
    total += dt
    const label = `${frame.functionName || '(anonymous)'} ${placeOf(marks, frame)}`
    self.set(label, (self.get(label) ?? 0) + dt)
  })
  return [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, PROFILE_TOP)
    .map(([label, t]) => ({ label, share: t / total }))
}

async function profileRoutes(
  store: Store,
  setup: ServerSetup,
  token: string,
  routes: Route[],
): Promise<BenchRow[]> {
  const marks = bundleFiles()
  const rows: BenchRow[] = []
  for (const route of routes) {
    const dir = mkdtempSync(join(tmpdir(), 'latchkey-api-profile-'))
    try {
      // samples are stamped in µs of the monotonic clock, as process.hrtime is: only the load's are kept
      const window = { from: 0n, to: 0n }
      const server = await startLatchkey(setup, ['--cpu-prof', '--cpu-prof-dir', dir])
      try {
        await load(server.url, 'server', token, route, WARMUP_S)
        window.from = process.hrtime.bigint() / 1000n
        await load(server.url, 'server', token, route, DURATION_S)
        window.to = process.hrtime.bigint() / 1000n
      } finally {
        await server.stop()
      }
      const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'))
      if (file === undefined) throw new Error('the server wrote no profile')
      const keep = process.env.LATCHKEY_BENCH_API_PROFILE_DIR
      if (keep !== undefined)
        cpSync(join(dir, file), join(keep, `${store}-${route.name.replace(/\W+/g, '-')}.cpuprofile`))
      const top = topSelfTime(JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile, marks, window)
      rows.push({
        name: `${store} ${route.name}: profile, top self time`,
        value: top.map((t) => `${(t.share * 100).toFixed(1)} % ${t.label}`).join('; '),
        unit: '% of busy samples',
      })
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }
  return rows
}

// ---------------------------------------------------------------- stores

async function onPostgres<T>(statement: string): Promise<T | null> {
  const client = new pg.Client({ connectionString: `${POSTGRES}/postgres` })
  try {
    await client.connect()
  } catch {
    return null
  }
  try {
    return (await client.query(statement)) as T
  } finally {
    await client.end()
  }
}

async function benchStore(store: Store): Promise<BenchRow[]> {
  const dataDir = mkdtempSync(join(tmpdir(), 'latchkey-api-bench-'))
  const floorDir = `${dataDir}-floor`
  const recordDir = `${dataDir}-record`
  const recordingFile = join(tmpdir(), `latchkey-api-recording-${process.pid}-${store}.json`)
  let databaseUrl: string | undefined
  const running: Process[] = []
  try {
    if (store === 'postgres') {
      await onPostgres(`drop database if exists ${DATABASE_NAME}`)
      if ((await onPostgres(`create database ${DATABASE_NAME}`)) === null)
        return [{ name: 'postgres', value: 'skipped', unit: '', note: `no PostgreSQL at ${POSTGRES}` }]
      databaseUrl = `${POSTGRES}/${DATABASE_NAME}`
    }
    const setup: ServerSetup = { dataDir, databaseUrl, masterKey: randomBytes(32).toString('base64') }
    let server = await startLatchkey(setup)
    running.push(server)
    const seeded = await seed(server.url)
    const routes = routesOf(seeded)
    let recording: Recording
    let floorEnv: Record<string, string | undefined>
    if (store === 'pglite') {
      await server.stop()
      cpSync(dataDir, floorDir, { recursive: true })
      cpSync(dataDir, recordDir, { recursive: true })
      recording = await record({ ...setup, dataDir: recordDir }, seeded, routes)
      server = await startLatchkey(setup)
      running.push(server)
      floorEnv = { FLOOR_PGLITE_DIR: join(floorDir, 'pglite') }
    } else {
      recording = await record({ ...setup, dataDir: recordDir }, seeded, routes)
      floorEnv = { DATABASE_URL: databaseUrl }
    }
    writeFileSync(recordingFile, JSON.stringify(recording))
    const keep = process.env.LATCHKEY_BENCH_API_RECORDING
    if (keep !== undefined) writeFileSync(`${keep}.${store}.json`, JSON.stringify(recording, null, 1))
    const floor = await startProcess(
      ['--import', 'tsx', FLOOR, recordingFile],
      floorEnv,
      /floor listening at (http:\S+)/,
    )
    running.push(floor)
    const statements = routes
      .map((r) => `${r.name} ${recording[r.name]!.steps.filter((s) => typeof s !== 'string').length}`)
      .join(', ')
    const profileOnly = process.env.LATCHKEY_BENCH_API_PROFILE === 'only'
    const rows = profileOnly ? [] : await measure(store, seeded.token, routes, server, floor)
    rows.push({
      name: `${store}: statements per request (recorded)`,
      value: statements,
      unit: 'SQL statements',
    })
    if (profileOnly || process.env.LATCHKEY_BENCH_API_PROFILE === '1') {
      await floor.stop()
      await server.stop()
      rows.push(...(await profileRoutes(store, setup, seeded.token, routes)))
    }
    return rows
  } finally {
    for (const p of running.reverse()) await p.stop()
    for (const dir of [dataDir, floorDir, recordDir]) rmSync(dir, { recursive: true, force: true })
    rmSync(recordingFile, { force: true })
    if (store === 'postgres') await onPostgres(`drop database if exists ${DATABASE_NAME}`)
  }
}

export default defineSuite({
  name: 'api',
  async run() {
    const stores = (process.env.LATCHKEY_BENCH_API_STORES ?? 'pglite,postgres').split(',') as Store[]
    const rows: BenchRow[] = []
    for (const store of stores) rows.push(...(await benchStore(store)))
    return rows
  },
})
