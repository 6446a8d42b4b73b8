import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { isLatchkeyError } from './errors.ts'
import {
  CROCKFORD_ALPHABET,
  formatUniqueCode,
  generateUniqueCode,
  maxUniqueCodeExpiry,
  normalizeUniqueCode,
  validateUniqueCodeExpiry,
} from './unique-code.ts'

function thrown(fn: () => unknown): string {
  try {
    fn()
  } catch (error) {
    if (isLatchkeyError(error)) return error.code
    throw error
  }
  return 'no error'
}

const DAY = 86_400_000
const canonicalCode = fc
  .array(fc.integer({ min: 0, max: 31 }), { minLength: 10, maxLength: 10 })
  .map((indexes) => indexes.map((i) => CROCKFORD_ALPHABET[i]).join(''))

describe('the alphabet', () => {
  it("is Crockford's base32: digits and A–Z without I, L, O, U", () => {
    expect(CROCKFORD_ALPHABET).toBe('0123456789ABCDEFGHJKMNPQRSTVWXYZ')
    expect(new Set(CROCKFORD_ALPHABET).size).toBe(32)
  })
})

describe('generateUniqueCode', () => {
  it('draws ten characters of the alphabet', () => {
    let i = 0
    expect(generateUniqueCode(() => i++)).toBe('0123456789')
    expect(generateUniqueCode(() => 31)).toBe('ZZZZZZZZZZ')
    expect(generateUniqueCode(() => 18)).toBe('JJJJJJJJJJ')
    const seen = new Set<string>()
    for (let n = 0; n < 100; n++) {
      const code = generateUniqueCode()
      expect(code).toMatch(/^[0-9A-HJKMNP-TV-Z]{10}$/)
      seen.add(code)
    }
    expect(seen.size).toBe(100)
  })

  it('refuses a random source that returns a value outside the alphabet', () => {
    expect(thrown(() => generateUniqueCode(() => 32))).toBe('internal')
  })
})

describe('formatUniqueCode', () => {
  it('shows a canonical code as two groups of five', () => {
    expect(formatUniqueCode('ABCDEFGHJK')).toBe('ABCDE-FGHJK')
    expect(formatUniqueCode('0123456789')).toBe('01234-56789')
  })

  it('refuses anything that is not canonical', () => {
    for (const value of [
      'abcdefghjk',
      'ABCDE-FGHJK',
      'ABCDEFGHJI',
      'ABCDEFGHJ',
      'ABCDEFGHJKM',
      'ABCDEFGHJU',
    ]) {
      expect([value, thrown(() => formatUniqueCode(value))]).toEqual([value, 'validation_failed'])
    }
  })
})

describe('normalizeUniqueCode', () => {
  it('reads what a person types', () => {
    expect(normalizeUniqueCode('ABCDE-FGHJK')).toBe('ABCDEFGHJK')
    expect(normalizeUniqueCode('abcde-fghjk')).toBe('ABCDEFGHJK')
    expect(normalizeUniqueCode('  aBcDe fGhJk ')).toBe('ABCDEFGHJK')
    expect(normalizeUniqueCode('AB-CD-EF-GH-JK')).toBe('ABCDEFGHJK')
    expect(normalizeUniqueCode('ABCDE\u2013FGHJK')).toBe('ABCDEFGHJK') // an en dash from a mail client
    expect(normalizeUniqueCode('oOo0O-iIlL1')).toBe('0000011111')
  })

  it('refuses U, other characters and the wrong length', () => {
    for (const input of [
      'ABCDE-FGHJU',
      'ABCDE_FGHJK',
      'ABCDE.FGHJK',
      'ABCDE-FGHJ',
      'ABCDE-FGHJKM',
      '',
      '----- -----',
      'ABCDE-FGHJ\u0131', // dotless ı would upper-case to I
      'ABCDE-FGHJ\u212a', // Kelvin sign looks like K
      'ＡBCDE-FGHJK', // full-width A
      `ABCDE${' '.repeat(100)}FGHJK`,
    ]) {
      expect([input, normalizeUniqueCode(input)]).toEqual([input, null])
    }
  })

  it('gives back the code however its display is mangled', () => {
    const mangled = canonicalCode.chain((code) =>
      fc
        .tuple(
          ...[...formatUniqueCode(code)].map((char) => {
            const variants =
              char === '0'
                ? ['0', 'O', 'o']
                : char === '1'
                  ? ['1', 'I', 'i', 'L', 'l']
                  : [char, char.toLowerCase()]
            return fc.tuple(fc.constantFrom(...variants), fc.constantFrom('', '', ' ', '-', ' - '))
          }),
        )
        .map((parts) => ({ code, typed: parts.map(([char, separator]) => char + separator).join('') })),
    )
    fc.assert(
      fc.property(mangled, ({ code, typed }) => {
        expect(normalizeUniqueCode(typed)).toBe(code)
      }),
      { numRuns: 500 },
    )
  })

  it('answers null or a canonical code, and a canonical code is a fixed point', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 30 }), canonicalCode, (input, code) => {
        const normalized = normalizeUniqueCode(input)
        if (normalized !== null) expect(normalized).toMatch(/^[0-9A-HJKMNP-TV-Z]{10}$/)
        expect(normalizeUniqueCode(code)).toBe(code)
        expect(normalizeUniqueCode(formatUniqueCode(code))).toBe(code)
      }),
      { numRuns: 500 },
    )
  })
})

