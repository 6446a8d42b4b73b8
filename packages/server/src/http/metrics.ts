/**
 * A small Prometheus registry (text exposition format 0.0.4): counters, gauges and histograms
 * with labels. Other parts of the server register their own metrics on `app.metrics`; a gauge read
 * from the store (`storeGauge`) is read at each scrape (`scrape()`).
 */
import type { FastifyInstance } from 'fastify'

type Labels = Record<string, string>

interface Metric {
  readonly name: string
  render(): string[]
}

export class MetricsRegistry {
  readonly #metrics = new Map<string, Metric>()
  readonly #readers = new Map<string, () => Promise<void>>()

  /** A counter; asked again under the same name (a part started anew), the same counter. */
  counter(name: string, help: string): Counter {
    const existing = this.#metrics.get(name)
    if (existing instanceof Counter) return existing
    return this.#add(new Counter(name, help))
  }

  /** A gauge; with `collect` its value is read at each scrape. */
  gauge(name: string, help: string, collect?: () => number): Gauge {
    return this.#add(new Gauge(name, help, collect))
  }

  histogram(name: string, help: string, buckets: number[]): Histogram {
    return this.#add(new Histogram(name, help, buckets))
  }

  /**
   * A gauge whose labelled values are read (from the store) at each scrape; asked again under the
   * same name, the new reader replaces the old one.
   */
  storeGauge(
    name: string,
    help: string,
    read: () => Promise<Array<{ labels?: Labels; value: number }>>,
  ): void {
    const existing = this.#metrics.get(name)
    const gauge = existing instanceof Gauge ? existing : this.#add(new Gauge(name, help))
    this.#readers.set(name, async () => gauge.replace(await read()))
  }

  /** Reads every store gauge, then renders; a reader that fails leaves its gauge as it was. */
  async scrape(): Promise<string> {
    await Promise.all([...this.#readers.values()].map((read) => read().catch(() => {})))
    return this.render()
  }

  render(): string {
    return `${[...this.#metrics.values()].flatMap((metric) => metric.render()).join('\n')}\n`
  }

  #add<T extends Metric>(metric: T): T {
    if (this.#metrics.has(metric.name)) throw new Error(`metric ${metric.name} is already registered`)
    this.#metrics.set(metric.name, metric)
    return metric
  }
}

class LabelledValues {
  readonly values = new Map<string, { labels: Labels; value: number }>()

  add(labels: Labels, by: number): void {
    const key = labelKey(labels)
    const entry = this.values.get(key)
    if (entry === undefined) this.values.set(key, { labels, value: by })
    else entry.value += by
  }

  set(labels: Labels, value: number): void {
    this.values.set(labelKey(labels), { labels, value })
  }
}

export class Counter implements Metric {
  readonly #values = new LabelledValues()
  readonly name: string
  readonly help: string
  constructor(name: string, help: string) {
    this.name = name
    this.help = help
  }

  inc(labels: Labels = {}, by = 1): void {
    this.#values.add(labels, by)
  }

  render(): string[] {
    return [
      ...header(this.name, this.help, 'counter'),
      ...[...this.#values.values.values()].map((e) => sample(this.name, e.labels, e.value)),
    ]
  }
}

export class Gauge implements Metric {
  readonly #values = new LabelledValues()
  readonly name: string
  readonly help: string
  readonly collect: (() => number) | undefined
  constructor(name: string, help: string, collect?: () => number) {
    this.name = name
    this.help = help
    this.collect = collect
  }

  set(value: number, labels: Labels = {}): void {
    this.#values.set(labels, value)
  }

  /** Every labelled value at once (what was there before and is not now is gone). */
  replace(entries: ReadonlyArray<{ labels?: Labels; value: number }>): void {
    this.#values.values.clear()
    for (const entry of entries) this.#values.set(entry.labels ?? {}, entry.value)
  }

  render(): string[] {
    const samples =
      this.collect === undefined
        ? [...this.#values.values.values()].map((e) => sample(this.name, e.labels, e.value))
        : [sample(this.name, {}, this.collect())]
    return [...header(this.name, this.help, 'gauge'), ...samples]
  }
}

export class Histogram implements Metric {
  readonly #series = new Map<string, { labels: Labels; counts: number[]; sum: number; count: number }>()
  readonly buckets: number[]
  readonly name: string
  readonly help: string
  constructor(name: string, help: string, buckets: number[]) {
    this.name = name
    this.help = help
    this.buckets = [...buckets].sort((a, b) => a - b)
  }

  observe(value: number, labels: Labels = {}): void {
    const key = labelKey(labels)
    let series = this.#series.get(key)
    if (series === undefined) {
      series = { labels, counts: this.buckets.map(() => 0), sum: 0, count: 0 }
      this.#series.set(key, series)
    }
    for (const [i, bound] of this.buckets.entries()) if (value <= bound) series.counts[i]! += 1
    series.sum += value
    series.count += 1
  }

  render(): string[] {
    const lines = header(this.name, this.help, 'histogram')
    for (const { labels, counts, sum, count } of this.#series.values()) {
      for (const [i, bound] of this.buckets.entries()) {
        lines.push(sample(`${this.name}_bucket`, { ...labels, le: String(bound) }, counts[i]!))
      }
      lines.push(sample(`${this.name}_bucket`, { ...labels, le: '+Inf' }, count))
      lines.push(sample(`${this.name}_sum`, labels, sum))
      lines.push(sample(`${this.name}_count`, labels, count))
    }
    return lines
  }
}

function header(name: string, help: string, type: string): string[] {
  return [`# HELP ${name} ${help.replaceAll('\\', '\\\\').replaceAll('\n', '\\n')}`, `# TYPE ${name} ${type}`]
}

function sample(name: string, labels: Labels, value: number): string {
  const pairs = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`)
  return `${name}${pairs.length > 0 ? `{${pairs.join(',')}}` : ''} ${formatValue(value)}`
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN'
  if (value === Number.POSITIVE_INFINITY) return '+Inf'
  if (value === Number.NEGATIVE_INFINITY) return '-Inf'
  return String(value)
}

function escapeLabel(value: string): string {
  return value.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n')
}

function labelKey(labels: Labels): string {
  return JSON.stringify(Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)))
}

/** Request count and duration by method, route and status; process uptime and memory. */
export function registerHttpMetrics(app: FastifyInstance, registry: MetricsRegistry): void {
  const requests = registry.counter(
    'http_requests_total',
    'HTTP requests answered, by method, route and status.',
  )
  const duration = registry.histogram(
    'http_request_duration_seconds',
    'Time to answer an HTTP request, by method and route.',
    [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  )
  registry.gauge('process_uptime_seconds', 'Seconds since the process started.', () => process.uptime())
  registry.gauge('process_resident_memory_bytes', 'Resident memory of the process.', () =>
    process.memoryUsage.rss(),
  )
  app.addHook('onResponse', async (request, reply) => {
    // the route pattern (not the URL) keeps the label set small; unknown routes share one label
    const route = request.routeOptions.url ?? 'unmatched'
    requests.inc({ method: request.method, route, status: String(reply.statusCode) })
    duration.observe(reply.elapsedTime / 1000, { method: request.method, route })
  })
}
