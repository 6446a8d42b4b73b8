import { type AccessRule, DEFAULT_GRACE_MS, decide, nextOpening, windowEnd } from '@latchkey/core'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { forecastNoSlots, type PlannedCode, type PlanOptions, planCode, planLock } from './plan.ts'

const HOUR = 3_600_000
const DAY = 24 * HOUR
const NOW = Date.parse('2030-01-13T09:00:00Z') // Sunday 10:00 in Berlin

const options = (overrides: Partial<PlanOptions> = {}): PlanOptions => ({
  nowMs: NOW,
  leadMs: DAY,
  timezone: 'Europe/Berlin',
  capacity: 250,
  usedUpRetentionMs: DAY,
  ...overrides,
})

const code = (rule: AccessRule, overrides: Partial<PlannedCode> = {}): PlannedCode => ({
  id: 'c1',
  rule,
  digest: 'd',
  deleted: false,
  uses: 0,
  lastUsedAt: null,
  ...overrides,
})

const windowedRule = fc
  .record({
    kind: fc.constantFrom('timed' as const, 'one_time' as const, 'permanent' as const),
    start: fc.integer({ min: -10 * DAY, max: 10 * DAY }),
    length: fc.integer({ min: 60_000, max: 5 * DAY }),
  })
  .map(
    ({ kind, start, length }): AccessRule =>
      kind === 'permanent' ? { kind } : { kind, startsAt: NOW + start, endsAt: NOW + start + length },
  )

describe('planCode', () => {
  it('a code that opens now and has not ended is always wanted on the lock', () => {
    fc.assert(
      fc.property(windowedRule, fc.integer({ min: DEFAULT_GRACE_MS, max: 3 * DAY }), (rule, leadMs) => {
        const opens = decide(
          rule,
          { uses: 0 },
          { nowMs: NOW, timezone: 'Europe/Berlin', graceMs: DEFAULT_GRACE_MS },
        )
        const end = windowEnd(rule, 'Europe/Berlin')
        if (opens.allow && (end === null || NOW < end)) {
          expect(planCode(code(rule), undefined, options({ leadMs })).phase).toBe('wanted')
        }
      }),
      { numRuns: 400 },
    )
  })

  it('an ended code never opens again once the grace has passed', () => {
    fc.assert(
      fc.property(windowedRule, (rule) => {
        if (planCode(code(rule), undefined, options()).phase !== 'ended') return
        const later = { nowMs: NOW + DEFAULT_GRACE_MS, timezone: 'Europe/Berlin', graceMs: DEFAULT_GRACE_MS }
        expect(nextOpening(rule, { uses: 0 }, later)).toBe(null)
      }),
      { numRuns: 400 },
    )
  })

  it('a weekly code goes on a lead before its next slot and then stays until its last day', () => {
    const rule: AccessRule = {
      kind: 'recurring',
      schedule: { slots: [{ days: [2], start: '09:00', end: '12:00' }], endsOn: '2030-01-29' },
    }
    const tuesday9 = Date.parse('2030-01-15T08:00:00Z')
    expect(planCode(code(rule), undefined, options())).toEqual({ phase: 'scheduled', nextAt: tuesday9 - DAY })
    expect(planCode(code(rule), undefined, options({ nowMs: tuesday9 - DAY })).phase).toBe('wanted')
    // After Tuesday's slot: on the lock it stays; not on the lock it waits for next week's lead.
    const tuesday13 = tuesday9 + 4 * HOUR
    expect(planCode(code(rule), { d: 'd', u: 0 }, options({ nowMs: tuesday13 })).phase).toBe('wanted')
    expect(planCode(code(rule), undefined, options({ nowMs: tuesday13 }))).toEqual({
      phase: 'scheduled',
      nextAt: tuesday9 + 7 * DAY - DAY,
    })
    // Midnight after its last day (Berlin).
    const end = Date.parse('2030-01-29T23:00:00Z')
    expect(planCode(code(rule), { d: 'd', u: 0 }, options({ nowMs: end })).phase).toBe('ended')
  })

  it('a used one-time code stays on the lock for the retention, then comes off; it is never put back', () => {
    const rule: AccessRule = { kind: 'one_time' }
    const used = code(rule, { uses: 1, lastUsedAt: NOW - HOUR })
    expect(planCode(used, { d: 'd', u: 1 }, options())).toEqual({ phase: 'wanted', nextAt: NOW - HOUR + DAY })
    expect(planCode(used, { d: 'd', u: 1 }, options({ nowMs: NOW - HOUR + DAY })).phase).toBe('used_up')
    expect(planCode(used, undefined, options()).phase).toBe('used_up')
    // The lock's own count is enough.
    expect(planCode(code(rule), { d: 'd', u: 1 }, options({ nowMs: NOW + DAY })).phase).toBe('used_up')
  })
})

