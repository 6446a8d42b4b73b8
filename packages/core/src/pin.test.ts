import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { isLatchkeyError } from './errors.ts'
import { generatePin, MAX_PIN_TRIES, validatePin, weakPinReason } from './pin.ts'
import type { RandomInt } from './random.ts'

function thrown(fn: () => unknown): { code: string; details?: unknown } {
  try {
    fn()
  } catch (error) {
    if (isLatchkeyError(error))
      return error.details === undefined ? { code: error.code } : { code: error.code, details: error.details }
    throw error
  }
  return { code: 'no error' }
}

/** A reproducible source for generatePin: mulberry32 seeded by fast-check. */
function seeded(seed: number): RandomInt {
  let state = seed | 0
  return (max) => {
    state = (state + 0x6d2b79f5) | 0
    let t = Math.imul(state ^ (state >>> 15), 1 | state)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 2 ** 32) * max)
  }
}

const allPins = (length: number) =>
  Array.from({ length: 10 ** length }, (_, i) => String(i).padStart(length, '0'))

describe('weakPinReason', () => {
  it('finds a block repeated: one digit, two digits, half the PIN', () => {
    for (const pin of [
      '0000',
      '1111',
      '999999',
      '1212',
      '909090',
      '123123',
      '12341234',
      '1234512345',
      '4444444444',
    ]) {
      expect([pin, weakPinReason(pin)]).toEqual([pin, 'repeated'])
    }
    // Repeats that do not tile the whole PIN are not "repeated".
    for (const pin of ['5655', '12312', '1231234']) expect([pin, weakPinReason(pin)]).toEqual([pin, null])
  })

  it('finds runs up and down, wrapping 9→0 and 0→9 as on a keypad row', () => {
    for (const pin of [
      '1234',
      '0123',
      '6789',
      '7890',
      '8901',
      '9012',
      '4567890123',
      '9876',
      '3210',
      '0987',
      '1098',
      '210987',
    ]) {
      expect([pin, weakPinReason(pin)]).toEqual([pin, 'sequence'])
    }
    for (const pin of ['1235', '1243', '13579', '2468'])
      expect([pin, weakPinReason(pin)]).toEqual([pin, null])
  })

  it('finds dates in the usual written orders', () => {
    const dates: [string, string][] = [
      ['2512', 'DDMM 25 Dec'],
      ['1225', 'MMDD Dec 25'],
      ['2902', 'DDMM 29 Feb'],
      ['1900', 'YYYY'],
      ['1987', 'YYYY'],
      ['2099', 'YYYY'],
      ['251287', 'DDMMYY'],
      ['122587', 'MMDDYY'],
      ['871225', 'YYMMDD'],
      ['290200', 'DDMMYY 29 Feb 2000'],
      ['25121987', 'DDMMYYYY'],
      ['12251987', 'MMDDYYYY'],
      ['19871225', 'YYYYMMDD'],
      ['29022024', 'DDMMYYYY leap day'],
      ['20240229', 'YYYYMMDD leap day'],
    ]
    for (const [pin, why] of dates) expect([pin, why, weakPinReason(pin)]).toEqual([pin, why, 'date'])
  })

  it('does not call a non-date a date', () => {
    const notDates: [string, string][] = [
      ['3002', '30 Feb does not exist, month 30 neither, year 3002 is out of range'],
      ['1899', 'before 1900'],
      ['2100', 'after 2099'],
      ['3113', 'month 13'],
      ['290233', '29 Feb 1933 and 2033 do not exist (nor day 33 of YYMMDD)'],
      ['29021900', '1900 was not a leap year'],
      ['25122100', 'year 2100 is out of range'],
      ['25128', 'five digits are never read as a date'],
      ['2512198', 'seven digits neither'],
    ]
    for (const [pin, why] of notDates) expect([pin, why, weakPinReason(pin)]).toEqual([pin, why, null])
  })

  it('leaves about nine in ten 4-digit PINs usable and counts exactly which', () => {
    const reasons = { repeated: 0, sequence: 0, date: 0, none: 0 }
    for (const pin of allPins(4)) reasons[weakPinReason(pin) ?? 'none']++
    // Counted independently: 10 one-digit + 90 two-digit blocks, 10 runs up + 10 down, then years 1900–2099
    // and days written DDMM or MMDD (366 each, 144 read both ways) not already counted.
    expect(reasons).toEqual({ repeated: 100, sequence: 20, date: 748, none: 9132 })
  })
})

