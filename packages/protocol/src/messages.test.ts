import { isLatchkeyError } from '@latchkey/core'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { decodeJson, parseCommandEnvelope, parseLockMessage, serializeMessage } from './messages.ts'
import { arbCommandEnvelope, arbLockMessage } from './test-arbitraries.ts'

function errorCode(fn: () => unknown): string {
  try {
    fn()
  } catch (error) {
    if (isLatchkeyError(error)) return error.code
    throw error
  }
  return 'parsed'
}

describe('message codecs', () => {
  it('round-trips every command envelope through serialize → decode → parse', () => {
    fc.assert(
      fc.property(arbCommandEnvelope, (envelope) => {
        expect(parseCommandEnvelope(decodeJson(serializeMessage(envelope)))).toEqual(envelope)
      }),
      { numRuns: 300 },
    )
  })

  it('round-trips every lock message (replies and event batches)', () => {
    fc.assert(
      fc.property(arbLockMessage, (message) => {
        expect(parseLockMessage(decodeJson(serializeMessage(message)))).toEqual(message)
      }),
      { numRuns: 300 },
    )
  })

  it('serializes to UTF-8 JSON, exactly', () => {
    const bytes = serializeMessage({
      kind: 'command',
      id: 'c-1',
      command: { type: 'set_time', nowMs: 1_767_225_600_000 },
    })
    expect(new TextDecoder().decode(bytes)).toBe(
      '{"kind":"command","id":"c-1","command":{"type":"set_time","nowMs":1767225600000}}',
    )
  })

  it('drops fields that are not in the contract', () => {
    const parsed = parseCommandEnvelope({
      kind: 'command',
      id: 'c',
      command: { type: 'unlock', notAfter: 1_767_225_600_000, force: true },
      extra: 1,
    })
    expect(parsed).toEqual({
      kind: 'command',
      id: 'c',
      command: { type: 'unlock', notAfter: 1_767_225_600_000 },
    })
  })

  it('refuses what the contract does not allow, as validation_failed', () => {
    const commands: unknown[] = [
      null,
      { kind: 'command', id: '', command: { type: 'unlock', notAfter: 1_767_225_600_000 } },
      // an unlock must say until when it may open: a gateway could hold one back for ever
      { kind: 'command', id: 'c', command: { type: 'unlock' } },
      { kind: 'command', id: 'c', command: { type: 'unlock', notAfter: null } },
      { kind: 'command', id: 'c', command: { type: 'unlock', notAfter: '2030-01-01T00:00:00Z' } },
      { kind: 'command', id: 'c', command: { type: 'explode' } },
      {
        kind: 'command',
        id: 'c',
        command: { type: 'set_code', codeId: 'a', pin: '123', rule: { kind: 'permanent' } },
      },
      {
        kind: 'command',
        id: 'c',
        command: { type: 'set_code', codeId: 'a', pin: '12345678901', rule: { kind: 'permanent' } },
      },
      {
        kind: 'command',
        id: 'c',
        command: { type: 'set_code', codeId: 'a', pin: '1234', rule: { kind: 'forever' } },
      },
      {
        kind: 'command',
        id: 'c',
        command: {
          type: 'set_code',
          codeId: 'a',
          pin: '1234',
          rule: { kind: 'recurring', schedule: { slots: [{ days: [8], start: '09:00', end: '12:00' }] } },
        },
      },
      {
        kind: 'command',
        id: 'c',
        command: {
          type: 'set_code',
          codeId: 'a',
          pin: '1234',
          rule: { kind: 'recurring', schedule: { slots: [{ days: [1], start: '24:30', end: '12:00' }] } },
        },
      },
      { kind: 'command', id: 'c', command: { type: 'set_time', nowMs: 1.5 } },
      { kind: 'command', id: 'c', command: { type: 'ack_events', upToSeq: -1 } },
      {
        kind: 'command',
        id: 'c',
        command: { type: 'set_revocations', keyIds: Array.from({ length: 1001 }, (_, i) => `k${i}`) },
      },
    ]
    for (const value of commands)
      expect(errorCode(() => parseCommandEnvelope(value))).toBe('validation_failed')
    const messages: unknown[] = [
      { kind: 'reply', id: 'c', status: 'error', error: { code: 'on_fire', message: 'x' } },
      { kind: 'reply', id: 'c', status: 'maybe' },
      { kind: 'events', events: [{ seq: 0, at: null, type: 'power_restored' }] },
      {
        kind: 'events',
        events: [{ seq: 1, at: null, type: 'access_denied', method: 'keypad', reason: 'bad_vibes' }],
      },
      {
        kind: 'events',
        events: Array.from({ length: 101 }, (_, i) => ({ seq: i + 1, at: null, type: 'power_restored' })),
      },
      { kind: 'command', id: 'c', command: { type: 'unlock' } },
    ]
    for (const value of messages) expect(errorCode(() => parseLockMessage(value))).toBe('validation_failed')
  })

  it('refuses bytes that are not UTF-8 JSON', () => {
    expect(errorCode(() => decodeJson(new TextEncoder().encode('{"kind":')))).toBe('validation_failed')
    expect(errorCode(() => decodeJson(new Uint8Array([0x22, 0xff, 0x22])))).toBe('validation_failed')
    expect(decodeJson(new TextEncoder().encode('{"a":[1,"é"]}'))).toEqual({ a: [1, 'é'] })
  })
})
