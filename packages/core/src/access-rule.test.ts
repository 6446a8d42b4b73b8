import fc from 'fast-check'
import { DateTime, IANAZone } from 'luxon'
import { describe, expect, it } from 'vitest'
import {
  type AccessRule,
  DEFAULT_GRACE_MS,
  type Decision,
  type DenyReason,
  decide,
  type LockClock,
  nextOpening,
  validateRule,
  type WeeklySchedule,
  type WeeklySlot,
  windowEnd,
} from './access-rule.ts'
import { isLatchkeyError } from './errors.ts'
import { assertTimezone } from './schedule.ts'

const MINUTE = 60_000
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR
const at = (iso: string) => {
  const ms = Date.parse(iso)
  if (Number.isNaN(ms)) throw new Error(`bad test instant ${iso}`)
  return ms
}
const ALLOW: Decision = { allow: true }
const deny = (reason: DenyReason): Decision => ({ allow: false, reason })
const clock = (nowMs: number | null, timezone = 'Europe/Berlin', graceMs = 0): LockClock => ({
  nowMs,
  timezone,
  graceMs,
})
const unused = { uses: 0 }

function thrown(fn: () => unknown): string {
  try {
    fn()
  } catch (error) {
    if (isLatchkeyError(error)) return error.code
    throw error
  }
  return 'no error'
}

const weekly = (slots: WeeklySlot[], range: Partial<WeeklySchedule> = {}): AccessRule => ({
  kind: 'recurring',
  schedule: { slots, ...range },
})

/** The slot opens exactly at `from` and closes exactly at `to` (grace 0): checked at both edges. */
function expectOpenExactly(
  rule: AccessRule,
  timezone: string,
  from: number,
  to: number,
  afterwards: DenyReason = 'outside_schedule',
) {
  const at = (ms: number) => decide(rule, unused, clock(ms, timezone))
  expect([new Date(from - 1).toISOString(), at(from - 1)]).toEqual([
    new Date(from - 1).toISOString(),
    deny('outside_schedule'),
  ])
  expect([new Date(from).toISOString(), at(from)]).toEqual([new Date(from).toISOString(), ALLOW])
  expect([new Date(to - 1).toISOString(), at(to - 1)]).toEqual([new Date(to - 1).toISOString(), ALLOW])
  expect([new Date(to).toISOString(), at(to)]).toEqual([new Date(to).toISOString(), deny(afterwards)])
}

// ---------------------------------------------------------------- generators

const ZONES = [
  'Europe/Berlin',
  'Australia/Sydney',
  'America/New_York',
  'America/Santiago', // changes at midnight
  'Australia/Lord_Howe', // half-hour DST
  'Asia/Kathmandu', // +05:45
  'America/St_Johns', // −03:30 with DST
  'Pacific/Chatham', // +12:45 / +13:45
  'UTC',
]
const zone = fc.constantFrom(...ZONES)
const T2026 = Date.UTC(2026, 0, 1)
const instant = fc.integer({ min: T2026, max: Date.UTC(2027, 0, 1) })
const grace = fc.constantFrom(0, DEFAULT_GRACE_MS, HOUR)
const pad = (n: number) => String(n).padStart(2, '0')
const hhmm = fc
  .tuple(
    fc.integer({ min: 0, max: 23 }),
    fc.oneof(fc.constantFrom(0, 15, 30, 45), fc.integer({ min: 0, max: 59 })),
  )
  .map(([h, m]) => `${pad(h)}:${pad(m)}`)
const slot: fc.Arbitrary<WeeklySlot> = fc.record({
  days: fc.uniqueArray(fc.constantFrom(1, 2, 3, 4, 5, 6, 7) as fc.Arbitrary<1 | 2 | 3 | 4 | 5 | 6 | 7>, {
    minLength: 1,
    maxLength: 7,
  }),
  start: hhmm,
  end: fc.oneof(hhmm, fc.constant('24:00')),
})
const localDate = fc
  .integer({ min: -10, max: 375 })
  .map((d) => DateTime.utc(2026, 1, 1).plus({ days: d }).toISODate()!)
const isValid = (rule: AccessRule) => thrown(() => validateRule(rule)) === 'no error'
const recurringRule = fc
  .record(
    { slots: fc.array(slot, { minLength: 1, maxLength: 3 }), startsOn: localDate, endsOn: localDate },
    { requiredKeys: ['slots'] },
  )
  .map((schedule): AccessRule => ({ kind: 'recurring', schedule }))
  .filter(isValid)
const windowRule = (kind: 'timed' | 'one_time') =>
  fc
    .tuple(instant, fc.integer({ min: 1, max: 40 * DAY }))
    .map(([startsAt, length]): AccessRule => ({ kind, startsAt, endsAt: startsAt + length }))
const timeBoundRule = fc.oneof(windowRule('timed'), windowRule('one_time'), recurringRule)
const validRule = fc
  .tuple(
    fc.oneof(
      timeBoundRule,
      fc.constant<AccessRule>({ kind: 'permanent' }),
      fc.constant<AccessRule>({ kind: 'one_time' }),
    ),
    fc.option(fc.integer({ min: 1, max: 5 }), { nil: undefined }),
  )
  .map(([rule, maxUses]) => (maxUses === undefined ? rule : { ...rule, maxUses }))

