/**
 * End-to-end harness: the real server (`startServer`) and `latchkey sim` as a separate process,
 * talking over a real broker and HTTP on loopback.
 * - default (`npm test`): PGlite in a temporary data directory and the embedded broker;
 * - LATCHKEY_TEST_SERVICES=1 (`npm run test:services`): a fresh database on the PostgreSQL server
 *   (openTestStore) and a private Mosquitto with dynamic security (MQTT_URL with its admin login).
 * Everything waits with `eventually()`, bounded in attempts and time.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Clock } from '@latchkey/core'
import { freeUdpPort } from '@latchkey/matter'
import { type RunningServer, startServer } from '@latchkey/server'

/** The bearer `/metrics` of the servers this harness starts answer to. */
export const E2E_METRICS_TOKEN = 'e2e-metrics-token'

import {
  type PrivateMosquitto,
  startPrivateMosquitto,
} from '../packages/server/src/broker/private-mosquitto.ts'
import {
  makeTestDataDir,
  openTestStore,
  type TestStore,
  usingTestServices,
} from '../packages/server/src/testing.ts'

const here = dirname(fileURLToPath(import.meta.url))
export const REPO_ROOT = resolve(here, '..')
const LATCHKEY_BIN = join(REPO_ROOT, 'packages/cli/bin/latchkey.js')

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/**
 * Calls `check` until it returns a value other than undefined/null/false (or stops throwing), every
 * `intervalMs`, at most `timeoutMs` in all; then fails with the last error or `what`.
 */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  { timeoutMs = 20_000, intervalMs = 100 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let lastError: unknown
  for (let attempt = 0; attempt <= Math.ceil(timeoutMs / intervalMs); attempt++) {
    try {
      const value = await check()
      if (value !== undefined && value !== null && value !== false) return value
      lastError = undefined
    } catch (error) {
      lastError = error
    }
    if (Date.now() >= deadline) break
    await sleep(intervalMs)
  }
  const reason = lastError instanceof Error ? `: ${lastError.message}` : ''
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${reason}`)
}

/** A self-signed certificate for 127.0.0.1 and localhost, valid two days (Debian's openssl). */
export function selfSignedCertificate(certFile: string, keyFile: string): void {
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      keyFile,
      '-out',
      certFile,
      '-days',
      '2',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
    ],
    { stdio: 'ignore' },
  )
}

// ---------------------------------------------------------------- HTTP

/** A JSON body of the API under test: the tests check its shape with their assertions. */
// biome-ignore lint/suspicious/noExplicitAny: bodies are checked by the tests' assertions
export type Body = any

export interface ApiResponse<T = Body> {
  status: number
  body: T
  headers: Headers
}

/** A small JSON client of the API (and of the simulator's control API). */
export class ApiClient {
  readonly base: string
  readonly token: string | null

  constructor(base: string, token: string | null = null) {
    this.base = base.replace(/\/$/, '')
    this.token = token
  }

  withToken(token: string): ApiClient {
    return new ApiClient(this.base, token)
  }

  async request<T = Body>(method: string, path: string, body?: unknown): Promise<ApiResponse<T>> {
    const headers: Record<string, string> = { accept: 'application/json' }
    if (this.token !== null) headers.authorization = `Bearer ${this.token}`
    if (body !== undefined) headers['content-type'] = 'application/json'
    const response = await fetch(`${this.base}${path}`, {
      method,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(15_000),
    })
    const text = await response.text()
    let parsed: unknown = text
    try {
      parsed = text === '' ? null : JSON.parse(text)
    } catch {
      // not JSON (CSV, text)
    }
    return { status: response.status, body: parsed as T, headers: response.headers }
  }

  get = <T = Body>(path: string) => this.request<T>('GET', path)
  post = <T = Body>(path: string, body?: unknown) => this.request<T>('POST', path, body)
  patch = <T = Body>(path: string, body?: unknown) => this.request<T>('PATCH', path, body)
  delete = <T = Body>(path: string) => this.request<T>('DELETE', path)

  /** The body of a call that must answer `status`. */
  async expect<T = Body>(status: number, method: string, path: string, body?: unknown): Promise<T> {
    const response = await this.request<T>(method, path, body)
    if (response.status !== status) {
      throw new Error(
        `${method} ${path}: expected ${status}, got ${response.status} ${JSON.stringify(response.body)}`,
      )
    }
    return response.body
  }
}

// ---------------------------------------------------------------- server

export interface TestServer {
  readonly kind: 'embedded' | 'services'
  readonly server: RunningServer
  readonly url: string
  readonly api: ApiClient
  /** The server's own Mosquitto (with the services), which a test may restart; null on the embedded broker. */
  readonly mosquitto: PrivateMosquitto | null
  /** Signs up a new organization; the client acts as its owner. */
  signup(): Promise<{ api: ApiClient; userId: string; organizationId: string }>
  close(): Promise<void>
}

let signups = 0

/** `clock`: a simulated clock for the server (move the locks' clocks with it through the sim API). */
export async function startTestServer(
  /** `databaseUrl`: a database of the test's own (with the services), instead of a per-run one. */
  options: { clock?: Clock; env?: Record<string, string>; databaseUrl?: string } = {},
): Promise<TestServer> {
  const services = usingTestServices()
  const dataDir = services ? mkdtempSync(join(tmpdir(), 'latchkey-e2e-')) : await makeTestDataDir()
  let store: TestStore | null = null
  let mosquitto: PrivateMosquitto | null = null
  const cleanup = async () => {
    await mosquitto?.stop()
    await store?.close()
    rmSync(dataDir, { recursive: true, force: true })
  }
  try {
    let databaseUrl: string | undefined
    let mqttUrl: string | undefined
    if (services) {
      if (options.databaseUrl === undefined) {
        store = await openTestStore({ services: true })
        databaseUrl = store.databaseUrl ?? undefined
      } else databaseUrl = options.databaseUrl
      mosquitto = await startPrivateMosquitto()
      const login = `${encodeURIComponent(mosquitto.admin.username)}:${encodeURIComponent(mosquitto.admin.password)}`
      mqttUrl = `mqtt://${login}@${mosquitto.host}:${mosquitto.port}`
    }
    const server = await startServer({
      port: 0,
      host: '127.0.0.1',
      dataDir,
      databaseUrl,
      mqttUrl,
      mqttPort: 0,
      // errors only (a 500's cause, a message that could not be handled), on the test's output
      logger: true,
      ...(options.clock === undefined ? {} : { clock: options.clock }),
      env: {
        LOG_LEVEL: 'error',
        LATCHKEY_MASTER_KEY: randomBytes(32).toString('base64'),
        LATCHKEY_METRICS_TOKEN: E2E_METRICS_TOKEN,
        // suites sign up several organizations on one server
        LATCHKEY_SIGNUP: 'open',
        ...(options.env ?? {}),
      },
    })
    const api = new ApiClient(server.url)
    return {
      kind: services ? 'services' : 'embedded',
      server,
      url: server.url,
      api,
      mosquitto,
      async signup() {
        signups += 1
        const body = await api.expect(201, 'POST', '/api/v1/auth/signup', {
          email: `e2e${signups}-${process.pid}@example.test`,
          password: 'correct horse battery',
          organizationName: `E2E ${signups}`,
        })
        return { api: api.withToken(body.token), userId: body.userId, organizationId: body.organizationId }
      },
      async close() {
        await server.close()
        await cleanup()
      },
    }
  } catch (error) {
    await cleanup()
    throw error
  }
}

