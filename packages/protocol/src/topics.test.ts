import { isLatchkeyError } from '@latchkey/core'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { arbId } from './test-arbitraries.ts'
import {
  decodePayload,
  encodePayload,
  gatewayFilter,
  parseTopic,
  serverFilter,
  type TopicName,
  topic,
} from './topics.ts'

const LOCK_TOPICS = ['lockDown', 'lockUp', 'lockLink', 'timeRequest', 'poll'] as const

function errorCode(fn: () => unknown): string {
  try {
    fn()
  } catch (error) {
    if (isLatchkeyError(error)) return error.code
    throw error
  }
  return 'ok'
}

/** MQTT topic filter matching (`+` one level, `#` the rest), to check the filters against real topics. */
function matches(filter: string, name: string): boolean {
  const f = filter.split('/')
  const t = name.split('/')
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true
    if (i >= t.length || (f[i] !== '+' && f[i] !== t[i])) return false
  }
  return f.length === t.length
}

describe('topics', () => {
  it('names each topic exactly', () => {
    expect(topic('gatewayStatus', { gatewayId: 'gw1' })).toBe('latchkey/v1/gw/gw1/status')
    expect(topic('lockDown', { gatewayId: 'gw1', lockId: 'lk1' })).toBe('latchkey/v1/gw/gw1/lock/lk1/down')
    expect(topic('lockUp', { gatewayId: 'gw1', lockId: 'lk1' })).toBe('latchkey/v1/gw/gw1/lock/lk1/up')
    expect(topic('lockLink', { gatewayId: 'gw1', lockId: 'lk1' })).toBe('latchkey/v1/gw/gw1/lock/lk1/link')
    expect(topic('timeRequest', { gatewayId: 'gw1', lockId: 'lk1' })).toBe('latchkey/v1/gw/gw1/lock/lk1/time')
    expect(topic('poll', { gatewayId: 'gw1', lockId: 'lk1' })).toBe('latchkey/v1/gw/gw1/lock/lk1/poll')
    expect(gatewayFilter('gw1')).toBe('latchkey/v1/gw/gw1/#')
    expect(serverFilter('gatewayStatus')).toBe('latchkey/v1/gw/+/status')
    expect(serverFilter('lockUp')).toBe('latchkey/v1/gw/+/lock/+/up')
  })

  it('reads every topic back into its name and params, and the filters match exactly their own topics', () => {
    fc.assert(
      fc.property(
        arbId,
        arbId,
        arbId,
        fc.constantFrom<TopicName>('gatewayStatus', ...LOCK_TOPICS),
        (gatewayId, lockId, otherGw, name) => {
          const params = name === 'gatewayStatus' ? { gatewayId } : { gatewayId, lockId }
          const value = topic(name, params as { gatewayId: string; lockId: string })
          expect(parseTopic(value)).toEqual({ name, params })
          expect(matches(gatewayFilter(gatewayId), value)).toBe(true)
          expect(matches(gatewayFilter(otherGw), value)).toBe(otherGw === gatewayId)
          for (const other of ['gatewayStatus', ...LOCK_TOPICS] as const) {
            expect(matches(serverFilter(other), value)).toBe(other === name)
          }
        },
      ),
      { numRuns: 200 },
    )
  })

  it('refuses ids that would escape a gateway topic, and reads foreign topics as null', () => {
    for (const id of ['', 'a/b', '+', '#', 'x'.repeat(65), 'é']) {
      expect(errorCode(() => topic('lockDown', { gatewayId: id, lockId: 'lk1' }))).toBe('validation_failed')
      expect(errorCode(() => topic('lockDown', { gatewayId: 'gw1', lockId: id }))).toBe('validation_failed')
      expect(errorCode(() => gatewayFilter(id))).toBe('validation_failed')
    }
    for (const value of [
      '',
      'latchkey/v1/gw',
      'latchkey/v2/gw/gw1/status',
      'latchkey/v1/gw/gw1/lock/lk1/open',
      'latchkey/v1/gw/gw1/lock/lk1/down/extra',
      'latchkey/v1/gw/gw1/lock/lk1/status',
      'latchkey/v1/gw/gw1/thing/lk1/down',
      'latchkey/v1/gw/+/status',
      'latchkey/v1/gw/gw1/lock/+/down',
    ]) {
      expect(parseTopic(value)).toBe(null)
    }
  })
})

describe('payloads', () => {
  it('keeps frames binary and round-trips JSON payloads', () => {
    const frame = new Uint8Array([1, 1, 0, 0, 0, 0, 0, 0, 0, 7, 9, 9])
    expect(encodePayload('lockDown', frame)).toBe(frame)
    expect(decodePayload('lockUp', frame)).toBe(frame)
    fc.assert(
      fc.property(
        fc.record(
          { online: fc.boolean(), at: fc.integer(), locks: fc.array(arbId) },
          { requiredKeys: ['online', 'at'] },
        ),
        fc.record({
          inRange: fc.boolean(),
          battery: fc.option(fc.integer({ min: 0, max: 100 }), { nil: null }),
          at: fc.integer(),
        }),
        fc.record({
          reason: fc.constantFrom('connect' as const, 'periodic' as const, 'manual' as const),
          at: fc.integer(),
        }),
        fc.integer(),
        (status, link, time, at) => {
          expect(decodePayload('gatewayStatus', encodePayload('gatewayStatus', status))).toEqual(status)
          expect(decodePayload('lockLink', encodePayload('lockLink', link))).toEqual(link)
          expect(decodePayload('timeRequest', encodePayload('timeRequest', time))).toEqual(time)
          expect(decodePayload('poll', encodePayload('poll', { at }))).toEqual({ at })
        },
      ),
      { numRuns: 200 },
    )
  })

  it('refuses a JSON payload that is not JSON or not the contract, as validation_failed', () => {
    const bytes = (s: string) => new TextEncoder().encode(s)
    expect(errorCode(() => decodePayload('gatewayStatus', bytes('online')))).toBe('validation_failed')
    expect(errorCode(() => decodePayload('gatewayStatus', bytes('{"online":"yes","at":1}')))).toBe(
      'validation_failed',
    )
    expect(errorCode(() => decodePayload('lockLink', bytes('{"inRange":true,"battery":101,"at":1}')))).toBe(
      'validation_failed',
    )
    expect(errorCode(() => decodePayload('timeRequest', bytes('{"reason":"whenever","at":1}')))).toBe(
      'validation_failed',
    )
    expect(errorCode(() => decodePayload('poll', bytes('{"at":1.5}')))).toBe('validation_failed')
  })
})
