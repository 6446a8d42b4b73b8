/**
 * The door-lock behaviour of the virtual Matter lock: matter.js's DoorLockServer (users, PIN
 * credentials, Week Day and Year Day schedules, stored in the node's storage) plus what a real lock
 * does at its keypad and the stock server does not: a typed PIN is checked against its user's status,
 * user type and schedules (fail closed: a schedule user with no schedule, or no known time, is
 * refused), a DisposableUser opens once and is then disabled, and every attempt is a LockOperation or
 * LockOperationError event with the user's index.
 */
import { Bytes } from '@matter/main'
import { DoorLockServer } from '@matter/main/behaviors/door-lock'
import { DoorLock } from '@matter/main/clusters/door-lock'
import { DateTime } from 'luxon'

export const LockFeatures = DoorLockServer.with(
  'User',
  'PinCredential',
  'WeekDayAccessSchedules',
  'YearDayAccessSchedules',
)

export type KeypadResult =
  | { result: 'unlocked'; userIndex: number }
  | { result: 'denied'; reason: 'unknown_code' | 'disabled' | 'outside_schedule'; userIndex: number | null }

/** Matter's DaysMask bit of a luxon weekday (1 = Monday … 7 = Sunday). */
const DAY_KEYS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'] as const

export class KeypadLockServer extends LockFeatures {
  /** A PIN typed at the keypad, judged at `nowMs` (the lock's clock) in the lock's zone `timeZone`. */
  enterPin(pin: string, nowMs: number, timeZone: string): KeypadResult {
    const auth = this.auth
    const typed = Bytes.fromString(pin)
    let userIndex: number | null = null
    let credentialIndex = 0
    for (const cred of auth.credentials) {
      if (cred.credentialType !== DoorLock.CredentialType.Pin) continue
      if (Bytes.areEqual(auth.decrypt(cred.credentialData), typed)) {
        userIndex = auth.findUserIndexForCredential(DoorLock.CredentialType.Pin, cred.credentialIndex)
        credentialIndex = cred.credentialIndex
        break
      }
    }
    const user = userIndex === null ? undefined : auth.findUser(userIndex)
    const credentials = [{ credentialType: DoorLock.CredentialType.Pin, credentialIndex }]
    if (user === undefined || userIndex === null) {
      this.#denied(DoorLock.OperationError.InvalidCredential, null, null)
      return { result: 'denied', reason: 'unknown_code', userIndex: null }
    }
    if (user.userStatus !== DoorLock.UserStatus.OccupiedEnabled) {
      this.#denied(DoorLock.OperationError.DisabledUserDenied, userIndex, credentials)
      return { result: 'denied', reason: 'disabled', userIndex }
    }
    if (!this.#withinSchedules(user.userType, userIndex, nowMs, timeZone)) {
      this.#denied(DoorLock.OperationError.Restricted, userIndex, credentials)
      return { result: 'denied', reason: 'outside_schedule', userIndex }
    }
    if (user.userType === DoorLock.UserType.DisposableUser) {
      auth.replaceUser(userIndex, { ...user, userStatus: DoorLock.UserStatus.OccupiedDisabled })
    }
    this.state.lockState = DoorLock.LockState.Unlocked
    this.events.lockOperation.emit(
      {
        lockOperationType: DoorLock.LockOperationType.Unlock,
        operationSource: DoorLock.OperationSource.Keypad,
        userIndex,
        fabricIndex: null,
        sourceNode: null,
        credentials,
      },
      this.context,
    )
    this.state.lockState = DoorLock.LockState.Locked
    return { result: 'unlocked', userIndex }
  }

  /**
   * Schedule users open only inside one of their schedules; a DisposableUser with schedules only
   * inside them. Year Day times are Unix seconds; Week Day times are in the lock's zone.
   */
  #withinSchedules(type: DoorLock.UserType, userIndex: number, nowMs: number, timeZone: string): boolean {
    const yearDay = this.state.yearDaySchedules.filter((s) => s.userIndex === userIndex)
    const weekDay = this.state.weekDaySchedules.filter((s) => s.userIndex === userIndex)
    const nowS = Math.floor(nowMs / 1000)
    const inYear = yearDay.some((s) => s.localStartTime <= nowS && nowS < s.localEndTime)
    const local = DateTime.fromMillis(nowMs, { zone: timeZone })
    const minute = local.hour * 60 + local.minute
    const dayKey = DAY_KEYS[local.weekday - 1] ?? 'monday'
    const inWeek = weekDay.some((s) => {
      const mask = s.daysMask as Record<string, boolean | undefined>
      return (
        mask[dayKey] === true &&
        s.startHour * 60 + s.startMinute <= minute &&
        minute < s.endHour * 60 + s.endMinute + (s.endHour === 23 && s.endMinute === 59 ? 1 : 0)
      )
    })
    switch (type) {
      case DoorLock.UserType.UnrestrictedUser:
        return true
      case DoorLock.UserType.YearDayScheduleUser:
        return inYear
      case DoorLock.UserType.WeekDayScheduleUser:
        // A weekly code with a date range carries that range as a Year Day schedule too.
        return inWeek && (yearDay.length === 0 || inYear)
      case DoorLock.UserType.DisposableUser:
        return yearDay.length === 0 || inYear
      default:
        return false
    }
  }

  #denied(
    error: DoorLock.OperationError,
    userIndex: number | null,
    credentials: { credentialType: DoorLock.CredentialType; credentialIndex: number }[] | null,
  ) {
    this.events.lockOperationError.emit(
      {
        lockOperationType: DoorLock.LockOperationType.Unlock,
        operationSource: DoorLock.OperationSource.Keypad,
        operationError: error,
        userIndex,
        fabricIndex: null,
        sourceNode: null,
        credentials,
      },
      this.context,
    )
  }
}
