/**
 * A small benchmark helper shared by every `bench/*.bench.ts`: warm-up, then timed batches bounded
 * in count and in time, reported as the median nanoseconds per operation over the batches.
 */
import { readFileSync } from 'node:fs'
import { availableParallelism, cpus } from 'node:os'

export interface MeasureOptions {
  /** Run the operation this long before measuring (JIT warm-up). Default 200 ms. */
  warmupMs?: number
  /** A batch runs the operation enough times to last at least this long. Default 10 ms. */
  minBatchMs?: number
  /** At most this many batches. Default 40. */
  maxSamples?: number
  /** Stop sampling after this long (at least one batch is always taken). Default 2 s. */
  maxTimeMs?: number
}

export interface Measurement {
  name: string
  /** Median over the batches of (batch time / batch size). */
  medianNs: number
  minNs: number
  maxNs: number
  samples: number
  iterations: number
}

/** Results land here so the optimiser cannot drop the measured work. */
export let sink: unknown

const MAX_BATCH = 1 << 24
const MAX_WARMUP_ITERATIONS = 10_000_000

const nowNs = () => process.hrtime.bigint()

function runBatch(fn: (i: number) => unknown, size: number, offset: number): number {
  const start = nowNs()
  for (let i = 0; i < size; i++) sink = fn(offset + i)
  return Number(nowNs() - start)
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

interface Prepared {
  name: string
  fn: (i: number) => unknown
  size: number
  index: number
  perOp: number[]
}

function prepare(name: string, fn: (i: number) => unknown, options: MeasureOptions): Prepared {
  const warmupNs = (options.warmupMs ?? 200) * 1e6
  const minBatchNs = (options.minBatchMs ?? 10) * 1e6
  let index = 0
  const warmupStart = nowNs()
  while (index < MAX_WARMUP_ITERATIONS && Number(nowNs() - warmupStart) < warmupNs) sink = fn(index++)
  let size = 1
  while (size < MAX_BATCH && runBatch(fn, size, index) < minBatchNs) {
    index += size
    size *= 2
  }
  return { name, fn, size, index: index + size, perOp: [] }
}

function sample(p: Prepared, maxSamples: number, maxTimeNs: number): void {
  const start = nowNs()
  for (let taken = 0; taken < maxSamples && (taken === 0 || Number(nowNs() - start) < maxTimeNs); taken++) {
    p.perOp.push(runBatch(p.fn, p.size, p.index) / p.size)
    p.index += p.size
  }
}

function result(p: Prepared): Measurement {
  return {
    name: p.name,
    medianNs: median(p.perOp),
    minNs: Math.min(...p.perOp),
    maxNs: Math.max(...p.perOp),
    samples: p.perOp.length,
    iterations: p.perOp.length * p.size,
  }
}

/** Times `fn` (called with an increasing index, handy to cycle through prepared inputs). */
export function measure(name: string, fn: (i: number) => unknown, options: MeasureOptions = {}): Measurement {
  const p = prepare(name, fn, options)
  sample(p, options.maxSamples ?? 40, (options.maxTimeMs ?? 2000) * 1e6)
  return result(p)
}

/**
 * Times several operations in alternating rounds, so that a machine shared with other work slows
 * them all alike and their ratios stay meaningful. Budgets (samples, time) are per operation.
 */
export function measureTogether(
  cases: readonly { name: string; fn: (i: number) => unknown }[],
  options: MeasureOptions & { rounds?: number } = {},
): Measurement[] {
  const rounds = Math.max(1, options.rounds ?? 8)
  const prepared = cases.map((c) => prepare(c.name, c.fn, options))
  const samplesPerRound = Math.max(1, Math.ceil((options.maxSamples ?? 40) / rounds))
  const timePerRoundNs = ((options.maxTimeMs ?? 2000) * 1e6) / rounds
  for (let round = 0; round < rounds; round++)
    for (const p of prepared) sample(p, samplesPerRound, timePerRoundNs)
  return prepared.map(result)
}

/** One line of the report. */
export interface BenchRow {
  name: string
  value: string
  unit: string
  note?: string
}

export interface BenchSuite {
  name: string
  run(): BenchRow[] | Promise<BenchRow[]>
}

export function defineSuite(suite: BenchSuite): BenchSuite {
  return suite
}

export function formatNumber(value: number, digits = 3): string {
  if (!Number.isFinite(value)) return String(value)
  if (value !== 0 && Math.abs(value) < 10 ** -(digits - 1)) return value.toExponential(digits - 1)
  return Number(value.toPrecision(digits)).toLocaleString('en-US', { maximumFractionDigits: digits })
}

/** A time row: median ns/op, with the spread and sample count as a note. */
export function timeRow(m: Measurement, note?: string): BenchRow {
  const spread = `min ${formatNumber(m.minNs)} / max ${formatNumber(m.maxNs)} ns, ${m.samples} batches, ${m.iterations.toLocaleString('en-US')} ops`
  return {
    name: m.name,
    value: formatNumber(m.medianNs),
    unit: 'ns/op (median)',
    note: note ? `${note}; ${spread}` : spread,
  }
}

export interface MachineInfo {
  nproc: number
  cpu: string
  node: string
  platform: string
}

export function machineInfo(): MachineInfo {
  let cpu = cpus()[0]?.model ?? 'unknown'
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('model name'))
    if (line) cpu = line.split(':').slice(1).join(':').trim()
  } catch {
    // not Linux: keep os.cpus()
  }
  return {
    nproc: availableParallelism(),
    cpu,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
  }
}

/** A Markdown table (pipes in cells escaped). */
export function formatTable(rows: readonly (BenchRow & { suite: string })[]): string {
  const cell = (s: string) => s.replaceAll('|', '\\|')
  const lines = ['| suite | measurement | value | unit | note |', '|---|---|---:|---|---|']
  for (const r of rows)
    lines.push(
      `| ${cell(r.suite)} | ${cell(r.name)} | ${cell(r.value)} | ${cell(r.unit)} | ${cell(r.note ?? '')} |`,
    )
  return lines.join('\n')
}
