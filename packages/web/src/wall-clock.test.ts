import { describe, expect, it } from 'vitest'
import { formatLocal, formatLocalWindow, formatSchedule } from './wall-clock.ts'

describe('the …Local times of answers, as the lock reads them', () => {
  it('shows the wall clock as written, whatever the offset and the browser’s zone', () => {
    expect(formatLocal('2026-12-03T10:00+11:00')).toBe('Thu 3 Dec 10:00')
    expect(formatLocal('2026-12-03T23:30-05:00')).toBe('Thu 3 Dec 23:30')
    expect(formatLocal('2027-01-01T00:05:30.250+00:00')).toBe('Fri 1 Jan 00:05')
    // the night Sydney's clocks go back: both readings of 02:30 keep their own wall clock
    expect(formatLocal('2027-04-04T02:30+11:00')).toBe('Sun 4 Apr 02:30')
    expect(formatLocal('2027-04-04T02:30+10:00')).toBe('Sun 4 Apr 02:30')
    expect(formatLocal(null)).toBe('—')
    expect(formatLocal('not a time')).toBe('—')
  })

  it('says a window on one day with the day once, and across days in full', () => {
    expect(formatLocalWindow('2026-12-08T10:00+11:00', '2026-12-08T12:00+11:00')).toBe('Tue 10:00–12:00')
    expect(formatLocalWindow('2026-12-08T22:00+11:00', '2026-12-09T09:00+11:00')).toBe(
      'Tue 8 Dec 22:00 – Wed 9 Dec 09:00',
    )
    expect(formatLocalWindow(null, '2026-12-08T12:00+11:00')).toBe('until Tue 8 Dec 12:00')
    expect(formatLocalWindow('2026-12-08T10:00+11:00', null)).toBe('from Tue 8 Dec 10:00')
    expect(formatLocalWindow(null, null)).toBe('')
  })

  it('says a weekly schedule by its days and hours', () => {
    expect(
      formatSchedule({
        slots: [
          { days: [2, 4], start: '09:00', end: '12:00' },
          { days: [7], start: '18:00', end: '20:00' },
        ],
      }),
    ).toBe('Tue, Thu 09:00–12:00; Sun 18:00–20:00')
  })
})