describe('validatePin', () => {
  it('accepts 4 to 10 digits that are not weak', () => {
    for (const pin of ['3190', '80417', '5031962', '8314520967'])
      expect(thrown(() => validatePin(pin))).toEqual({ code: 'no error' })
  })

  it('refuses anything but 4–10 ASCII digits with invalid_pin', () => {
    for (const pin of [
      '',
      '319',
      '83145209671',
      '31a0',
      ' 3190',
      '3190\n',
      '３１９０',
      '-3190',
      3190,
      null,
    ]) {
      expect([pin, thrown(() => validatePin(pin)).code]).toEqual([pin, 'invalid_pin'])
    }
  })

  it('refuses a weak PIN with weak_pin and says why', () => {
    expect(thrown(() => validatePin('1111'))).toEqual({ code: 'weak_pin', details: { reason: 'repeated' } })
    expect(thrown(() => validatePin('7890'))).toEqual({ code: 'weak_pin', details: { reason: 'sequence' } })
    expect(thrown(() => validatePin('25121987'))).toEqual({ code: 'weak_pin', details: { reason: 'date' } })
  })
})

describe('generatePin', () => {
  it('never returns a weak PIN nor one live on the lock', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 4, max: 10 }),
        fc.integer(),
        fc.uniqueArray(fc.integer({ min: 0, max: 9999 }), { maxLength: 300 }),
        (length, seed, live) => {
          const random = seeded(seed)
          // Live PINs drawn from the same source first, so that collisions really happen.
          const livePins = new Set(live.map((n) => String(n).padStart(4, '0')))
          const probe = seeded(seed)
          for (let i = 0; i < 20; i++) livePins.add(Array.from({ length }, () => String(probe(10))).join(''))
          const pin = generatePin(length, livePins, random)
          expect(pin).toMatch(new RegExp(`^[0-9]{${length}}$`))
          expect(weakPinReason(pin)).toBe(null)
          expect(livePins.has(pin)).toBe(false)
        },
      ),
      { numRuns: 300 },
    )
  })

  it('uses the platform CSPRNG by default', () => {
    const seen = new Set<string>()
    for (let i = 0; i < 200; i++) {
      const pin = generatePin(6, seen)
      expect(pin).toMatch(/^[0-9]{6}$/)
      expect(weakPinReason(pin)).toBe(null)
      seen.add(pin)
    }
    expect(seen.size).toBe(200)
  })

  it('finds the one free 4-digit PIN when the source reaches it', () => {
    const usable = allPins(4).filter((pin) => weakPinReason(pin) === null)
    const livePins = new Set(usable.filter((pin) => pin !== '5831'))
    const digits = [...'0000', ...'5831'].map(Number) // first candidate weak, second free
    let i = 0
    expect(generatePin(4, livePins, () => digits[i++]!)).toBe('5831')
  })

  it('gives up with conflict after a bounded number of tries', () => {
    const usable = allPins(4).filter((pin) => weakPinReason(pin) === null)
    expect(thrown(() => generatePin(4, new Set(usable)))).toEqual({ code: 'conflict' })
    let calls = 0
    const alwaysSeven: RandomInt = () => {
      calls++
      return 7
    }
    expect(thrown(() => generatePin(5, new Set(), alwaysSeven))).toEqual({ code: 'conflict' })
    expect(calls).toBe(MAX_PIN_TRIES * 5)
  })

  it('refuses lengths outside 4–10 and a random source that breaks its promise', () => {
    for (const length of [3, 11, 4.5, Number.NaN])
      expect(thrown(() => generatePin(length, new Set())).code).toBe('invalid_pin')
    expect(thrown(() => generatePin(4, new Set(), () => 10)).code).toBe('internal')
    expect(thrown(() => generatePin(4, new Set(), () => -1)).code).toBe('internal')
    expect(thrown(() => generatePin(4, new Set(), () => 0.5)).code).toBe('internal')
  })
})
