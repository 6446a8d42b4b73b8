/**
 * A rig for faults (docs/RELIABILITY.md): `latchkey serve` and several `latchkey sim` gateways, each a
 * process of its own on loopback, with locks spread over the gateways; a churn of codes created and
 * deleted through the API; and the checks after a fault: every lock's own table against the codes
 * the API holds, and every event a lock recorded against what the server stored (by the lock's seq).
 * Used by `test/faults.e2e.test.ts` (correctness) and `bench/faults.bench.ts` (the figures).
 * Every loop is bounded in count and in time.
 */
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, request as httpRequest } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  type PrivateMosquitto,
  startPrivateMosquitto,
} from '../packages/server/src/broker/private-mosquitto.ts'
import {
  ApiClient,
  type Body,
  eventually,
  freeTcpPort,
  type SimProcess,
  sleep,
  startLatchkeyProcess,
  startSim,
} from './harness.ts'
import { PG_BIN, type PrivatePostgres, startPrivatePostgres } from './private-postgres.ts'

export interface RigOptions {
  locks: number
  gateways: number
  /**
   * The scale-out setup: this many `latchkey serve` processes on a PostgreSQL server and a Mosquitto
   * of the rig's own (so either can be crashed and restarted), behind one address that hands the
   * requests round to the processes that answer. Without it: the embedded default, one process with
   * its PGlite and broker.
   */
  scaleOut?: { servers: number }
  /** Output of the processes while they start (the bench's progress). */
  log?: (message: string) => void
}

interface SimSlot {
  gatewayId: string
  token: string
  stateDir: string
  process: SimProcess | null
}

export interface Rig {
  /** The one address of the API (the front of the processes in the scale-out setup). */
  readonly url: string
  readonly owner: ApiClient
  readonly lockIds: readonly string[]
  readonly sims: readonly SimSlot[]
  /** How many server processes (1 for the embedded default). */
  readonly servers: number
  /** The rig's PostgreSQL and Mosquitto (scale-out setup only). */
  readonly postgres: PrivatePostgres | null
  readonly mosquitto: PrivateMosquitto | null
  /** Which sim holds a lock (index into `sims`). */
  simOf(lockId: string): number
  /** SIGKILL of a server process: gone at once, mid-request. */
  killServer(index?: number): Promise<void>
  /** Ctrl-C: the server stops in order. */
  stopServer(index?: number): Promise<void>
  /** A server again, on the same data directory and ports; resolves at its ready line (Date.now()). */
  startServer(index?: number): Promise<number>
  killSim(index: number): Promise<void>
  startSim(index: number): Promise<void>
  /** Cuts a gateway off the broker (its link, as a network failure would) or connects it again. */
  setGatewayOnline(index: number, online: boolean): Promise<void>
  /**
   * Sealed commands sent to locks by the running server processes since each started, by type
   * (their `latchkey_lock_commands_sent_total`); a process that does not answer counts nothing.
   */
  commandsSent(): Promise<Map<string, number>>
  /** The front hands requests only to the first `count` server processes (scale-out setup). */
  useServers(count: number): void
  /** Output of the servers and the sims (for a failing test's message). */
  output(): string
  close(): Promise<void>
}

const READY = /Latchkey is running at (http:\/\/\S+)/
const COMMANDS_SENT = /^latchkey_lock_commands_sent_total\{type="([a-z_]+)"\} (\d+)$/gm

interface ServerSlot {
  port: number
  dataDir: string
  process: SimProcess | null
  outputs: string[]
}

