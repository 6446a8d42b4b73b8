import { describe, expect, it } from 'vitest'
import { isLatchkeyError } from './errors.ts'
import { secureRandomInt, uniformInt } from './random.ts'

const scripted = (words: number[]) => {
  let i = 0
  return () => {
    if (i >= words.length) throw new Error('script exhausted')
    return words[i++]!
  }
}

describe('uniformInt', () => {
  it('discards the top words that would favour small values (no modulo bias)', () => {
    // 2^32 = 429496729 · 10 + 6: the six words 4294967290 … 4294967295 are drawn again.
    expect(uniformInt(10, scripted([4294967295, 4294967290, 4294967289]))).toBe(9)
    expect(uniformInt(10, scripted([4294967290, 17]))).toBe(7)
    // 32 divides 2^32: nothing is discarded.
    expect(uniformInt(32, scripted([4294967295]))).toBe(31)
    // For 3·2^30 the last quarter of all words is discarded.
    expect(uniformInt(3 * 2 ** 30, scripted([3 * 2 ** 30, 2 ** 32 - 1, 5]))).toBe(5)
  })

  it('refuses a bound it cannot serve', () => {
    for (const bound of [0, -1, 1.5, 2 ** 32 + 1, Number.NaN]) {
      let code = 'no error'
      try {
        uniformInt(bound, () => 0)
      } catch (error) {
        if (isLatchkeyError(error)) code = error.code
      }
      expect([bound, code]).toEqual([bound, 'internal'])
    }
  })
})

describe('secureRandomInt', () => {
  it('stays within the bound and reaches every value', () => {
    const seen = new Set<number>()
    for (let i = 0; i < 2000; i++) {
      const value = secureRandomInt(10)
      expect(Number.isInteger(value) && value >= 0 && value < 10).toBe(true)
      seen.add(value)
    }
    // Missing a digit in 2000 draws has probability 10 · 0.9^2000 < 10^-90.
    expect(seen.size).toBe(10)
    expect(secureRandomInt(1)).toBe(0)
    expect(secureRandomInt(2 ** 32)).toBeLessThan(2 ** 32)
  })
})
