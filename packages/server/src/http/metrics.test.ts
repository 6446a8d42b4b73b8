import { describe, expect, it } from 'vitest'
import { MetricsRegistry } from './metrics.ts'

describe('metrics registry', () => {
  it('renders counters, gauges and histograms in the Prometheus text format', () => {
    const registry = new MetricsRegistry()
    const codes = registry.counter('codes_set_total', 'Codes put on locks.')
    codes.inc({ lock: 'front "door"\\1' })
    codes.inc({ lock: 'front "door"\\1' }, 2)
    codes.inc({ lock: 'back' })
    registry.gauge('locks_online', 'Locks online now.').set(3)
    registry.gauge('answer', 'Collected at scrape.', () => 42)
    const latency = registry.histogram('latency_seconds', 'Latency.', [1, 0.1])
    latency.observe(0.05)
    latency.observe(0.5)
    latency.observe(7, { route: '/x' })
    expect(registry.render()).toBe(
      [
        '# HELP codes_set_total Codes put on locks.',
        '# TYPE codes_set_total counter',
        'codes_set_total{lock="front \\"door\\"\\\\1"} 3',
        'codes_set_total{lock="back"} 1',
        '# HELP locks_online Locks online now.',
        '# TYPE locks_online gauge',
        'locks_online 3',
        '# HELP answer Collected at scrape.',
        '# TYPE answer gauge',
        'answer 42',
        '# HELP latency_seconds Latency.',
        '# TYPE latency_seconds histogram',
        'latency_seconds_bucket{le="0.1"} 1',
        'latency_seconds_bucket{le="1"} 2',
        'latency_seconds_bucket{le="+Inf"} 2',
        'latency_seconds_sum 0.55',
        'latency_seconds_count 2',
        'latency_seconds_bucket{route="/x",le="0.1"} 0',
        'latency_seconds_bucket{route="/x",le="1"} 0',
        'latency_seconds_bucket{route="/x",le="+Inf"} 1',
        'latency_seconds_sum{route="/x"} 7',
        'latency_seconds_count{route="/x"} 1',
        '',
      ].join('\n'),
    )
  })

  it('refuses a second metric with the same name', () => {
    const registry = new MetricsRegistry()
    registry.counter('x_total', 'x')
    expect(() => registry.gauge('x_total', 'x')).toThrow('metric x_total is already registered')
  })
})
