import { ApiClient, type SimProcess } from './harness.ts'
export interface RigOptions {
  locks: number
  gateways: number
  /** More of the server's environment (DATABASE_URL and MQTT_URL for PostgreSQL and Mosquitto). */
  env?: Record<string, string>
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
  readonly url: string
  readonly owner: ApiClient
  readonly lockIds: readonly string[]
  readonly sims: readonly SimSlot[]
  /** Which sim holds a lock (index into `sims`). */
  simOf(lockId: string): number
  /** SIGKILL of the server process: gone at once, mid-request. */
  killServer(): Promise<void>
  /** Ctrl-C: the server stops in order. */
  stopServer(): Promise<void>
  /** The server again, on the same data directory and ports; resolves at its ready line (Date.now()). */
  startServer(): Promise<number>
  killSim(index: number): Promise<void>
  startSim(index: number): Promise<void>
  /** Output of the server and the sims (for a failing test's message). */
  output(): string
  close(): Promise<void>
}
export declare function startRig(options: RigOptions): Promise<Rig>
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
export declare class Churn {
  #private
  readonly created: Map<string, string>
  readonly deleted: Set<string>
  /** Codes whose delete got no answer: deleted or not, as the API says. */
  readonly uncertain: Set<string>
  unanswered: number
  refused: number
  constructor(rig: Rig, perLock?: number)
  counts(): ChurnCounts
  /** Starts `workers` clients; each stops after `maxOps` requests or `maxMs`, or at stop(). */
  start(
    workers: number,
    {
      maxOps,
      maxMs,
    }?: {
      maxMs?: number | undefined
      maxOps?: number | undefined
    },
  ): void
  stop(): Promise<void>
}
/** Each lock's desired table: the API's codes that are not deleted, by lock. */
export declare function desiredTables(rig: Rig): Promise<Map<string, string[]>>
interface LockView {
  codes: string[]
  lastSeq: number
  unacked: number
  lost: number
}
/** Each lock's own state, as its gateway's simulator shows it. */
export declare function lockViews(rig: Rig): Promise<Map<string, LockView>>
/** The locks whose own table differs from the desired one. */
export declare function tablesApart(desired: Map<string, string[]>, views: Map<string, LockView>): string[]
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
export declare function waitConverged(
  rig: Rig,
  fromMs: number,
  {
    timeoutMs,
    intervalMs,
  }?: {
    intervalMs?: number | undefined
    timeoutMs?: number | undefined
  },
): Promise<Convergence>
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
}
/**
 * Counts what the churn was acknowledged against what the API holds, and every lock event against
 * the locks' own seq; waits (bounded) until no lock holds an event unacknowledged.
 */
export declare function account(rig: Rig, churn: Churn): Promise<Accounts>