// ---------------------------------------------------------------- decide: usage and clock

describe('decide: uses come first', () => {
  const tuesdays = weekly([{ days: [2], start: '09:00', end: '12:00' }])
  const window: AccessRule = {
    kind: 'one_time',
    startsAt: at('2026-05-01T08:00:00Z'),
    endsAt: at('2026-05-01T12:00:00Z'),
  }

  it('a one_time code opens once, then says already_used whatever the clock says', () => {
    expect(decide({ kind: 'one_time' }, { uses: 0 }, clock(at('2026-05-01T09:00:00Z')))).toEqual(ALLOW)
    expect(decide({ kind: 'one_time' }, { uses: 1 }, clock(at('2026-05-01T09:00:00Z')))).toEqual(
      deny('already_used'),
    )
    expect(decide({ kind: 'one_time' }, { uses: 1 }, clock(null))).toEqual(deny('already_used'))
    expect(decide(window, { uses: 0 }, clock(at('2026-05-01T09:00:00Z')))).toEqual(ALLOW)
    expect(decide(window, { uses: 1 }, clock(at('2026-05-01T09:00:00Z')))).toEqual(deny('already_used'))
    expect(decide(window, { uses: 1 }, clock(at('2026-06-01T09:00:00Z')))).toEqual(deny('already_used'))
    expect(decide({ ...window, maxUses: 5 }, { uses: 1 }, clock(at('2026-05-01T09:00:00Z')))).toEqual(
      deny('already_used'),
    )
  })

  it('maxUses: N opens, then uses_exhausted, before any look at the time', () => {
    const rule: AccessRule = { kind: 'permanent', maxUses: 3 }
    expect([0, 1, 2, 3, 4].map((uses) => decide(rule, { uses }, clock(null)))).toEqual([
      ALLOW,
      ALLOW,
      ALLOW,
      deny('uses_exhausted'),
      deny('uses_exhausted'),
    ])
    const timed: AccessRule = {
      kind: 'timed',
      startsAt: at('2026-05-01T08:00:00Z'),
      endsAt: at('2026-05-01T12:00:00Z'),
      maxUses: 2,
    }
    expect(decide(timed, { uses: 1 }, clock(at('2026-05-01T09:00:00Z')))).toEqual(ALLOW)
    expect(decide(timed, { uses: 2 }, clock(at('2026-05-01T09:00:00Z')))).toEqual(deny('uses_exhausted'))
    expect(decide(timed, { uses: 2 }, clock(at('2026-07-01T09:00:00Z')))).toEqual(deny('uses_exhausted'))
    expect(decide(timed, { uses: 2 }, clock(null))).toEqual(deny('uses_exhausted'))
    expect(decide({ ...tuesdays, maxUses: 1 }, { uses: 1 }, clock(at('2026-05-05T08:00:00Z')))).toEqual(
      deny('uses_exhausted'),
    )
  })

  it('never opens more than maxUses times, whatever the rule and the time', () => {
    fc.assert(
      fc.property(
        validRule,
        fc.integer({ min: 1, max: 5 }),
        zone,
        instant,
        (rule, maxUses, timezone, now) => {
          const limited = { ...rule, maxUses }
          const limit = rule.kind === 'one_time' ? 1 : maxUses
          for (const uses of [limit, limit + 1, limit + 7]) {
            expect(decide(limited, { uses }, clock(now, timezone)).allow).toBe(false)
          }
        },
      ),
      { numRuns: 200 },
    )
  })

  it('a corrupt use counter or maxUses denies', () => {
    const now = clock(at('2026-05-01T09:00:00Z'))
    for (const uses of [Number.NaN, -1, 0.5, Number.POSITIVE_INFINITY]) {
      expect(decide({ kind: 'permanent' }, { uses }, now)).toEqual(deny('uses_exhausted'))
      expect(decide({ kind: 'one_time' }, { uses }, now)).toEqual(deny('already_used'))
    }
    for (const maxUses of [0, -1, Number.NaN, 1.5]) {
      expect(decide({ kind: 'permanent', maxUses }, unused, now).allow).toBe(false)
    }
  })
})

describe('decide: the lock clock', () => {
  it('permanent codes, and one_time codes without a window, still open after power loss', () => {
    expect(decide({ kind: 'permanent' }, { uses: 41 }, clock(null))).toEqual(ALLOW)
    expect(decide({ kind: 'one_time' }, unused, clock(null))).toEqual(ALLOW)
  })

  it('every time-bound code fails closed while the clock is unset', () => {
    fc.assert(
      fc.property(
        timeBoundRule,
        zone,
        grace,
        fc.constantFrom(null, Number.NaN),
        (rule, timezone, graceMs, nowMs) => {
          expect(decide(rule, unused, clock(nowMs, timezone, graceMs))).toEqual(deny('clock_not_set'))
        },
      ),
      { numRuns: 200 },
    )
  })
})

// ---------------------------------------------------------------- decide: windows

