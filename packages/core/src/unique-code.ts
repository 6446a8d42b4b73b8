/**
 * Unique codes (SPEC §4): 10 characters of Crockford's base32 alphabet (digits and A–Z without
 * I, L, O, U), stored canonical ("ABCDE FGHJK" without the dash), shown as `ABCDE-FGHJK`, typed
 * case-insensitively with spaces and dashes ignored and the look-alikes O→0, I→1, L→1 accepted.
 * A unique code lives at most six calendar months.
 */
import { DateTime } from 'luxon'
import { LatchkeyError } from './errors.ts'
import { drawInt, type RandomInt, secureRandomInt } from './random.ts'

export const CROCKFORD_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'
export const UNIQUE_CODE_LENGTH = 10
/** A unique code expires at the latest this many calendar months after its creation. */
export const UNIQUE_CODE_MAX_MONTHS = 6

const CANONICAL = /^[0-9ABCDEFGHJKMNPQRSTVWXYZ]{10}$/
/** Longer input is refused before it is looked at character by character. */
const MAX_INPUT_LENGTH = 64
/** Characters a person may type between the groups: spaces and the dashes a phone or mail client substitutes. */
const SEPARATORS = new Set([
  ' ',
  '\t',
  '\n',
  '\r',
  '\u00a0',
  '-',
  '\u2010',
  '\u2011',
  '\u2012',
  '\u2013',
  '\u2014',
  '\u2212',
])
const LOOK_ALIKES: Readonly<Record<string, string>> = { O: '0', I: '1', L: '1' }

export function isCanonicalUniqueCode(value: unknown): value is string {
  return typeof value === 'string' && CANONICAL.test(value)
}

/** A new code in canonical form (10 characters, no dash), each character uniform over the 32. */
export function generateUniqueCode(random: RandomInt = secureRandomInt): string {
  let code = ''
  for (let i = 0; i < UNIQUE_CODE_LENGTH; i++) code += CROCKFORD_ALPHABET[drawInt(random, 32)]
  return code
}

/** `ABCDEFGHJK` → `ABCDE-FGHJK`. Throws `validation_failed` for anything that is not canonical. */
export function formatUniqueCode(canonical: string): string {
  if (!isCanonicalUniqueCode(canonical)) {
    throw new LatchkeyError(
      'validation_failed',
      'not a canonical unique code (10 Crockford base32 characters)',
    )
  }
  return `${canonical.slice(0, 5)}-${canonical.slice(5)}`
}

/**
 * What a person typed → the canonical code, or null when it cannot be one (a U or any other
 * character outside the alphabet, or not exactly 10 characters once spaces and dashes are removed).
 * Only ASCII letters are folded to upper case, so no other script's letter can stand in for one.
 */
export function normalizeUniqueCode(input: string): string | null {
  if (typeof input !== 'string' || input.length > MAX_INPUT_LENGTH) return null
  let code = ''
  for (const char of input) {
    if (SEPARATORS.has(char)) continue
    const upper = char >= 'a' && char <= 'z' ? char.toUpperCase() : char
    const mapped = LOOK_ALIKES[upper] ?? upper
    if (mapped.length !== 1 || !CROCKFORD_ALPHABET.includes(mapped)) return null
    code += mapped
    if (code.length > UNIQUE_CODE_LENGTH) return null
  }
  return code.length === UNIQUE_CODE_LENGTH ? code : null
}

/**
 * The latest allowed `expiresAt`: six calendar months after `createdAt` in UTC, same time of day,
 * on the same day of the month or the target month's last day when it is shorter
 * (31 August → 28 February, or 29 February in a leap year).
 */
export function maxUniqueCodeExpiry(createdAt: number): number {
  const created = DateTime.fromMillis(checkInstant(createdAt, 'createdAt'), { zone: 'utc' })
  return created.plus({ months: UNIQUE_CODE_MAX_MONTHS }).toMillis()
}

/** Throws `expiry_in_past` unless expiresAt is after createdAt, `expiry_too_far` when it is past the six months. */
export function validateUniqueCodeExpiry(createdAt: number, expiresAt: number): void {
  checkInstant(createdAt, 'createdAt')
  checkInstant(expiresAt, 'expiresAt')
  if (expiresAt <= createdAt) {
    throw new LatchkeyError('expiry_in_past', 'a unique code must expire after it is created')
  }
  const latest = maxUniqueCodeExpiry(createdAt)
  if (expiresAt > latest) {
    throw new LatchkeyError(
      'expiry_too_far',
      `a unique code expires at most six months after creation, by ${new Date(latest).toISOString()}`,
      { details: { maxExpiresAt: new Date(latest).toISOString() } },
    )
  }
}

function checkInstant(ms: number, name: string): number {
  // ±8.64e15 ms is the range of a JavaScript Date.
  if (!Number.isFinite(ms) || Math.abs(ms) > 8.64e15) {
    throw new LatchkeyError('validation_failed', `${name} is not a valid time`)
  }
  return ms
}