// ---------------------------------------------------------------- `latchkey sim` in its own process

export interface SimProcess {
  /** `http://127.0.0.1:port` of its control API (the routes are under /sim). */
  readonly controlUrl: string
  readonly api: ApiClient
  readonly stateDir: string
  /** Its output so far (for a failing test's message). */
  output(): string
  /** Ctrl-C: it says goodbye to the broker and exits. */
  stop(): Promise<void>
  /** SIGKILL: gone at once, as a crash or a power cut. */
  kill(): Promise<void>
  /** SIGSTOP / SIGCONT: it stops answering anything, as a lock that hangs, then goes on. */
  pause(): void
  resume(): void
}

export interface StartSimOptions {
  serverUrl: string
  gatewayId: string
  gatewayToken: string
  stateDir: string
  startTimeoutMs?: number
  /** More of its environment (LATCHKEY_MQTT_CA). */
  env?: Record<string, string>
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => child.once('exit', () => resolve()))
}

/**
 * `latchkey <args>` as a process of its own, up once its output shows the control API (`ready`'s
 * first group); stopped with a signal, then SIGKILL if it has not exited within `stopGraceMs`.
 */
export async function startLatchkeyProcess(options: {
  args: string[]
  env?: Record<string, string>
  ready: RegExp
  stateDir: string
  startTimeoutMs?: number
  stopGraceMs: number
}): Promise<SimProcess> {
  const child = spawn(process.execPath, [LATCHKEY_BIN, ...options.args], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const name = `latchkey ${options.args[0]}`
  let output = ''
  const append = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-20_000)
  }
  child.stdout?.on('data', append)
  child.stderr?.on('data', append)
  const stopWith = async (signal: NodeJS.Signals) => {
    if (child.exitCode !== null || child.signalCode !== null) return
    child.kill(signal)
    const done = await Promise.race([
      exited(child).then(() => true),
      sleep(options.stopGraceMs).then(() => false),
    ])
    if (!done) {
      child.kill('SIGKILL')
      await exited(child)
    }
  }
  try {
    const controlUrl = await eventually(
      `${name} to print its control API`,
      () => {
        if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}:\n${output}`)
        return options.ready.exec(output)?.[1]
      },
      { timeoutMs: options.startTimeoutMs ?? 30_000, intervalMs: 50 },
    )
    return {
      controlUrl,
      api: new ApiClient(controlUrl),
      stateDir: options.stateDir,
      output: () => output,
      stop: () => stopWith('SIGINT'),
      kill: () => stopWith('SIGKILL'),
      pause: () => child.kill('SIGSTOP'),
      resume: () => child.kill('SIGCONT'),
    }
  } catch (error) {
    await stopWith('SIGKILL')
    throw error
  }
}

export function startSim(options: StartSimOptions): Promise<SimProcess> {
  return startLatchkeyProcess({
    args: [
      'sim',
      '--server',
      options.serverUrl,
      '--gateway-id',
      options.gatewayId,
      '--control-port',
      '0',
      '--state-dir',
      options.stateDir,
    ],
    // the token through the environment, not the command line other users can read
    env: { ...options.env, LATCHKEY_GATEWAY_TOKEN: options.gatewayToken },
    ready: /control API (http:\/\/\S+)\/sim/,
    stateDir: options.stateDir,
    ...(options.startTimeoutMs === undefined ? {} : { startTimeoutMs: options.startTimeoutMs }),
    stopGraceMs: 15_000,
  })
}

// ---------------------------------------------------------- `latchkey sim-matter` in its own process

export interface SimMatterProcess extends SimProcess {
  /** The lock's Matter address, `127.0.0.1:port`. */
  readonly address: string
  readonly port: number
  readonly passcode: number
  readonly discriminator: number
}

/** A free TCP port on loopback, asked of the system (for a process that must come back on it). */
export async function freeTcpPort(): Promise<number> {
  const { createServer } = await import('node:net')
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  const address = server.address()
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return typeof address === 'object' && address !== null ? address.port : 0
}

export async function startSimMatter(options: {
  stateDir: string
  passcode: number
  discriminator: number
  port?: number
}): Promise<SimMatterProcess> {
  const port = options.port ?? (await freeUdpPort())
  const running = await startLatchkeyProcess({
    args: [
      'sim-matter',
      '--port',
      String(port),
      '--passcode',
      String(options.passcode),
      '--discriminator',
      String(options.discriminator),
      '--state-dir',
      options.stateDir,
    ],
    ready: /control API (http:\/\/\S+)\/sim\/lock/,
    stateDir: options.stateDir,
    stopGraceMs: 20_000,
  })
  return {
    ...running,
    address: `127.0.0.1:${port}`,
    port,
    passcode: options.passcode,
    discriminator: options.discriminator,
  }
}

/** `POST /locks` commissioning this `sim-matter` lock as `name`; resolves once it is online. */
export async function commissionSimMatter(
  api: ApiClient,
  sim: SimMatterProcess,
  name: string,
): Promise<Body> {
  const lock = await api.expect(201, 'POST', '/api/v1/locks', {
    name,
    timezone: 'UTC',
    driver: 'matter',
    matter: { passcode: sim.passcode, discriminator: sim.discriminator, address: sim.address },
  })
  await eventually(
    'the lock online',
    async () => (await api.expect(200, 'GET', `/api/v1/locks/${lock.id}`)).online,
  )
  return lock
}
