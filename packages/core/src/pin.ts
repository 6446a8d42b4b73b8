/**
 * Keypad PINs of synced codes (SPEC §3): 4–10 ASCII digits, never a weak one.
 *
 * Weak means guessable before anything else:
 *   repeated  a block of at most half the length, repeated: 1111, 1212, 123123, 1234512345
 *   sequence  each digit one more (or one less) than the one before, wrapping 9→0 and 0→9 as on a
 *             keypad row "1234567890": 1234, 0123, 7890, 8901, 9876, 3210, 0987
 *   date      a calendar date in a usual written order:
 *             4 digits  DDMM, MMDD (any day that exists in some year), YYYY 1900–2099
 *             6 digits  DDMMYY, MMDDYY, YYMMDD (the day exists in 19YY or 20YY)
 *             8 digits  DDMMYYYY, MMDDYYYY, YYYYMMDD (YYYY 1900–2099, the day exists that year)
 */
import { DateTime } from 'luxon'
import { LatchkeyError } from './errors.ts'
import { drawInt, type RandomInt, secureRandomInt } from './random.ts'

export const PIN_MIN_LENGTH = 4
export const PIN_MAX_LENGTH = 10
/** Random candidates tried by generatePin before it gives up. */
export const MAX_PIN_TRIES = 1000

export type WeakPinReason = 'repeated' | 'sequence' | 'date'

const PIN_FORMAT = /^[0-9]{4,10}$/
const DIGITS = /^[0-9]+$/

export function isPinFormat(pin: unknown): pin is string {
  return typeof pin === 'string' && PIN_FORMAT.test(pin)
}

/** Why a digit string is weak, or null when it is not. Strings that are not all digits are never "weak". */
export function weakPinReason(pin: string): WeakPinReason | null {
  if (!DIGITS.test(pin)) return null
  if (isRepeatedBlock(pin)) return 'repeated'
  if (isRun(pin, 1) || isRun(pin, 9)) return 'sequence'
  if (isDatePin(pin)) return 'date'
  return null
}

/** Throws `invalid_pin` when the PIN is not 4–10 ASCII digits, `weak_pin` when it is weak. */
export function validatePin(pin: unknown): asserts pin is string {
  if (!isPinFormat(pin)) {
    throw new LatchkeyError('invalid_pin', `a PIN is ${PIN_MIN_LENGTH} to ${PIN_MAX_LENGTH} digits`)
  }
  const reason = weakPinReason(pin)
  if (reason !== null) {
    const why = { repeated: 'repeats the same digits', sequence: 'is a run of digits', date: 'is a date' }[
      reason
    ]
    throw new LatchkeyError('weak_pin', `this PIN ${why}; choose one that is harder to guess`, {
      details: { reason },
    })
  }
}

/**
 * A random PIN of `length` digits that is not weak and not in `livePins` (the PINs live on the lock).
 * Throws `conflict` when MAX_PIN_TRIES random candidates were all weak or live.
 */
export function generatePin(
  length: number,
  livePins: ReadonlySet<string>,
  random: RandomInt = secureRandomInt,
): string {
  if (!Number.isInteger(length) || length < PIN_MIN_LENGTH || length > PIN_MAX_LENGTH) {
    throw new LatchkeyError(
      'invalid_pin',
      `a PIN is ${PIN_MIN_LENGTH} to ${PIN_MAX_LENGTH} digits, not ${length}`,
    )
  }
  for (let attempt = 0; attempt < MAX_PIN_TRIES; attempt++) {
    let pin = ''
    for (let i = 0; i < length; i++) pin += String(drawInt(random, 10))
    if (weakPinReason(pin) === null && !livePins.has(pin)) return pin
  }
  throw new LatchkeyError(
    'conflict',
    `no free ${length}-digit PIN found after ${MAX_PIN_TRIES} tries; use a longer PIN or remove unused codes`,
  )
}

function isRepeatedBlock(pin: string): boolean {
  for (let block = 1; block <= pin.length / 2; block++) {
    if (pin.length % block === 0 && pin.slice(block) === pin.slice(0, -block)) return true
  }
  return false
}

/** Every digit is the previous one plus `step`, modulo 10. */
function isRun(pin: string, step: number): boolean {
  for (let i = 1; i < pin.length; i++) {
    if (Number(pin[i]) !== (Number(pin[i - 1]) + step) % 10) return false
  }
  return true
}

const LEAP_YEAR = 2000

function dateExists(year: number, month: number, day: number): boolean {
  return DateTime.utc(year, month, day).isValid
}

function twoDigitYearDate(yy: number, month: number, day: number): boolean {
  return dateExists(1900 + yy, month, day) || dateExists(2000 + yy, month, day)
}

function fourDigitYearDate(yyyy: number, month: number, day: number): boolean {
  return yyyy >= 1900 && yyyy <= 2099 && dateExists(yyyy, month, day)
}

function isDatePin(pin: string): boolean {
  const n = (from: number, to: number) => Number(pin.slice(from, to))
  switch (pin.length) {
    case 4:
      return (
        dateExists(LEAP_YEAR, n(2, 4), n(0, 2)) || // DDMM
        dateExists(LEAP_YEAR, n(0, 2), n(2, 4)) || // MMDD
        (n(0, 4) >= 1900 && n(0, 4) <= 2099) // YYYY
      )
    case 6:
      return (
        twoDigitYearDate(n(4, 6), n(2, 4), n(0, 2)) || // DDMMYY
        twoDigitYearDate(n(4, 6), n(0, 2), n(2, 4)) || // MMDDYY
        twoDigitYearDate(n(0, 2), n(2, 4), n(4, 6)) // YYMMDD
      )
    case 8:
      return (
        fourDigitYearDate(n(4, 8), n(2, 4), n(0, 2)) || // DDMMYYYY
        fourDigitYearDate(n(4, 8), n(0, 2), n(2, 4)) || // MMDDYYYY
        fourDigitYearDate(n(0, 4), n(4, 6), n(6, 8)) // YYYYMMDD
      )
    default:
      return false
  }
}
