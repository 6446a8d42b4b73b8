import type { Clock } from '@latchkey/core'
import { type RunningServer } from '@latchkey/server'
/** The bearer `/metrics` of the servers this harness starts answer to. */
export declare const E2E_METRICS_TOKEN = 'e2e-metrics-token'
export declare const REPO_ROOT: string
export declare const sleep: (ms: number) => Promise<unknown>
/**
 * Calls `check` until it returns a value other than undefined/null/false (or stops throwing), every
 * `intervalMs`, at most `timeoutMs` in all; then fails with the last error or `what`.
 */
export declare function eventually<T>(
  what: string,
  check: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  {
    timeoutMs,
    intervalMs,
  }?: {
    timeoutMs?: number
    intervalMs?: number
  },
): Promise<T>
/** A self-signed certificate for 127.0.0.1 and localhost, valid two days (Debian's openssl). */
export declare function selfSignedCertificate(certFile: string, keyFile: string): void
/** A JSON body of the API under test: the tests check its shape with their assertions. */
export type Body = any
export interface ApiResponse<T = Body> {
  status: number
  body: T
  headers: Headers
}
/** A small JSON client of the API (and of the simulator's control API). */
export declare class ApiClient {
  readonly base: string
  readonly token: string | null
  constructor(base: string, token?: string | null)
  withToken(token: string): ApiClient
  request<T = Body>(method: string, path: string, body?: unknown): Promise<ApiResponse<T>>
  get: <T = Body>(path: string) => Promise<ApiResponse<T>>
  post: <T = Body>(path: string, body?: unknown) => Promise<ApiResponse<T>>
  patch: <T = Body>(path: string, body?: unknown) => Promise<ApiResponse<T>>
  delete: <T = Body>(path: string) => Promise<ApiResponse<T>>
  /** The body of a call that must answer `status`. */
  expect<T = Body>(status: number, method: string, path: string, body?: unknown): Promise<T>
}
export interface TestServer {
  readonly kind: 'embedded' | 'services'
  readonly server: RunningServer
  readonly url: string
  readonly api: ApiClient
  /** Signs up a new organization; the client acts as its owner. */
  signup(): Promise<{
    api: ApiClient
    userId: string
    organizationId: string
  }>
  close(): Promise<void>
}
/** `clock`: a simulated clock for the server (move the locks' clocks with it through the sim API). */
export declare function startTestServer(options?: {
  clock?: Clock
  env?: Record<string, string>
}): Promise<TestServer>
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
/**
 * `latchkey <args>` as a process of its own, up once its output shows the control API (`ready`'s
 * first group); stopped with a signal, then SIGKILL if it has not exited within `stopGraceMs`.
 */
export declare function startLatchkeyProcess(options: {
  args: string[]
  env?: Record<string, string>
  ready: RegExp
  stateDir: string
  startTimeoutMs?: number
  stopGraceMs: number
}): Promise<SimProcess>
export declare function startSim(options: StartSimOptions): Promise<SimProcess>
export interface SimMatterProcess extends SimProcess {
  /** The lock's Matter address, `127.0.0.1:port`. */
  readonly address: string
  readonly port: number
  readonly passcode: number
  readonly discriminator: number
}
/** A free TCP port on loopback, asked of the system (for a process that must come back on it). */
export declare function freeTcpPort(): Promise<number>
export declare function startSimMatter(options: {
  stateDir: string
  passcode: number
  discriminator: number
  port?: number
}): Promise<SimMatterProcess>