describe('decide: timed and one_time windows', () => {
  const startsAt = at('2026-05-01T08:00:00Z')
  const endsAt = at('2026-05-01T12:00:00Z')
  const timed: AccessRule = { kind: 'timed', startsAt, endsAt }

  it('opens on [startsAt, endsAt) widened by the grace on both sides', () => {
    const g = DEFAULT_GRACE_MS
    const now = (ms: number) => decide(timed, unused, clock(ms, 'Europe/Berlin', g))
    expect(now(startsAt - g - 1)).toEqual(deny('outside_schedule'))
    expect(now(startsAt - g)).toEqual(ALLOW)
    expect(now(endsAt + g - 1)).toEqual(ALLOW)
    expect(now(endsAt + g)).toEqual(deny('expired'))
    expect(decide(timed, unused, clock(endsAt))).toEqual(deny('expired'))
    expect(decide(timed, unused, clock(startsAt - 1))).toEqual(deny('outside_schedule'))
  })

  it('one_time with a window, or half a window, keeps to it', () => {
    expect(decide({ kind: 'one_time', startsAt, endsAt }, unused, clock(endsAt))).toEqual(deny('expired'))
    expect(decide({ kind: 'one_time', startsAt, endsAt }, unused, clock(startsAt - 1))).toEqual(
      deny('outside_schedule'),
    )
    expect(decide({ kind: 'one_time', startsAt }, unused, clock(startsAt + 400 * DAY))).toEqual(ALLOW)
    expect(decide({ kind: 'one_time', startsAt }, unused, clock(null))).toEqual(deny('clock_not_set'))
    expect(decide({ kind: 'one_time', endsAt }, unused, clock(endsAt - 400 * DAY))).toEqual(ALLOW)
    expect(decide({ kind: 'one_time', endsAt }, unused, clock(endsAt))).toEqual(deny('expired'))
  })

  it('matches the window arithmetic for any window, grace and instant', () => {
    fc.assert(
      fc.property(
        fc.oneof(windowRule('timed'), windowRule('one_time')),
        grace,
        fc.integer({ min: -45 * DAY, max: 45 * DAY }),
        (rule, g, offset) => {
          const now = rule.startsAt! + offset
          const expected =
            now < rule.startsAt! - g
              ? deny('outside_schedule')
              : now >= rule.endsAt! + g
                ? deny('expired')
                : ALLOW
          expect(decide(rule, unused, clock(now, 'Asia/Kathmandu', g))).toEqual(expected)
        },
      ),
      { numRuns: 300 },
    )
  })

  it('treats a negative or non-finite grace as none and clamps a huge one to a day', () => {
    expect(decide(timed, unused, clock(startsAt - 1, 'UTC', -HOUR))).toEqual(deny('outside_schedule'))
    expect(decide(timed, unused, clock(endsAt, 'UTC', Number.NaN))).toEqual(deny('expired'))
    expect(decide(timed, unused, clock(endsAt, 'UTC', Number.POSITIVE_INFINITY))).toEqual(deny('expired'))
    expect(decide(timed, unused, clock(endsAt + DAY - 1, 'UTC', 30 * DAY))).toEqual(ALLOW)
    expect(decide(timed, unused, clock(endsAt + DAY, 'UTC', 30 * DAY))).toEqual(deny('expired'))
  })
})

// ---------------------------------------------------------------- decide: weekly schedules