describe('maxUniqueCodeExpiry', () => {
  const at = (iso: string) => Date.parse(iso)
  it('is six calendar months later in UTC, on the last day of a shorter month', () => {
    const cases: [string, string][] = [
      ['2026-08-31T10:30:00.000Z', '2027-02-28T10:30:00.000Z'],
      ['2027-08-31T10:30:00.000Z', '2028-02-29T10:30:00.000Z'], // 2028 is a leap year
      ['2026-12-30T23:59:59.999Z', '2027-06-30T23:59:59.999Z'],
      ['2026-12-31T00:00:00.000Z', '2027-06-30T00:00:00.000Z'],
      ['2028-02-29T08:00:00.000Z', '2028-08-29T08:00:00.000Z'],
      ['2026-01-15T12:00:00.000Z', '2026-07-15T12:00:00.000Z'],
      ['2026-03-31T06:00:00.000Z', '2026-09-30T06:00:00.000Z'],
    ]
    for (const [created, latest] of cases) {
      expect([created, new Date(maxUniqueCodeExpiry(at(created))).toISOString()]).toEqual([created, latest])
    }
  })

  it('is always between 181 and 184 days, to the same time of day', () => {
    fc.assert(
      fc.property(fc.integer({ min: Date.UTC(1990, 0, 1), max: Date.UTC(2090, 0, 1) }), (createdAt) => {
        const latest = maxUniqueCodeExpiry(createdAt)
        expect(latest - createdAt).toBeGreaterThanOrEqual(181 * DAY)
        expect(latest - createdAt).toBeLessThanOrEqual(184 * DAY)
        expect((latest - createdAt) % DAY).toBe(0)
      }),
    )
  })
})

describe('validateUniqueCodeExpiry', () => {
  const created = Date.UTC(2026, 7, 31, 10, 30)
  const latest = Date.UTC(2027, 1, 28, 10, 30)

  it('accepts an expiry after creation up to the six months, both ends tested', () => {
    expect(thrown(() => validateUniqueCodeExpiry(created, created + 1))).toBe('no error')
    expect(thrown(() => validateUniqueCodeExpiry(created, latest))).toBe('no error')
    expect(thrown(() => validateUniqueCodeExpiry(created, latest + 1))).toBe('expiry_too_far')
    expect(thrown(() => validateUniqueCodeExpiry(created, Date.UTC(2027, 2, 1)))).toBe('expiry_too_far')
    expect(thrown(() => validateUniqueCodeExpiry(created, created))).toBe('expiry_in_past')
    expect(thrown(() => validateUniqueCodeExpiry(created, created - DAY))).toBe('expiry_in_past')
    expect(thrown(() => validateUniqueCodeExpiry(created, Number.NaN))).toBe('validation_failed')
    expect(thrown(() => validateUniqueCodeExpiry(Number.POSITIVE_INFINITY, latest))).toBe('validation_failed')
  })

  it('agrees with maxUniqueCodeExpiry everywhere', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2080, 0, 1) }),
        fc.integer({ min: -400 * DAY, max: 400 * DAY }),
        (createdAt, delta) => {
          const expiresAt = createdAt + delta
          const expected =
            expiresAt <= createdAt
              ? 'expiry_in_past'
              : expiresAt > maxUniqueCodeExpiry(createdAt)
                ? 'expiry_too_far'
                : 'no error'
          expect(thrown(() => validateUniqueCodeExpiry(createdAt, expiresAt))).toBe(expected)
        },
      ),
    )
  })
})
