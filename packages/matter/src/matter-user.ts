/**
 * A Latchkey access rule as a Matter Door Lock user (SPEC §12): `permanent` an UnrestrictedUser,
 * `timed` a YearDayScheduleUser with one Year Day schedule (Unix seconds), `recurring` a
 * WeekDayScheduleUser with a Week Day schedule per slot and day set (the lock's local time; a date
 * range goes along as a Year Day schedule), `one_time` a DisposableUser (its window, if any, as a Year
 * Day schedule). `maxUses` is not the lock's: the server counts opens from the lock's events.
 */
import type { AccessRule } from '@latchkey/core'
import { DoorLock } from '@matter/main/clusters/door-lock'
import { DateTime } from 'luxon'
import type { DesiredUser, WeekDaySlot } from './controller.ts'

function hourMinute(hhmm: string): { hour: number; minute: number } {
  // Matter's schedules end at 23:59 at the latest; a slot up to midnight ends there (the virtual
  // lock, like the specification's "end of day", counts 23:59 as the whole last minute).
  if (hhmm === '24:00') return { hour: 23, minute: 59 }
  const [h, m] = hhmm.split(':').map(Number)
  return { hour: h ?? 0, minute: m ?? 0 }
}

function dayStartS(date: string, timezone: string, plusDays = 0): number {
  const day = DateTime.fromISO(date, { zone: timezone }).startOf('day').plus({ days: plusDays })
  return Math.floor(day.toSeconds())
}

export function userTypeOf(rule: AccessRule): DoorLock.UserType {
  switch (rule.kind) {
    case 'permanent':
      return DoorLock.UserType.UnrestrictedUser
    case 'timed':
      return DoorLock.UserType.YearDayScheduleUser
    case 'recurring':
      return DoorLock.UserType.WeekDayScheduleUser
    case 'one_time':
      return DoorLock.UserType.DisposableUser
  }
}

export function matterUserOf(input: {
  userIndex: number
  userUniqueId: number
  name: string
  pin: string
  rule: AccessRule
  timezone: string
}): DesiredUser {
  const { rule } = input
  const user: DesiredUser = {
    userIndex: input.userIndex,
    userName: input.name,
    userUniqueId: input.userUniqueId,
    userType: userTypeOf(rule),
    pin: input.pin,
  }
  if (rule.startsAt !== undefined && rule.endsAt !== undefined) {
    user.yearDay = { start: Math.floor(rule.startsAt / 1000), end: Math.ceil(rule.endsAt / 1000) }
  }
  if (rule.kind === 'recurring' && rule.schedule !== undefined) {
    const { schedule } = rule
    user.weekDays = schedule.slots.map((slot): WeekDaySlot => {
      const start = hourMinute(slot.start)
      const end = hourMinute(slot.end)
      return {
        days: [...slot.days],
        startHour: start.hour,
        startMinute: start.minute,
        endHour: end.hour,
        endMinute: end.minute,
      }
    })
    if (schedule.startsOn !== undefined || schedule.endsOn !== undefined) {
      user.yearDay = {
        start: schedule.startsOn === undefined ? 0 : dayStartS(schedule.startsOn, input.timezone),
        end: schedule.endsOn === undefined ? 0xffffffff : dayStartS(schedule.endsOn, input.timezone, 1),
      }
    }
  }
  return user
}
