/**
 * Start and memory of `latchkey serve` (SPEC §15: compiled JavaScript, no TypeScript loader): time
 * from spawning the process to "Latchkey is running at" (migrations applied, HTTP and the embedded
 * broker listening), on a new and on an existing data directory, and its resident memory 3 s after
 * (steady) and at its highest (VmHWM). The floor is a bare PGlite opening the same directory in a
 * process of its own and answering `select 1`. The same start through the TypeScript loader (tsx)
 * is shown beside it, for what compiling saves. Each figure is the median of RUNS starts.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { defineSuite, formatNumber, median } from './lib.ts'

const RUNS = 5
const STEADY_AFTER_MS = 3_000
const START_TIMEOUT_MS = 60_000
const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)))
const BIN = join(ROOT, 'packages/cli/bin/latchkey.js')

interface Start {
  readyMs: number
  steadyRssMb: number
  peakRssMb: number
}

/** VmRSS and VmHWM of a process, in MB. */
function memoryOf(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = (field: string) =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN)
  return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 }
}

/** Spawns `args`, waits for `readyLine` on its output, measures, then stops it with SIGTERM. */
async function timeStart(args: string[], readyLine: RegExp): Promise<Start> {
  const started = performance.now()
  const child: ChildProcess = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, LATCHKEY_MASTER_KEY: undefined, DATABASE_URL: undefined, MQTT_URL: undefined },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  try {
    const readyMs = await new Promise<number>((resolveReady, reject) => {
      let out = ''
      const timer = setTimeout(
        () => reject(new Error(`no ready line in ${START_TIMEOUT_MS} ms:\n${out}`)),
        START_TIMEOUT_MS,
      )
      const onData = (d: Buffer) => {
        out += d
        if (readyLine.test(out)) {
          clearTimeout(timer)
          resolveReady(performance.now() - started)
        }
      }
      child.stdout!.on('data', onData)
      child.stderr!.on('data', onData)
      child.once('exit', (code) => {
        clearTimeout(timer)
        reject(new Error(`exited with ${code} before it was ready:\n${out}`))
      })
    })
    await new Promise((r) => setTimeout(r, STEADY_AFTER_MS))
    const memory = memoryOf(child.pid!)
    return { readyMs, steadyRssMb: memory.rss, peakRssMb: memory.hwm }
  } finally {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r))
      child.kill('SIGTERM')
      await exited
    }
  }
}

const SERVE_READY = /Latchkey is running at/
const serveArgs = (dir: string) => ['serve', '--port', '0', '--mqtt-port', '0', '--data-dir', dir]
const PGLITE_PROGRAM = `
const { PGlite } = await import('@electric-sql/pglite')
const db = new PGlite(process.argv[1])
await db.query('select 1')
console.log('pglite ready')
setInterval(() => {}, 1000)
`

async function medianOf(label: string, run: () => Promise<Start>): Promise<Start & { label: string }> {
  const starts: Start[] = []
  for (let i = 0; i < RUNS; i++) starts.push(await run())
  return {
    label,
    readyMs: median(starts.map((s) => s.readyMs)),
    steadyRssMb: median(starts.map((s) => s.steadyRssMb)),
    peakRssMb: median(starts.map((s) => s.peakRssMb)),
  }
}

export default defineSuite({
  name: 'start',
  async run() {
    const dirs: string[] = []
    const freshDir = () => {
      const dir = mkdtempSync(join(tmpdir(), 'latchkey-start-bench-'))
      dirs.push(dir)
      return dir
    }
    try {
      const existing = freshDir()
      const created = await medianOf('new data directory', () =>
        timeStart([BIN, ...serveArgs(freshDir())], SERVE_READY),
      )
      await timeStart([BIN, ...serveArgs(existing)], SERVE_READY)
      const reopened = await medianOf('existing data directory', () =>
        timeStart([BIN, ...serveArgs(existing)], SERVE_READY),
      )
      const throughTsx = await medianOf('existing data directory, through tsx', () =>
        timeStart(
          ['--import', 'tsx', join(ROOT, 'packages/cli/src/main.ts'), ...serveArgs(existing)],
          SERVE_READY,
        ),
      )
      const pglite = await medianOf('floor: bare PGlite on the same directory', () =>
        timeStart(
          ['--input-type=module', '--eval', PGLITE_PROGRAM, join(existing, 'pglite')],
          /pglite ready/,
        ),
      )
      const rows = [created, reopened, throughTsx, pglite].flatMap((s) => [
        { name: `${s.label}: time to ready`, value: formatNumber(s.readyMs), unit: 'ms' },
        {
          name: `${s.label}: RSS steady / peak`,
          value: `${formatNumber(s.steadyRssMb)} / ${formatNumber(s.peakRssMb)}`,
          unit: 'MB',
        },
      ])
      rows.push(
        {
          name: 'existing directory: ready as a ratio to the bare PGlite',
          value: formatNumber(reopened.readyMs / pglite.readyMs),
          unit: '× floor',
        },
        {
          name: 'existing directory: steady RSS above the bare PGlite',
          value: formatNumber(reopened.steadyRssMb - pglite.steadyRssMb),
          unit: 'MB',
        },
      )
      return rows
    } finally {
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
    }
  },
})