describe('decide: weekly schedules in the lock’s zone', () => {
  it('opens Tue 09:00–12:00 local, on Tuesdays only', () => {
    const rule = weekly([{ days: [2], start: '09:00', end: '12:00' }])
    expectOpenExactly(rule, 'Europe/Berlin', at('2026-05-05T07:00:00Z'), at('2026-05-05T10:00:00Z'))
    expectOpenExactly(rule, 'America/New_York', at('2026-05-05T13:00:00Z'), at('2026-05-05T16:00:00Z'))
    expectOpenExactly(rule, 'Asia/Kathmandu', at('2026-05-05T03:15:00Z'), at('2026-05-05T06:15:00Z'))
    expect(decide(rule, unused, clock(at('2026-05-06T07:30:00Z')))).toEqual(deny('outside_schedule')) // Wednesday
  })

  it('widens each slot by the grace on both sides', () => {
    const rule = weekly([{ days: [2], start: '09:00', end: '12:00' }])
    const g = DEFAULT_GRACE_MS
    const now = (ms: number) => decide(rule, unused, clock(ms, 'Europe/Berlin', g))
    expect(now(at('2026-05-05T07:00:00Z') - g - 1)).toEqual(deny('outside_schedule'))
    expect(now(at('2026-05-05T07:00:00Z') - g)).toEqual(ALLOW)
    expect(now(at('2026-05-05T10:00:00Z') + g - 1)).toEqual(ALLOW)
    expect(now(at('2026-05-05T10:00:00Z') + g)).toEqual(deny('outside_schedule'))
  })

  it('runs a slot whose end is not after its start past midnight, on the day it starts', () => {
    // Mon 22:00 → Tue 06:00 in Berlin (CEST, +2).
    const rule = weekly([{ days: [1], start: '22:00', end: '06:00' }])
    expectOpenExactly(rule, 'Europe/Berlin', at('2026-05-04T20:00:00Z'), at('2026-05-05T04:00:00Z'))
    expect(decide(rule, unused, clock(at('2026-05-03T21:00:00Z')))).toEqual(deny('outside_schedule')) // Sun 23:00
    // start = end is a whole day: Wed 10:00 → Thu 10:00.
    expectOpenExactly(
      weekly([{ days: [3], start: '10:00', end: '10:00' }]),
      'UTC',
      at('2026-05-06T10:00:00Z'),
      at('2026-05-07T10:00:00Z'),
    )
  })

  it('reads 24:00 as midnight at the end of the day', () => {
    expectOpenExactly(
      weekly([{ days: [5], start: '18:00', end: '24:00' }]),
      'Europe/Berlin',
      at('2026-05-08T16:00:00Z'),
      at('2026-05-08T22:00:00Z'),
    )
    expectOpenExactly(
      weekly([{ days: [6], start: '00:00', end: '24:00' }]),
      'Australia/Sydney',
      at('2026-05-08T14:00:00Z'),
      at('2026-05-09T14:00:00Z'),
    )
  })

  it('keeps to startsOn and endsOn in local dates: outside_schedule before, expired after', () => {
    const rule = weekly([{ days: [1, 2, 3, 4, 5, 6, 7], start: '08:00', end: '18:00' }], {
      startsOn: '2026-05-04',
      endsOn: '2026-05-10',
    })
    const now = (iso: string) => decide(rule, unused, clock(at(iso), 'Australia/Sydney'))
    expect(now('2026-05-02T23:00:00Z')).toEqual(deny('outside_schedule')) // Sun 3 May 09:00 local
    expect(now('2026-05-03T22:00:00Z')).toEqual(ALLOW) // Mon 4 May 08:00 local
    expect(now('2026-05-10T07:59:59.999Z')).toEqual(ALLOW) // Sun 10 May 17:59:59 local
    expect(now('2026-05-10T08:00:00Z')).toEqual(deny('outside_schedule')) // Sun 10 May 18:00: still the last day
    expect(now('2026-05-10T13:59:59.999Z')).toEqual(deny('outside_schedule')) // 23:59:59.999 local
    expect(now('2026-05-10T14:00:00Z')).toEqual(deny('expired')) // midnight after endsOn
    expect(now('2026-05-10T23:00:00Z')).toEqual(deny('expired'))
    // Grace moves the expiry too.
    expect(
      decide(rule, unused, clock(at('2026-05-10T14:01:59.999Z'), 'Australia/Sydney', DEFAULT_GRACE_MS)),
    ).toEqual(deny('outside_schedule'))
    expect(
      decide(rule, unused, clock(at('2026-05-10T14:02:00Z'), 'Australia/Sydney', DEFAULT_GRACE_MS)),
    ).toEqual(deny('expired'))
  })

  it('lets a night slot that starts on endsOn run to its end', () => {
    const rule = weekly([{ days: [7], start: '22:00', end: '06:00' }], { endsOn: '2026-05-10' })
    expectOpenExactly(
      rule,
      'Europe/Berlin',
      at('2026-05-10T20:00:00Z'),
      at('2026-05-11T04:00:00Z'),
      'expired',
    )
    expect(decide(rule, unused, clock(at('2026-05-10T22:00:00Z')))).toEqual(ALLOW) // past midnight after endsOn
    expect(windowEnd(rule, 'Europe/Berlin')).toBe(at('2026-05-11T04:00:00Z'))
  })

  it('agrees with the wall clock on every day the clocks do not change', () => {
    const minutes = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3))
    // Independent reading of a schedule: is the local wall clock inside a slot of today, or of yesterday's night?
    const wallClockOpen = (slots: WeeklySlot[], local: DateTime) => {
      const m = local.hour * 60 + local.minute
      const yesterday = local.minus({ days: 1 }).weekday
      return slots.some((s) => {
        const start = minutes(s.start)
        const end = minutes(s.end)
        const days = s.days as number[]
        if (end > start) return days.includes(local.weekday) && m >= start && m < end
        return (days.includes(local.weekday) && m >= start) || (days.includes(yesterday) && m < end)
      })
    }
    fc.assert(
      fc.property(fc.array(slot, { minLength: 1, maxLength: 3 }), zone, instant, (slots, timezone, now) => {
        const z = IANAZone.create(timezone)
        fc.pre(z.offset(now - 2 * DAY) === z.offset(now + 2 * DAY)) // no transition nearby
        const expected = wallClockOpen(slots, DateTime.fromMillis(now, { zone: timezone }))
        expect(decide(weekly(slots), unused, clock(now, timezone)).allow).toBe(expected)
      }),
      { numRuns: 400 },
    )
  })
})

// ---------------------------------------------------------------- decide: daylight saving time

