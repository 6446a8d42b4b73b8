import { describe, expect, it } from 'vitest'
import type { Lock } from './api/client.ts'
import { clockWords, reachWords } from './words.ts'

const lock = (change: Partial<Lock>): Lock =>
  ({
    online: true,
    driver: 'latchkey',
    gatewayId: '0b9f2b7e-52a4-4c5e-8f0a-3f3e1d6a9c11',
    clockSet: true,
    clockOffsetMs: null,
    clockSyncedAt: '2026-12-01T10:00:00.000Z',
    ...change,
  }) as Lock

describe('a lock in words', () => {
  it('offline: why, by its gateway, or a Matter lock that does not answer (it has no gateway)', () => {
    const gatewayOnline = (online: boolean) => () => online
    expect(reachWords(lock({ online: false }), gatewayOnline(false))).toBe('Offline: its gateway is offline')
    expect(reachWords(lock({ online: false }), gatewayOnline(true))).toBe(
      "Offline: out of its gateway's range",
    )
    expect(reachWords(lock({ online: false, gatewayId: null }), gatewayOnline(true))).toBe(
      'Offline: no gateway',
    )
    expect(reachWords(lock({ online: false, driver: 'matter', gatewayId: null }), gatewayOnline(true))).toBe(
      'Offline: the lock does not answer',
    )
  })

  it('the clock: synced by the server, or a Matter lock’s own', () => {
    expect(clockWords(lock({}))).toBe('Clock synced')
    expect(clockWords(lock({ clockSet: false }))).toBe('Clock not set')
    expect(clockWords(lock({ driver: 'matter', clockSet: false, clockSyncedAt: null }))).toBe(
      'Clock kept by the lock',
    )
  })
})
