/**
 * What capacity planning costs the server: the diagnosis of a scheduled code follows the lock's plan
 * through every change ahead (codes coming due, ending) to find when the code would find no slot.
 * The lock here is an LK-100 (250 slots) with a mixed table: 125 weekly codes with first and last
 * days spread over months (each placed in Europe/Berlin time, the costly part), 125 timed codes two
 * days apart, and the code asked about, 300 days ahead. One plan of the same lock (what the reconciler
 * computes on each pass) is measured beside it.
 */
import { forecastNoSlots, type PlannedCode, type PlanOptions, planLock } from '@latchkey/server'
import { defineSuite, formatNumber, measureTogether, timeRow } from './lib.ts'

const HOUR = 3_600_000
const DAY = 24 * HOUR
const NOW = Date.UTC(2030, 0, 13, 9, 0, 0)
const day = (offset: number) => new Date(NOW + offset * DAY).toISOString().slice(0, 10)

function mixedLock(): PlannedCode[] {
  const base = { digest: '', deleted: false, uses: 0, lastUsedAt: null }
  const codes: PlannedCode[] = []
  for (let i = 0; i < 125; i++) {
    const weekday = ((i % 7) + 1) as 1 | 2 | 3 | 4 | 5 | 6 | 7
    codes.push({
      ...base,
      id: `weekly-${i}`,
      rule: {
        kind: 'recurring',
        schedule: {
          slots: [{ days: [weekday], start: '09:00', end: '12:00' }],
          startsOn: day(i % 50),
          endsOn: day(100 + i),
        },
      },
    })
  }
  for (let i = 0; i < 125; i++) {
    const startsAt = NOW + i * 2 * DAY
    codes.push({ ...base, id: `timed-${i}`, rule: { kind: 'timed', startsAt, endsAt: startsAt + 5 * HOUR } })
  }
  codes.push({
    ...base,
    id: 'asked',
    rule: { kind: 'timed', startsAt: NOW + 300 * DAY, endsAt: NOW + 301 * DAY },
  })
  return codes
}

export default defineSuite({
  name: 'capacity-forecast',
  run() {
    const codes = mixedLock()
    const options: PlanOptions = {
      nowMs: NOW,
      leadMs: DAY,
      timezone: 'Europe/Berlin',
      capacity: 250,
      usedUpRetentionMs: DAY,
    }
    const answer = forecastNoSlots(codes, {}, options).get('asked') ?? null
    const [forecast, plan] = measureTogether(
      [
        {
          name: 'forecast: when will each code find no slot (a year ahead)',
          fn: () => forecastNoSlots(codes, {}, options),
        },
        { name: 'one plan of the same lock (a reconciler pass)', fn: () => planLock(codes, {}, options) },
      ],
      { maxSamples: 16, maxTimeMs: 4000 },
    )
    return [
      timeRow(forecast!, `251 codes; answer: ${answer === null ? 'fits' : new Date(answer).toISOString()}`),
      timeRow(plan!, '251 codes'),
      {
        name: '… forecast as a multiple of one plan',
        value: formatNumber(forecast!.medianNs / plan!.medianNs),
        unit: '× plan (medians)',
      },
    ]
  },
})