describe('decide across daylight saving time', () => {
  const tuesdays = weekly([{ days: [2], start: '09:00', end: '12:00' }])
  const sundayNight = weekly([{ days: [7], start: '01:00', end: '04:00' }])

  it('Europe/Berlin: Tue 09:00–12:00 stays 09:00–12:00 local on both sides of both transitions', () => {
    expectOpenExactly(tuesdays, 'Europe/Berlin', at('2026-03-24T08:00:00Z'), at('2026-03-24T11:00:00Z')) // CET
    expectOpenExactly(tuesdays, 'Europe/Berlin', at('2026-03-31T07:00:00Z'), at('2026-03-31T10:00:00Z')) // CEST
    expectOpenExactly(tuesdays, 'Europe/Berlin', at('2026-10-20T07:00:00Z'), at('2026-10-20T10:00:00Z')) // CEST
    expectOpenExactly(tuesdays, 'Europe/Berlin', at('2026-10-27T08:00:00Z'), at('2026-10-27T11:00:00Z')) // CET
  })

  it('Australia/Sydney: Tue 09:00–12:00 stays 09:00–12:00 local on both sides of both transitions', () => {
    expectOpenExactly(tuesdays, 'Australia/Sydney', at('2026-03-30T22:00:00Z'), at('2026-03-31T01:00:00Z')) // AEDT
    expectOpenExactly(tuesdays, 'Australia/Sydney', at('2026-04-06T23:00:00Z'), at('2026-04-07T02:00:00Z')) // AEST
    expectOpenExactly(tuesdays, 'Australia/Sydney', at('2026-09-28T23:00:00Z'), at('2026-09-29T02:00:00Z')) // AEST
    expectOpenExactly(tuesdays, 'Australia/Sydney', at('2026-10-05T22:00:00Z'), at('2026-10-06T01:00:00Z')) // AEDT
  })

  it('a 01:00–04:00 slot lasts 2 h on a spring-forward night and 4 h on a fall-back night', () => {
    const cases: [string, string, string, number][] = [
      ['Europe/Berlin', '2026-03-29T00:00:00Z', '2026-03-29T02:00:00Z', 2], // 01:00 CET → 04:00 CEST
      ['Europe/Berlin', '2026-10-24T23:00:00Z', '2026-10-25T03:00:00Z', 4], // 01:00 CEST → 04:00 CET
      ['Australia/Sydney', '2026-10-03T15:00:00Z', '2026-10-03T17:00:00Z', 2], // 01:00 AEST → 04:00 AEDT
      ['Australia/Sydney', '2026-04-04T14:00:00Z', '2026-04-04T18:00:00Z', 4], // 01:00 AEDT → 04:00 AEST
    ]
    for (const [timezone, from, to, hours] of cases) {
      expect(at(to) - at(from)).toBe(hours * HOUR)
      expectOpenExactly(sundayNight, timezone, at(from), at(to))
    }
    // The Sundays around them last the usual 3 h.
    expectOpenExactly(sundayNight, 'Europe/Berlin', at('2026-03-22T00:00:00Z'), at('2026-03-22T03:00:00Z'))
    expectOpenExactly(sundayNight, 'Australia/Sydney', at('2026-04-11T15:00:00Z'), at('2026-04-11T18:00:00Z'))
  })

  it('in the spring-forward gap a slot opens when the clocks jump', () => {
    // 02:30 does not exist on these nights: the slot opens at the jump to 03:00.
    const rule = weekly([{ days: [7], start: '02:30', end: '05:00' }])
    expectOpenExactly(rule, 'Europe/Berlin', at('2026-03-29T01:00:00Z'), at('2026-03-29T03:00:00Z'))
    expectOpenExactly(rule, 'Australia/Sydney', at('2026-10-03T16:00:00Z'), at('2026-10-03T18:00:00Z'))
    // A week later it is 02:30 again.
    expectOpenExactly(rule, 'Europe/Berlin', at('2026-04-05T00:30:00Z'), at('2026-04-05T03:00:00Z'))
  })

  it('a slot wholly inside the gap does not happen that night', () => {
    const rule = weekly([{ days: [7], start: '02:15', end: '02:45' }])
    for (let ms = at('2026-03-28T22:00:00Z'); ms < at('2026-03-29T22:00:00Z'); ms += 5 * MINUTE) {
      expect(decide(rule, unused, clock(ms, 'Europe/Berlin')).allow).toBe(false)
    }
    expect(nextOpening(rule, unused, clock(at('2026-03-28T12:00:00Z'), 'Europe/Berlin'))).toBe(
      at('2026-04-05T00:15:00Z'),
    )
  })

  it('in the fall-back fold a repeated time counts at its first pass only', () => {
    const rule = weekly([{ days: [7], start: '02:15', end: '02:45' }])
    expectOpenExactly(rule, 'Europe/Berlin', at('2026-10-25T00:15:00Z'), at('2026-10-25T00:45:00Z')) // CEST pass
    expect(decide(rule, unused, clock(at('2026-10-25T01:30:00Z'), 'Europe/Berlin'))).toEqual(
      deny('outside_schedule'),
    ) // 02:30 CET
    expectOpenExactly(rule, 'Australia/Sydney', at('2026-04-04T15:15:00Z'), at('2026-04-04T15:45:00Z')) // AEDT pass
    expect(decide(rule, unused, clock(at('2026-04-04T16:30:00Z'), 'Australia/Sydney'))).toEqual(
      deny('outside_schedule'),
    ) // 02:30 AEST
    // A slot reaching past the fold covers the repeated hour completely: 02:30 CEST → 03:30 CET is 2 h.
    expectOpenExactly(
      weekly([{ days: [7], start: '02:30', end: '03:30' }]),
      'Europe/Berlin',
      at('2026-10-25T00:30:00Z'),
      at('2026-10-25T02:30:00Z'),
    )
  })

  it('a local time maps to the first instant the wall clock shows it or later (checked minute by minute)', () => {
    // Brute force: the first whole minute, from 15 h before the wall time, whose local reading is at or past it.
    const firstShowing = (timezone: string, wall: DateTime) => {
      const target = wall.toMillis()
      const z = IANAZone.create(timezone)
      for (let t = target - 15 * HOUR; t < target + 15 * HOUR; t += MINUTE) {
        if (t + z.offset(t) * MINUTE >= target) return t
      }
      throw new Error('not found')
    }
    const transitionDays = [
      '2026-03-29',
      '2026-10-25',
      '2026-04-05',
      '2026-10-04',
      '2026-03-08',
      '2026-11-01',
      '2026-04-05',
      '2026-09-06',
    ]
    fc.assert(
      fc.property(
        zone,
        fc.oneof(fc.constantFrom(...transitionDays), localDate),
        fc.integer({ min: 0, max: 1439 }),
        fc.integer({ min: 1, max: 240 }),
        (timezone, date, startMinute, length) => {
          const day = DateTime.fromISO(date, { zone: 'utc' })
          const weekday = day.weekday as 1 | 2 | 3 | 4 | 5 | 6 | 7
          const endMinute = (startMinute + length) % 1440
          const rule = weekly([
            {
              days: [weekday],
              start: `${pad(Math.floor(startMinute / 60))}:${pad(startMinute % 60)}`,
              end: `${pad(Math.floor(endMinute / 60))}:${pad(endMinute % 60)}`,
            },
          ])
          const from = firstShowing(timezone, day.plus({ minutes: startMinute }))
          const to = firstShowing(timezone, day.plus({ minutes: startMinute + length }))
          if (to > from) expectOpenExactly(rule, timezone, from, to)
          else expect(decide(rule, unused, clock(from, timezone)).allow).toBe(false)
        },
      ),
      { numRuns: 60 },
    )
  })
})