export async function startRig(options: RigOptions): Promise<Rig> {
  const dirs: string[] = []
  const tempDir = (prefix: string) => {
    const dir = mkdtempSync(join(tmpdir(), prefix))
    dirs.push(dir)
    return dir
  }
  const serverCount = options.scaleOut?.servers ?? 1
  let postgres: PrivatePostgres | null = null
  let mosquitto: PrivateMosquitto | null = null
  let front: Front | null = null
  const env: Record<string, string> = {
    LATCHKEY_MASTER_KEY: randomBytes(32).toString('base64'),
    LOG_LEVEL: 'warn',
    DATABASE_URL: '',
    MQTT_URL: '',
    LATCHKEY_METRICS_TOKEN: randomBytes(16).toString('hex'),
  }
  const servers: ServerSlot[] = []
  const mqttPort = await freeTcpPort()
  for (let i = 0; i < serverCount; i++)
    servers.push({
      port: await freeTcpPort(),
      dataDir: tempDir('latchkey-faults-'),
      process: null,
      outputs: [],
    })
  const startServer = async (index = 0): Promise<number> => {
    const slot = servers[index]!
    if (slot.process !== null) slot.outputs.push(slot.process.output())
    slot.process = await startLatchkeyProcess({
      args: [
        'serve',
        '--port',
        String(slot.port),
        '--mqtt-port',
        String(mqttPort),
        '--data-dir',
        slot.dataDir,
      ],
      env,
      ready: READY,
      stateDir: slot.dataDir,
      startTimeoutMs: 60_000,
      stopGraceMs: 15_000,
    })
    return Date.now()
  }
  const sims: SimSlot[] = []
  const lockIds: string[] = []
  const holder = new Map<string, number>()
  const serverUrls = servers.map((slot) => `http://127.0.0.1:${slot.port}`)
  let url = serverUrls[0]!
  let owner = new ApiClient(url)
  const rig: Rig = {
    get url() {
      return url
    },
    get owner() {
      return owner
    },
    lockIds,
    sims,
    servers: serverCount,
    get postgres() {
      return postgres
    },
    get mosquitto() {
      return mosquitto
    },
    simOf: (lockId) => holder.get(lockId) ?? -1,
    killServer: async (index = 0) => {
      await servers[index]?.process?.kill()
    },
    stopServer: async (index = 0) => {
      await servers[index]?.process?.stop()
    },
    startServer,
    async killSim(index) {
      await sims[index]?.process?.kill()
    },
    async startSim(index) {
      const slot = sims[index]!
      slot.process = await startSim({
        serverUrl: url,
        gatewayId: slot.gatewayId,
        gatewayToken: slot.token,
        stateDir: slot.stateDir,
      })
    },
    async commandsSent() {
      const sent = new Map<string, number>()
      for (const slot of servers) {
        if (slot.process === null) continue
        const text = await fetch(`http://127.0.0.1:${slot.port}/metrics`, {
          headers: { authorization: `Bearer ${env.LATCHKEY_METRICS_TOKEN}` },
          signal: AbortSignal.timeout(5_000),
        })
          .then((response) => (response.ok ? response.text() : ''))
          .catch(() => '')
        for (const [, type, count] of text.matchAll(COMMANDS_SENT))
          sent.set(type!, (sent.get(type!) ?? 0) + Number(count))
      }
      return sent
    },
    useServers(count) {
      front?.use(count)
    },
    async setGatewayOnline(index, online) {
      await sims[index]!.process!.api.expect(200, 'POST', '/sim/gateway/link', { online })
    },
    output: () =>
      [
        ...servers.flatMap((slot, s) => [
          ...slot.outputs.map((o, i) => `--- server ${s}, run ${i + 1}\n${o}`),
          `--- server ${s}, now\n${slot.process?.output() ?? ''}`,
        ]),
        ...sims.map((s, i) => `--- sim ${i}\n${s.process?.output().slice(-4000) ?? ''}`),
        mosquitto === null ? '' : `--- mosquitto\n${mosquitto.log().slice(-4000)}`,
      ].join('\n'),
    async close() {
      for (const slot of sims) await slot.process?.stop()
      for (const slot of servers) await slot.process?.kill()
      await front?.close()
      await mosquitto?.stop()
      await postgres?.remove()
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
    },
  }
  try {
    if (options.scaleOut !== undefined) {
      postgres = await startPrivatePostgres()
      mosquitto = await startPrivateMosquitto()
      const login = `${encodeURIComponent(mosquitto.admin.username)}:${encodeURIComponent(mosquitto.admin.password)}`
      env.DATABASE_URL = postgres.databaseUrl
      env.MQTT_URL = `mqtt://${login}@${mosquitto.host}:${mosquitto.port}`
      front = await startFront(serverUrls)
      url = front.url
      owner = new ApiClient(url)
    }
    // one at a time: the first applies the migrations
    for (let i = 0; i < serverCount; i++) await startServer(i)
    const signup = await rig.owner.expect(201, 'POST', '/api/v1/auth/signup', {
      email: `faults-${process.pid}@example.test`,
      password: 'correct horse battery',
      organizationName: 'Faults Pty',
    })
    owner = owner.withToken(signup.token)
    for (let g = 0; g < options.gateways; g++) {
      const gateway = await rig.owner.expect(201, 'POST', '/api/v1/gateways', { name: `Gateway ${g + 1}` })
      sims.push({
        gatewayId: gateway.id,
        token: gateway.mqtt.password,
        stateDir: tempDir('latchkey-faults-sim-'),
        process: null,
      })
      await rig.startSim(g)
    }
    for (let i = 0; i < options.locks; i++) {
      const g = i % options.gateways
      const lock = await rig.owner.expect(201, 'POST', '/api/v1/locks', {
        name: `Door ${i + 1}`,
        timezone: 'Australia/Sydney',
        gatewayId: sims[g]!.gatewayId,
      })
      await sims[g]!.process!.api.expect(201, 'POST', '/sim/locks', { bundle: lock.bundle })
      lockIds.push(lock.id)
      holder.set(lock.id, g)
    }
    options.log?.(
      `${options.locks} locks on ${options.gateways} gateways, ${serverCount} server process${serverCount > 1 ? 'es' : ''}`,
    )
    await eventually(
      'every lock online',
      async () => {
        const online = (await allPages(rig.owner, '/api/v1/locks')).filter((l) => l.online).length
        return online === options.locks
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    )
    return rig
  } catch (error) {
    const said = rig.output()
    await rig.close()
    throw new Error(`${(error as Error).message}\n${said}`)
  }
}

interface Front {
  url: string
  /** Only the first `count` backends from now on. */
  use(count: number): void
  close(): Promise<void>
}

/**
 * One address in front of the server processes, as a load balancer: each request goes to the next
 * process in turn; a process that refuses the connection (killed, not yet up) is passed over. A
 * request whose process dies under it is cut off (the client sees the connection close), as a load
 * balancer that does not retry what may have been done.
 */
async function startFront(all: string[]): Promise<Front> {
  let backends = all
  let next = 0
  const server = createServer((request, response) => {
    const body: Buffer[] = []
    request.on('data', (chunk: Buffer) => body.push(chunk))
    request.on('end', () => {
      const attempt = (tries: number) => {
        const target = new URL(request.url ?? '/', backends[next++ % backends.length])
        const upstream = httpRequest(
          target,
          { method: request.method, headers: { ...request.headers, host: target.host } },
          (answer) => {
            response.writeHead(answer.statusCode ?? 502, answer.headers)
            answer.pipe(response)
            answer.on('error', () => response.destroy())
          },
        )
        let sent = false
        upstream.on('socket', (socket) => {
          // a kept-alive socket is connected already; a new one reaches the process once it connects
          if (!socket.connecting) sent = true
          else socket.once('connect', () => (sent = true))
        })
        upstream.on('error', () => {
          if (!sent && tries < backends.length) attempt(tries + 1)
          else response.destroy()
        })
        upstream.end(Buffer.concat(body))
      }
      attempt(1)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    use(count) {
      backends = all.slice(0, Math.max(1, count))
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

/** Every item of a list route (cursor paging), at most 100 pages. */
async function allPages(api: ApiClient, path: string): Promise<Body[]> {
  const items: Body[] = []
  let cursor: string | undefined
  const sep = path.includes('?') ? '&' : '?'
  for (let page = 0; page < 100; page++) {
    const body = await api.expect(
      200,
      'GET',
      `${path}${sep}limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
    )
    items.push(...body.items)
    cursor = body.nextCursor ?? undefined
    if (!cursor) break
  }
  return items
}

// ------------------------------------------------------------------------------------------ churn

export interface ChurnCounts {
  /** Creates and deletes the API acknowledged (201 / 200). */
  created: number
  deleted: number
  /** Requests cut off without an answer (the server died under them): their outcome is the API's. */
  unanswered: number
  /** Answers other than 201 / 200 (a server starting, a lock gone). */
  refused: number
}

/**
 * Codes created and deleted on random locks by `workers` clients at once, each lock kept at
 * `perLock` codes or fewer; what the API acknowledged is remembered, to be found again after a fault.
 */
export class Churn {
  readonly created = new Map<string, string>()
  readonly deleted = new Set<string>()
  /** Codes whose delete got no answer: deleted or not, as the API says. */
  readonly uncertain = new Set<string>()
  unanswered = 0
  refused = 0
  readonly #live = new Map<string, string[]>()
  #stopped = true
  #running: Promise<void>[] = []
  readonly #rig: Rig
  readonly #perLock: number

  constructor(rig: Rig, perLock = 4) {
    this.#rig = rig
    this.#perLock = perLock
  }

  counts(): ChurnCounts {
    return {
      created: this.created.size,
      deleted: this.deleted.size,
      unanswered: this.unanswered,
      refused: this.refused,
    }
  }

  /** Starts `workers` clients; each stops after `maxOps` requests or `maxMs`, or at stop(). */
  start(workers: number, { maxOps = 100_000, maxMs = 600_000 } = {}): void {
    this.#stopped = false
    const deadline = Date.now() + maxMs
    for (let w = 0; w < workers; w++) {
      this.#running.push(
        (async () => {
          for (let i = 0; i < maxOps && !this.#stopped && Date.now() < deadline; i++) await this.#step()
        })(),
      )
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true
    await Promise.all(this.#running)
    this.#running = []
  }

  async #step(): Promise<void> {
    const ids = this.#rig.lockIds
    const lockId = ids[Math.floor(Math.random() * ids.length)]!
    const live = this.#live.get(lockId) ?? []
    this.#live.set(lockId, live)
    const api = this.#rig.owner
    if (live.length >= this.#perLock) {
      const [codeId] = live.splice(Math.floor(Math.random() * live.length), 1)
      try {
        const response = await api.delete(`/api/v1/access-codes/${codeId}`)
        if (response.status === 200) this.deleted.add(codeId!)
        else {
          this.refused += 1
          live.push(codeId!)
        }
      } catch {
        this.unanswered += 1
        this.uncertain.add(codeId!)
        await sleep(100)
      }
      return
    }
    try {
      const response = await api.post(`/api/v1/locks/${lockId}/access-codes`, {
        name: `Churn ${this.created.size + 1}`,
        kind: 'permanent',
        delivery: 'synced',
      })
      if (response.status === 201) {
        this.created.set(response.body.id, lockId)
        live.push(response.body.id)
      } else this.refused += 1
    } catch {
      this.unanswered += 1
      await sleep(100)
    }
  }
}

// ------------------------------------------------------------------------------------------ checks

/** Each lock's desired table: the API's codes that are not deleted, by lock. */
export async function desiredTables(rig: Rig): Promise<Map<string, string[]>> {
  const tables = new Map<string, string[]>(rig.lockIds.map((id) => [id, []]))
  for (const code of await allPages(rig.owner, '/api/v1/access-codes')) {
    if (code.deletedAt === null && code.delivery === 'synced') tables.get(code.lockId)?.push(code.id)
  }
  for (const list of tables.values()) list.sort()
  return tables
}

interface LockView {
  codes: string[]
  lastSeq: number
  unacked: number
  lost: number
}

/** Each lock's own state, as its gateway's simulator shows it. */
export async function lockViews(rig: Rig): Promise<Map<string, LockView>> {
  const views = new Map<string, LockView>()
  for (const slot of rig.sims) {
    if (slot.process === null) continue
    const body = await slot.process.api.expect(200, 'GET', '/sim/locks')
    for (const lock of body.items) {
      views.set(lock.id, {
        codes: (lock.codes as { codeId: string }[]).map((c) => c.codeId).sort(),
        lastSeq: lock.events.lastSeq,
        unacked: lock.events.unacked,
        lost: lock.events.notYetReportedLost,
      })
    }
  }
  return views
}

/** The locks whose own table differs from the desired one. */
export function tablesApart(desired: Map<string, string[]>, views: Map<string, LockView>): string[] {
  const apart: string[] = []
  for (const [lockId, want] of desired) {
    const have = views.get(lockId)?.codes ?? null
    if (have === null || have.length !== want.length || have.some((id, i) => id !== want[i]))
      apart.push(lockId)
  }
  return apart
}

export interface Convergence {
  /** From `fromMs` to every lock's table matching the API's codes. */
  tablesMs: number
  /** From `fromMs` to that and no code waiting (`setting`, `removing`, `failed`) in the API. */
  settledMs: number
}

/**
 * Waits (polling every `intervalMs`, at most `timeoutMs`) until every lock's table is the desired
 * one and the API has no code waiting; the desired tables are read once (no churn meanwhile).
 */
/**
 * What the store holds of one lock (scale-out setup: its PostgreSQL), for the message of a round that
 * did not converge: what the reconciler knows of its table, its commands, its codes.
 */
function storeViewOf(rig: Rig, lockId: string): string {
  if (rig.postgres === null || !/^[0-9a-f-]{36}$/.test(lockId)) return ''
  const query = (text: string) =>
    execFileSync(join(PG_BIN, 'psql'), [rig.postgres!.databaseUrl, '-c', text], { encoding: 'utf8' })
  return [
    query(`select stale, report_counter, table_counter, reported_at, read_requested_at, pending,
      (select array_agg(k) from jsonb_object_keys(reported) k) as reported
      from lock_sync where lock_id = '${lockId}'`),
    query(`select type, command ->> 'codeId' as code, status, counter, sent_at, replied_at
      from lock_commands where lock_id = '${lockId}' order by counter`),
    query(`select id, status, errors, updated_at, deleted_at from access_codes
      where lock_id = '${lockId}' order by created_at`),
  ].join('\n')
}

export async function waitConverged(
  rig: Rig,
  fromMs: number,
  { timeoutMs = 120_000, intervalMs = 100 } = {},
): Promise<Convergence> {
  const desired = await eventually('the API answering', () => desiredTables(rig), { timeoutMs: 30_000 })
  let tablesMs: number | null = null
  let apart: string[] = []
  let waiting = 0
  let waitingCode = ''
  for (let attempt = 0; attempt <= timeoutMs / intervalMs; attempt++) {
    const views = await lockViews(rig).catch(() => null)
    if (views !== null) {
      apart = tablesApart(desired, views)
      if (apart.length === 0) {
        tablesMs ??= Date.now() - fromMs
        const body = await rig.owner
          .get('/api/v1/access-codes?status=setting,removing,failed&limit=1')
          .catch(() => null)
        waiting = body?.status === 200 ? body.body.items.length : 1
        if (body?.status === 200 && body.body.items.length > 0) {
          const code = body.body.items[0]
          waitingCode = `${code.id} on lock ${code.lockId}: ${code.status} ${JSON.stringify(code.errors)}`
        }
        if (waiting === 0) return { tablesMs, settledMs: Date.now() - fromMs }
      }
    }
    if (Date.now() - fromMs > timeoutMs) break
    await sleep(intervalMs)
  }
  const views = await lockViews(rig).catch(() => null)
  const firstApart = apart[0]
  const difference =
    firstApart === undefined
      ? ''
      : `; lock ${firstApart} holds ${JSON.stringify(views?.get(firstApart)?.codes ?? null)}, the API wants ${JSON.stringify(desired.get(firstApart))}`
  throw new Error(
    `not converged after ${timeoutMs} ms: ${apart.length} lock table(s) apart (${apart.slice(0, 3).join(', ')})${difference}, tables matched at ${tablesMs ?? 'never'}, codes waiting ${waiting} (${waitingCode})\n${firstApart === undefined ? '' : storeViewOf(rig, firstApart)}`,
  )
}

export interface Accounts {
  /** Acknowledged creates the API no longer has, or acknowledged deletes it still has as live. */
  lostCodes: string[]
  /** Lock events recorded by the locks (sum of their seq) and stored by the server. */
  lockEvents: number
  storedEvents: number
  /** Seqs a lock recorded that the server never stored (after every lock had them acknowledged). */
  lostEvents: number
  /** (lock, seq) stored more than once. */
  duplicatedEvents: number
  /**
   * Frames the locks refused (`lock.frame_rejected`), by reason. `frame_replayed` is a command frame
   * that reached a lock a second time (the broker's at-least-once delivery, or a server sending again
   * what was in flight when it died): the lock carried it out once and refused the copy. Any other
   * reason is a frame damaged or forged on the way.
   */
  framesRejected: Record<string, number>
}

/**
 * Counts what the churn was acknowledged against what the API holds, and every lock event against
 * the locks' own seq; waits (bounded) until no lock holds an event unacknowledged.
 */
export async function account(rig: Rig, churn: Churn): Promise<Accounts> {
  const desired = await desiredTables(rig)
  const live = new Set([...desired.values()].flat())
  const lostCodes: string[] = []
  for (const [codeId] of churn.created) {
    const wasDeleted = churn.deleted.has(codeId) || churn.uncertain.has(codeId)
    if (!wasDeleted && !live.has(codeId)) lostCodes.push(codeId)
  }
  for (const codeId of churn.deleted) if (live.has(codeId)) lostCodes.push(codeId)

  const views = await eventually(
    'every lock event acknowledged',
    async () => {
      const v = await lockViews(rig)
      return [...v.values()].every((l) => l.unacked === 0) ? v : null
    },
    { timeoutMs: 60_000, intervalMs: 250 },
  )
  const stored = new Map<string, Map<number, number>>()
  let after: string | undefined
  let storedEvents = 0
  const framesRejected: Record<string, number> = {}
  for (let page = 0; page < 10_000; page++) {
    const body = await rig.owner.expect(
      200,
      'GET',
      `/api/v1/events?order=asc&limit=500${after ? `&after=${after}` : ''}`,
    )
    for (const event of body.items) {
      if (event.type === 'lock.frame_rejected') {
        const reason = String(event.data?.reason)
        framesRejected[reason] = (framesRejected[reason] ?? 0) + 1
      }
      const seq = event.data?.lockSeq
      if (typeof seq !== 'number' || typeof event.lockId !== 'string') continue
      storedEvents += 1
      const seqs = stored.get(event.lockId) ?? new Map<number, number>()
      stored.set(event.lockId, seqs)
      seqs.set(seq, (seqs.get(seq) ?? 0) + 1)
    }
    if (!body.nextCursor) break
    after = body.nextCursor
  }
  let lockEvents = 0
  let lostEvents = 0
  let duplicatedEvents = 0
  for (const [lockId, view] of views) {
    lockEvents += view.lastSeq
    const seqs = stored.get(lockId) ?? new Map<number, number>()
    for (let seq = 1; seq <= view.lastSeq; seq++) if (!seqs.has(seq)) lostEvents += 1
    for (const n of seqs.values()) duplicatedEvents += Math.max(0, n - 1)
  }
  return { lostCodes, lockEvents, storedEvents, lostEvents, duplicatedEvents, framesRejected }
}

// ------------------------------------------------------------------------------------------ faults

export interface Fault {
  name: string
  /** Needs the scale-out setup (a PostgreSQL and a Mosquitto of the rig's own). */
  scaleOut: boolean
  /** Injects the fault, keeps it `downMs`, ends it; resolves when all is back (Date.now() then). */
  run(rig: Rig, downMs: number): Promise<number>
}

export const FAULTS: readonly Fault[] = [
  {
    name: 'kill -9 of a server process',
    scaleOut: false,
    async run(rig, downMs) {
      await rig.killServer(0)
      await sleep(downMs)
      return rig.startServer(0)
    },
  },
  {
    name: 'Mosquitto restarted',
    scaleOut: true,
    async run(rig) {
      await rig.mosquitto!.restart()
      return Date.now()
    },
  },
  {
    name: 'PostgreSQL crashed (stop -m immediate) and started',
    scaleOut: true,
    async run(rig, downMs) {
      await rig.postgres!.crash()
      await sleep(downMs)
      await rig.postgres!.start()
      return Date.now()
    },
  },
  {
    name: 'every gateway cut off the broker',
    scaleOut: false,
    async run(rig, downMs) {
      for (let g = 0; g < rig.sims.length; g++) await rig.setGatewayOnline(g, false)
      await sleep(downMs)
      for (let g = 0; g < rig.sims.length; g++) await rig.setGatewayOnline(g, true)
      return Date.now()
    },
  },
  {
    name: 'kill -9 of a gateway process',
    scaleOut: false,
    async run(rig, downMs) {
      await rig.killSim(0)
      await sleep(downMs)
      await rig.startSim(0)
      return Date.now()
    },
  },
]

export interface FaultRound extends Convergence {
  fault: string
  /** Sealed commands the server processes sent from the moment all was back until converged, by type. */
  commands: Map<string, number>
}

/**
 * One fault under churn: `churnMs` of churn, the fault injected and ended while the churn goes on,
 * the churn stopped when all is back, then the time from then until every lock's table is the one
 * the API holds and no code waits.
 */
export async function faultRound(
  rig: Rig,
  churn: Churn,
  fault: Fault,
  { workers = 3, churnMs = 3_000, downMs = 1_000, timeoutMs = 120_000 } = {},
): Promise<FaultRound> {
  churn.start(workers, { maxMs: churnMs + downMs + 60_000 })
  await sleep(churnMs)
  const back = await fault.run(rig, downMs)
  const before = await rig.commandsSent()
  await churn.stop()
  const converged = await waitConverged(rig, back, { timeoutMs })
  const commands = new Map<string, number>()
  for (const [type, count] of await rig.commandsSent()) {
    const since = count - (before.get(type) ?? 0)
    if (since > 0) commands.set(type, since)
  }
  return { fault: fault.name, ...converged, commands }
}
