/**
 * When a stay begins and ends (SPEC §11): `checkIn`/`checkOut` are dates ("2027-03-08", taking the
 * property's check-in and check-out times) or date-times — local ("2027-03-08T14:00", read in the
 * property's zone) or with an offset. The code opens `bufferBeforeMinutes` before check-in and closes
 * `bufferAfterMinutes` after check-out. Local times go through core's DST-aware mapping.
 */
import { checkRequestInstant, LatchkeyError, localToInstant, parseLocalDate, zoneOf } from '@latchkey/core'
import type { Property } from '../store/index.ts'

const MINUTE_MS = 60_000
const LOCAL_DATE_TIME = /^(\d{4}-\d{2}-\d{2})T([01]\d|2[0-3]):([0-5]\d)(?::00)?$/
const WITH_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/

const minutesOf = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5))

/** The instant of a check-in or check-out as given; `defaultTime` is the property's "HH:MM". */
export function stayInstant(value: string, timezone: string, defaultTime: string, field: string): number {
  return checkRequestInstant(givenInstant(value, timezone, defaultTime, field), field)
}

function givenInstant(value: string, timezone: string, defaultTime: string, field: string): number {
  const zone = zoneOf(timezone)
  if (zone === null) throw new LatchkeyError('invalid_timezone', `unknown time zone ${timezone}`)
  const date = parseLocalDate(value)
  if (date !== null) return localToInstant(zone, date, minutesOf(defaultTime))
  const local = LOCAL_DATE_TIME.exec(value)
  if (local !== null) {
    const day = parseLocalDate(local[1])
    if (day !== null) return localToInstant(zone, day, Number(local[2]) * 60 + Number(local[3]))
  }
  if (WITH_OFFSET.test(value) && !Number.isNaN(Date.parse(value))) return Date.parse(value)
  throw new LatchkeyError(
    'validation_failed',
    `${field} is a date ("2027-03-08") or a date-time ("2027-03-08T15:00", in the property's zone, or with an offset), not "${value}"`,
  )
}

export interface StayTimes {
  checkInAt: number
  checkOutAt: number
  /** The code's window. */
  startsAt: number
  endsAt: number
}

export function stayTimes(property: Property, checkIn: string, checkOut: string): StayTimes {
  const checkInAt = stayInstant(checkIn, property.timezone, property.checkInTime, 'checkIn')
  const checkOutAt = stayInstant(checkOut, property.timezone, property.checkOutTime, 'checkOut')
  if (checkOutAt <= checkInAt) {
    throw new LatchkeyError('invalid_window', 'check-out must come after check-in')
  }
  return {
    checkInAt,
    checkOutAt,
    startsAt: checkInAt - property.bufferBeforeMinutes * MINUTE_MS,
    endsAt: checkOutAt + property.bufferAfterMinutes * MINUTE_MS,
  }
}