// ---------------------------------------------------------------- validation and fail-closed

describe('validateRule', () => {
  const s = at('2026-05-01T08:00:00Z')
  const e = at('2026-05-01T12:00:00Z')
  const ok = [{ days: [2], start: '09:00', end: '12:00' }] as WeeklySlot[]
  const cases: [string, string, AccessRule][] = [
    ['permanent', 'no error', { kind: 'permanent' }],
    ['permanent with maxUses', 'no error', { kind: 'permanent', maxUses: 10 }],
    ['timed', 'no error', { kind: 'timed', startsAt: s, endsAt: e }],
    ['one_time', 'no error', { kind: 'one_time' }],
    ['one_time from', 'no error', { kind: 'one_time', startsAt: s }],
    ['one_time window', 'no error', { kind: 'one_time', startsAt: s, endsAt: e }],
    ['recurring', 'no error', weekly(ok)],
    ['recurring, one day range', 'no error', weekly(ok, { startsOn: '2026-05-05', endsOn: '2026-05-05' })],
    ['timed without end', 'invalid_window', { kind: 'timed', startsAt: s }],
    ['timed without start', 'invalid_window', { kind: 'timed', endsAt: e }],
    ['timed end = start', 'invalid_window', { kind: 'timed', startsAt: s, endsAt: s }],
    ['timed end < start', 'invalid_window', { kind: 'timed', startsAt: e, endsAt: s }],
    ['timed NaN', 'invalid_window', { kind: 'timed', startsAt: Number.NaN, endsAt: e }],
    ['timed fractional ms', 'invalid_window', { kind: 'timed', startsAt: s + 0.5, endsAt: e }],
    ['one_time end ≤ start', 'invalid_window', { kind: 'one_time', startsAt: e, endsAt: s }],
    ['permanent with a window', 'invalid_window', { kind: 'permanent', endsAt: e }],
    ['permanent with a schedule', 'invalid_schedule', { kind: 'permanent', schedule: { slots: ok } }],
    [
      'timed with a schedule',
      'invalid_schedule',
      { kind: 'timed', startsAt: s, endsAt: e, schedule: { slots: ok } },
    ],
    ['recurring with a window', 'invalid_window', { ...weekly(ok), endsAt: e }],
    ['recurring without schedule', 'invalid_schedule', { kind: 'recurring' }],
    ['no slots', 'invalid_schedule', weekly([])],
    ['15 slots', 'invalid_schedule', weekly(Array.from({ length: 15 }, () => ok[0]!))],
    ['empty days', 'invalid_schedule', weekly([{ days: [], start: '09:00', end: '12:00' }])],
    ['day 0', 'invalid_schedule', weekly([{ days: [0 as 1], start: '09:00', end: '12:00' }])],
    ['day 8', 'invalid_schedule', weekly([{ days: [8 as 1], start: '09:00', end: '12:00' }])],
    ['H:MM', 'invalid_schedule', weekly([{ days: [2], start: '9:00', end: '12:00' }])],
    ['25:00', 'invalid_schedule', weekly([{ days: [2], start: '09:00', end: '25:00' }])],
    ['12:60', 'invalid_schedule', weekly([{ days: [2], start: '09:00', end: '12:60' }])],
    ['start 24:00', 'invalid_schedule', weekly([{ days: [2], start: '24:00', end: '02:00' }])],
    ['09:00:00', 'invalid_schedule', weekly([{ days: [2], start: '09:00:00', end: '12:00' }])],
    [
      'endsOn before startsOn',
      'invalid_schedule',
      weekly(ok, { startsOn: '2026-05-10', endsOn: '2026-05-09' }),
    ],
    ['30 February', 'invalid_schedule', weekly(ok, { startsOn: '2026-02-30' })],
    ['date with time', 'invalid_schedule', weekly(ok, { endsOn: '2026-05-10T00:00' })],
    [
      'range without a Tuesday',
      'invalid_schedule',
      weekly(ok, { startsOn: '2026-05-06', endsOn: '2026-05-11' }),
    ],
    ['unknown kind', 'validation_failed', { kind: 'weekly' as 'timed' }],
    ['maxUses 0', 'validation_failed', { kind: 'permanent', maxUses: 0 }],
    ['maxUses 1.5', 'validation_failed', { kind: 'permanent', maxUses: 1.5 }],
  ]
  it.each(cases)('%s → %s', (_, code, rule) => {
    expect(thrown(() => validateRule(rule))).toBe(code)
  })

  it('assertTimezone accepts IANA names only', () => {
    for (const tz of ['Europe/Berlin', 'Australia/Sydney', 'UTC', 'America/Argentina/Buenos_Aires'])
      expect(thrown(() => assertTimezone(tz))).toBe('no error')
    for (const tz of ['', 'Mars/Olympus', 'Europe/Berlin ', '+02:00', 'CEST+1', 'local', 42]) {
      expect([tz, thrown(() => assertTimezone(tz))]).toEqual([tz, 'invalid_timezone'])
    }
  })

  it('decide never opens a code validateRule refuses', () => {
    const junkSlot = fc.record({
      days: fc.oneof(fc.array(fc.integer({ min: -1, max: 9 }), { maxLength: 3 }), fc.constant(undefined)),
      start: fc.oneof(hhmm, fc.constantFrom('24:00', '9:00', '', 'noon', '12:00:00')),
      end: fc.oneof(hhmm, fc.constantFrom('24:00', '24:01', '7', '')),
    })
    const junkRule = fc.record(
      {
        kind: fc.constantFrom('permanent', 'timed', 'one_time', 'recurring', 'weekly', ''),
        startsAt: fc.oneof(instant, fc.constantFrom(Number.NaN, 1.5, null, Number.POSITIVE_INFINITY)),
        endsAt: fc.oneof(instant, fc.constantFrom(Number.NaN, null, Number.NEGATIVE_INFINITY)),
        schedule: fc.oneof(
          fc.record(
            {
              slots: fc.array(junkSlot, { maxLength: 2 }),
              startsOn: fc.oneof(localDate, fc.constant('2026-13-01')),
              endsOn: localDate,
            },
            { requiredKeys: [] },
          ),
          fc.constant(null),
        ),
        maxUses: fc.oneof(fc.integer({ min: -1, max: 3 }), fc.constant(Number.NaN)),
      },
      { requiredKeys: ['kind'] },
    ) as fc.Arbitrary<AccessRule>
    fc.assert(
      fc.property(junkRule, zone, grace, instant, (rule, timezone, g, now) => {
        const refused = thrown(() => validateRule(rule)) !== 'no error'
        const decision = decide(rule, unused, clock(now, timezone, g))
        if (refused) expect(decision.allow).toBe(false)
      }),
      { numRuns: 500 },
    )
  })

  it('answers for any clock reading, and an impossible one is an unset clock', () => {
    const rules = [
      weekly([{ days: [1, 2, 3, 4, 5, 6, 7], start: '00:00', end: '24:00' }], {
        startsOn: '0001-01-01',
        endsOn: '9999-12-31',
      }),
      { kind: 'timed', startsAt: 0, endsAt: Number.MAX_SAFE_INTEGER } as AccessRule,
    ]
    fc.assert(
      fc.property(fc.constantFrom(...rules), fc.double(), zone, fc.double(), (rule, now, timezone, g) => {
        const decision = decide(rule, unused, clock(now, timezone, g))
        if (!Number.isFinite(now) || Math.abs(now) > 8.6e15) expect(decision).toEqual(deny('clock_not_set'))
      }),
      { numRuns: 300 },
    )
    expect(decide(rules[0]!, unused, clock(1e300))).toEqual(deny('clock_not_set'))
    expect(decide(rules[0]!, unused, clock(at('2026-05-05T08:00:00Z')))).toEqual(ALLOW)
  })

  it('a recurring code in an unknown time zone never opens', () => {
    const always = weekly([{ days: [1, 2, 3, 4, 5, 6, 7], start: '00:00', end: '24:00' }])
    expect(decide(always, unused, clock(at('2026-05-05T08:00:00Z'), 'Mars/Olympus'))).toEqual(
      deny('outside_schedule'),
    )
    expect(decide(always, unused, clock(at('2026-05-05T08:00:00Z'), ''))).toEqual(deny('outside_schedule'))
    expect(nextOpening(always, unused, clock(at('2026-05-05T08:00:00Z'), 'Mars/Olympus'))).toBe(null)
    // A timed code does not depend on the zone.
    const timed: AccessRule = {
      kind: 'timed',
      startsAt: at('2026-05-05T07:00:00Z'),
      endsAt: at('2026-05-05T09:00:00Z'),
    }
    expect(decide(timed, unused, clock(at('2026-05-05T08:00:00Z'), 'Mars/Olympus'))).toEqual(ALLOW)
  })
})

