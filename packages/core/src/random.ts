/**
 * Uniform random integers for PINs and unique codes. The default source is the platform's CSPRNG
 * (`crypto.getRandomValues`, present in browsers and in Node 20), with rejection sampling so that
 * every value below the bound is exactly as likely as any other (no modulo bias).
 */
import { LatchkeyError } from './errors.ts'

/** Returns an integer in [0, maxExclusive). Injected in tests to make generation reproducible. */
export type RandomInt = (maxExclusive: number) => number

const RANGE = 2 ** 32
/** Rejection sampling accepts more than half of all draws for any bound, so this is never reached in practice. */
const MAX_DRAWS = 64

/**
 * An integer in [0, maxExclusive) from a source of uniform 32-bit words: a word at or above the
 * largest multiple of the bound below 2^32 is discarded and another drawn, so no value is favoured.
 */
export function uniformInt(maxExclusive: number, nextUint32: () => number): number {
  if (!Number.isInteger(maxExclusive) || maxExclusive < 1 || maxExclusive > RANGE) {
    throw new LatchkeyError('internal', `random bound must be an integer in 1 … 2^32, got ${maxExclusive}`)
  }
  const limit = RANGE - (RANGE % maxExclusive)
  for (let draw = 0; draw < MAX_DRAWS; draw++) {
    const value = nextUint32()
    if (value < limit) return value % maxExclusive
  }
  throw new LatchkeyError('internal', 'the random source keeps returning out-of-range values')
}

export const secureRandomInt: RandomInt = (maxExclusive) => {
  const word = new Uint32Array(1)
  return uniformInt(maxExclusive, () => globalThis.crypto.getRandomValues(word)[0]!)
}

/** Calls `random` and checks that it kept its promise (an injected source may not). */
export function drawInt(random: RandomInt, maxExclusive: number): number {
  const value = random(maxExclusive)
  if (!Number.isInteger(value) || value < 0 || value >= maxExclusive) {
    throw new LatchkeyError('internal', `random source returned ${value}, outside 0 … ${maxExclusive - 1}`)
  }
  return value
}
