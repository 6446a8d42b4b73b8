import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { sameSecret } from './constant-time.ts'

describe('sameSecret', () => {
  it('is string equality for strings up to the width', () => {
    const digits = fc.string({ unit: fc.constantFrom(...'0123456789'), maxLength: 16 })
    fc.assert(
      fc.property(digits, digits, (a, b) => {
        expect(sameSecret(a, b, 16)).toBe(a === b)
        expect(sameSecret(a, a, 16)).toBe(true)
      }),
      { numRuns: 2000 },
    )
  })

  it('never matches a string longer than the width, nor a prefix', () => {
    expect(sameSecret('12345678901234567', '12345678901234567', 16)).toBe(false)
    expect(sameSecret('1234', '12345', 16)).toBe(false)
    expect(sameSecret('', '', 16)).toBe(true)
  })
})