// ---------------------------------------------------------------- nextOpening and windowEnd

describe('nextOpening', () => {
  const startsAt = at('2026-05-01T08:00:00Z')
  const endsAt = at('2026-05-01T12:00:00Z')
  const timed: AccessRule = { kind: 'timed', startsAt, endsAt }

  it('is the start of the window (less the grace), now inside it, null after it', () => {
    const g = DEFAULT_GRACE_MS
    expect(nextOpening(timed, unused, clock(startsAt - DAY, 'UTC', g))).toBe(startsAt - g)
    expect(nextOpening(timed, unused, clock(startsAt + HOUR, 'UTC', g))).toBe(startsAt + HOUR)
    expect(nextOpening(timed, unused, clock(endsAt + g, 'UTC', g))).toBe(null)
    expect(nextOpening({ kind: 'permanent' }, unused, clock(startsAt))).toBe(startsAt)
    expect(nextOpening({ kind: 'one_time' }, { uses: 1 }, clock(startsAt))).toBe(null)
    expect(nextOpening({ kind: 'permanent', maxUses: 2 }, { uses: 2 }, clock(startsAt))).toBe(null)
    expect(nextOpening({ kind: 'permanent' }, unused, clock(null))).toBe(null)
  })

  it('finds the next weekly slot in the lock’s zone, after startsOn, and none after endsOn', () => {
    const rule = weekly([{ days: [2, 4], start: '09:00', end: '12:00' }], {
      startsOn: '2026-06-01',
      endsOn: '2026-06-30',
    })
    const next = (iso: string) => nextOpening(rule, unused, clock(at(iso), 'Australia/Sydney'))
    expect(next('2026-01-01T00:00:00Z')).toBe(at('2026-06-01T23:00:00Z')) // Tue 2 June 09:00 AEST
    expect(next('2026-06-02T00:00:00Z')).toBe(at('2026-06-02T00:00:00Z')) // already open
    expect(next('2026-06-02T02:00:00Z')).toBe(at('2026-06-03T23:00:00Z')) // Thu 4 June
    expect(next('2026-06-30T02:00:00Z')).toBe(null) // after the last slot on Tue 30 June
  })

  it('is the first instant decide allows, and nothing opens before it', () => {
    fc.assert(
      fc.property(
        validRule,
        zone,
        grace,
        instant,
        fc.double({ min: 0, max: 1, noNaN: true }),
        (rule, timezone, g, now, f) => {
          const lock = (ms: number) => clock(ms, timezone, g)
          const next = nextOpening(rule, unused, lock(now))
          if (next === null) {
            for (const later of [now, now + f * 14 * DAY])
              expect(decide(rule, unused, lock(later)).allow).toBe(false)
            return
          }
          expect(next).toBeGreaterThanOrEqual(now)
          expect(decide(rule, unused, lock(next))).toEqual(ALLOW)
          if (next > now) {
            for (const before of [now, next - 1, Math.floor(now + f * (next - now - 1))]) {
              expect(decide(rule, unused, lock(before)).allow).toBe(false)
            }
          }
        },
      ),
      { numRuns: 300 },
    )
  })
})

