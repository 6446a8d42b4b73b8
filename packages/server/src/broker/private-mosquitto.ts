/**
 * For tests against a real broker: a private Mosquitto 2.0 process on a free loopback port, with
 * its dynamic-security plugin, persistence and an admin client, in a temporary directory. It never
 * touches a Mosquitto already running (on 1883 or elsewhere). `restart()` stops it (Mosquitto saves
 * its sessions) and starts it again on the same port and files.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createConnection, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { LatchkeyError } from '@latchkey/core'

const run = promisify(execFile)

export const DYNSEC_PLUGIN = '/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so'

export interface PrivateMosquittoOptions {
  /** Path of the broker binary (default `mosquitto`, i.e. /usr/sbin/mosquitto on Debian). */
  binary?: string
  plugin?: string
  /** How long to wait for the broker to accept connections. */
  startTimeoutMs?: number
  /** Listen with TLS (`mqtts://`) with this certificate and key (PEM files). */
  tls?: { certFile: string; keyFile: string }
}

export interface PrivateMosquitto {
  readonly url: string
  readonly host: string
  readonly port: number
  /** The dynamic-security admin (may only use `$CONTROL/dynamic-security/#` and `$SYS`). */
  readonly admin: { username: string; password: string }
  readonly dir: string
  /** The broker's output so far (for a failing test's message). */
  log(): string
  /** Stops the broker process (it saves its persistent sessions); its files stay. */
  shutdown(): Promise<void>
  /** Starts the broker again on the same port and files (after shutdown). */
  start(): Promise<void>
  /** shutdown() then start(). */
  restart(): Promise<void>
  /** Stops the broker and removes its directory. */
  stop(): Promise<void>
}

function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen({ host, port: 0 }, () => {
      const address = server.address()
      const port = typeof address === 'object' && address ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port })
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.once('connect', () => done(true))
    socket.once('error', () => done(false))
    socket.setTimeout(1000, () => done(false))
  })
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => child.once('exit', () => resolve()))
}

export async function startPrivateMosquitto(
  options: PrivateMosquittoOptions = {},
): Promise<PrivateMosquitto> {
  const host = '127.0.0.1'
  // Debian installs the broker in /usr/sbin, which is not on every PATH.
  const binary = options.binary ?? (existsSync('/usr/sbin/mosquitto') ? '/usr/sbin/mosquitto' : 'mosquitto')
  const startTimeoutMs = options.startTimeoutMs ?? 15_000
  const dir = await mkdtemp(join(tmpdir(), 'latchkey-mosquitto-'))
  const admin = { username: 'latchkey-admin', password: randomBytes(18).toString('base64url') }
  const dynsecFile = join(dir, 'dynsec.json')
  await run('mosquitto_ctrl', ['dynsec', 'init', dynsecFile, admin.username, admin.password])
  const port = await freePort(host)
  const runningAsRoot = typeof process.getuid === 'function' && process.getuid() === 0
  const config = [
    `listener ${port} ${host}`,
    ...(options.tls ? [`certfile ${options.tls.certFile}`, `keyfile ${options.tls.keyFile}`] : []),
    'allow_anonymous false',
    `plugin ${options.plugin ?? DYNSEC_PLUGIN}`,
    `plugin_opt_config_file ${dynsecFile}`,
    'max_queued_messages 10000',
    'persistence true',
    `persistence_location ${dir}/`,
    'log_dest stdout',
    'log_type error',
    'log_type warning',
    'log_type notice',
    // Started as root, Mosquitto would switch to the `mosquitto` user, who cannot read this directory.
    ...(runningAsRoot ? ['user root'] : []),
  ].join('\n')
  const configFile = join(dir, 'mosquitto.conf')
  await writeFile(configFile, `${config}\n`, { mode: 0o600 })

  let output = ''
  let child: ChildProcess | null = null

  async function start(): Promise<void> {
    const proc = spawn(binary, ['-c', configFile], { stdio: ['ignore', 'pipe', 'pipe'] })
    child = proc
    const append = (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-20_000)
    }
    proc.stdout?.on('data', append)
    proc.stderr?.on('data', append)
    let spawnError: Error | null = null
    proc.once('error', (error) => {
      spawnError = error
    })
    const deadline = Date.now() + startTimeoutMs
    while (Date.now() < deadline) {
      if (spawnError || proc.exitCode !== null || proc.signalCode !== null) break
      if (await canConnect(host, port)) return
      await sleep(50)
    }
    proc.kill('SIGKILL')
    await exited(proc)
    throw new LatchkeyError(
      'service_unavailable',
      `private Mosquitto did not start on ${host}:${port}: ${spawnError ?? ''}\n${output}`,
    )
  }

  async function halt(): Promise<void> {
    const proc = child
    if (!proc) return
    child = null
    if (proc.exitCode !== null || proc.signalCode !== null) return
    proc.kill('SIGTERM')
    const stopped = await Promise.race([exited(proc).then(() => true), sleep(10_000).then(() => false)])
    if (!stopped) {
      proc.kill('SIGKILL')
      await exited(proc)
    }
  }

  await start()
  return {
    url: `${options.tls ? 'mqtts' : 'mqtt'}://${host}:${port}`,
    host,
    port,
    admin,
    dir,
    log: () => output,
    shutdown: halt,
    async start() {
      if (!child) await start()
    },
    async restart() {
      await halt()
      await start()
    },
    async stop() {
      await halt()
      await rm(dir, { recursive: true, force: true })
    },
  }
}