describe('planLock', () => {
  it('gives the slots to the codes held first, then the oldest; the rest are full', () => {
    const codes = ['a', 'b', 'c'].map((id) => code({ kind: 'permanent' }, { id, digest: id }))
    const plan = planLock(codes, { c: { d: 'c', u: 0 } }, options({ capacity: 2 }))
    expect(plan.diff).toEqual({ remove: [], set: ['a'], full: ['b'], admitted: ['c', 'a'] })
  })
})

describe('planLock with a memo', () => {
  const weekly = fc
    .record({
      day: fc.constantFrom(
        1 as const,
        2 as const,
        3 as const,
        4 as const,
        5 as const,
        6 as const,
        7 as const,
      ),
      hour: fc.integer({ min: 0, max: 20 }),
      weeks: fc.integer({ min: 1, max: 8 }),
    })
    .map(
      ({ day, hour, weeks }): AccessRule => ({
        kind: 'recurring',
        schedule: {
          slots: [
            {
              days: [day],
              start: `${String(hour).padStart(2, '0')}:00`,
              end: `${String(hour + 3).padStart(2, '0')}:00`,
            },
          ],
          endsOn: new Date(NOW + weeks * 7 * DAY).toISOString().slice(0, 10),
        },
      }),
    )

  it('plans as planLock without one, at every later instant, whatever the lock holds', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.oneof(windowedRule, weekly), fc.boolean()), { minLength: 1, maxLength: 12 }),
        fc.array(fc.integer({ min: 0, max: 20 * DAY }), { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 1, max: 12 }),
        (entries, offsets, capacity) => {
          const codes = entries.map(([rule], i) => code(rule, { id: `c${i}` }))
          const memo = new Map()
          let held: Record<string, { d: string; u: number }> = Object.fromEntries(
            entries.flatMap(([, onLock], i) => (onLock ? [[`c${i}`, { d: 'd', u: 0 }]] : [])),
          )
          for (const offset of [...offsets].sort((a, b) => a - b)) {
            const at = options({ nowMs: NOW + offset, capacity })
            const fresh = planLock(codes, held, at)
            expect(planLock(codes, held, at, memo)).toEqual(fresh)
            held = Object.fromEntries(fresh.diff.admitted.map((id) => [id, held[id] ?? { d: 'd', u: 0 }]))
          }
        },
      ),
      { numRuns: 150 },
    )
  })
})

describe('forecastNoSlots', () => {
  const forecastNoSlot = (
    ...[codes, held, opts, id]: [PlannedCode[], Parameters<typeof forecastNoSlots>[1], PlanOptions, string]
  ) => forecastNoSlots(codes, held, opts).get(id) ?? null

  const timed = (id: string, startH: number, endH: number): PlannedCode =>
    code({ kind: 'timed', startsAt: NOW + startH * HOUR, endsAt: NOW + endH * HOUR }, { id })

  it('finds the instant a scheduled code comes due on a lock that will be full then', () => {
    // Two slots: a permanent code holds one; two older timed codes take the other from day 3 to 5.
    const codes = [code({ kind: 'permanent' }, { id: 'p' }), timed('a', 72, 120), timed('late', 96, 100)]
    const held = { p: { d: 'd', u: 0 } }
    expect(forecastNoSlot(codes, held, options({ capacity: 2 }), 'late')).toBe(NOW + 72 * HOUR)
    // With room for all, it fits.
    expect(forecastNoSlot(codes, held, options({ capacity: 3 }), 'late')).toBeNull()
  })

  it('lets a code wait for a slot that frees before it is due', () => {
    // 'a' ends at hour 50, before 'late' goes on the lock (hour 72, a day before it starts).
    const codes = [code({ kind: 'permanent' }, { id: 'p' }), timed('a', 0, 50), timed('late', 96, 100)]
    expect(
      forecastNoSlot(codes, { p: { d: 'd', u: 0 }, a: { d: 'd', u: 0 } }, options({ capacity: 2 }), 'late'),
    ).toBeNull()
  })

  it('finds a code that is full now at once, and forgets a code that has ended', () => {
    const codes = [code({ kind: 'permanent' }, { id: 'p' }), code({ kind: 'permanent' }, { id: 'q' })]
    expect(forecastNoSlot(codes, {}, options({ capacity: 1 }), 'q')).toBe(NOW)
    expect(forecastNoSlot([timed('gone', -10, -5)], {}, options({ capacity: 1 }), 'gone')).toBeNull()
  })
})