describe('windowEnd', () => {
  it('is endsAt, midnight after endsOn, or null when time never ends the code', () => {
    const e = at('2026-05-01T12:00:00Z')
    expect(windowEnd({ kind: 'timed', startsAt: e - HOUR, endsAt: e })).toBe(e)
    expect(windowEnd({ kind: 'one_time', endsAt: e })).toBe(e)
    expect(windowEnd({ kind: 'one_time' })).toBe(null)
    expect(windowEnd({ kind: 'permanent' })).toBe(null)
    const rule = weekly([{ days: [1], start: '09:00', end: '12:00' }], { endsOn: '2026-05-10' })
    expect(windowEnd(rule, 'Europe/Berlin')).toBe(at('2026-05-10T22:00:00Z'))
    expect(windowEnd(rule, 'Australia/Sydney')).toBe(at('2026-05-10T14:00:00Z'))
    expect(windowEnd(rule)).toBe(at('2026-05-11T12:00:00Z')) // the latest midnight on Earth, UTC−12
    expect(windowEnd(weekly([{ days: [1], start: '09:00', end: '12:00' }]), 'Europe/Berlin')).toBe(null)
    expect(thrown(() => windowEnd({ kind: 'timed', startsAt: e }))).toBe('invalid_window')
    expect(thrown(() => windowEnd(rule, 'Mars/Olympus'))).toBe('invalid_timezone')
  })

  it('no code opens from windowEnd + grace on, and without a zone the bound is never too early', () => {
    fc.assert(
      fc.property(
        validRule,
        zone,
        grace,
        fc.integer({ min: 0, max: 30 * DAY }),
        (rule, timezone, g, after) => {
          const end = windowEnd(rule, timezone)
          if (end === null) return
          expect(decide(rule, unused, clock(end + g + after, timezone, g)).allow).toBe(false)
          expect(windowEnd(rule)!).toBeGreaterThanOrEqual(end)
        },
      ),
      { numRuns: 300 },
    )
  })
})
