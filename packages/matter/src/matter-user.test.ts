import { DoorLock } from '@matter/main/clusters/door-lock'
import { describe, expect, it } from 'vitest'
import { matterUserOf } from './matter-user.ts'

const base = { userIndex: 3, userUniqueId: 3, name: 'latchkey3', pin: '583016', timezone: 'Europe/Berlin' }

describe('a Latchkey rule as a Matter user', () => {
  it('permanent: an unrestricted user with no schedule', () => {
    expect(matterUserOf({ ...base, rule: { kind: 'permanent' } })).toEqual({
      userIndex: 3,
      userName: 'latchkey3',
      userUniqueId: 3,
      userType: DoorLock.UserType.UnrestrictedUser,
      pin: '583016',
    })
  })

  it('timed: a Year Day schedule in Unix seconds', () => {
    const startsAt = Date.parse('2026-12-03T09:00:00Z')
    const user = matterUserOf({ ...base, rule: { kind: 'timed', startsAt, endsAt: startsAt + 7_200_000 } })
    expect(user.userType).toBe(DoorLock.UserType.YearDayScheduleUser)
    expect(user.yearDay).toEqual({ start: startsAt / 1000, end: startsAt / 1000 + 7200 })
  })

  it('one_time: a disposable user, its window (if any) as a Year Day schedule', () => {
    expect(matterUserOf({ ...base, rule: { kind: 'one_time' } }).userType).toBe(
      DoorLock.UserType.DisposableUser,
    )
    expect(matterUserOf({ ...base, rule: { kind: 'one_time' } }).yearDay).toBeUndefined()
  })

  it('recurring: a Week Day schedule per slot, up to midnight as 23:59, its dates in the lock’s zone', () => {
    const user = matterUserOf({
      ...base,
      rule: {
        kind: 'recurring',
        schedule: {
          slots: [
            { days: [2], start: '09:00', end: '12:30' },
            { days: [6, 7], start: '18:00', end: '24:00' },
          ],
          startsOn: '2026-12-01',
          endsOn: '2026-12-31',
        },
      },
    })
    expect(user.userType).toBe(DoorLock.UserType.WeekDayScheduleUser)
    expect(user.weekDays).toEqual([
      { days: [2], startHour: 9, startMinute: 0, endHour: 12, endMinute: 30 },
      { days: [6, 7], startHour: 18, startMinute: 0, endHour: 23, endMinute: 59 },
    ])
    // Berlin is UTC+1 in December: the range is midnight of the 1st to midnight after the 31st there.
    expect(user.yearDay).toEqual({
      start: Date.parse('2026-11-30T23:00:00Z') / 1000,
      end: Date.parse('2026-12-31T23:00:00Z') / 1000,
    })
  })
})
