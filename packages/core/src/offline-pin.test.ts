import { createHmac, hkdfSync } from 'node:crypto'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { isLatchkeyError } from './errors.ts'
import {
  FIRST_USE_LIMIT_MS,
  type Hmac,
  HOUR_MS,
  issueOfflinePin,
  MAX_OFFLINE_GRACE_MS,
  MAX_OFFLINE_HMACS,
  OFFLINE_GRACE_MS,
  OFFLINE_TABLE,
  OFFLINE_TIMED_DURATIONS_MS,
  type OfflineKind,
  offlineCandidateCount,
  offlineFalseAcceptRate,
  offlineFirstUseWindow,
  verifyOfflinePin,
} from './offline-pin.ts'

const hmac: Hmac = (key, message) => {
  const mac = createHmac('sha256', key).update(message).digest()
  return new Uint8Array(mac.buffer, mac.byteOffset, mac.byteLength)
}
const pinKeyFor = (name: string) =>
  new Uint8Array(hkdfSync('sha256', Buffer.from(name), Buffer.alloc(0), 'latchkey/test/offline-pin', 32))
const pinKey = pinKeyFor('front door')
const lockId = 'lock_front_door'
const DAY = 24 * HOUR_MS
const T0 = Date.UTC(2026, 2, 14, 9, 0, 0) // on the hour: the worst case for the number of start hours tried

/** SPEC §6 written out independently: H ‖ (HMAC(K, utf8(lockId) ‖ byte(H) ‖ uint32be(hour)) mod 10^8). */
function referencePin(key: Uint8Array, id: string, h: number, hour: number): string {
  const message = Buffer.concat([Buffer.from(id, 'utf8'), Buffer.from([h]), Buffer.alloc(4)])
  message.writeUInt32BE(hour, message.length - 4)
  const t = createHmac('sha256', key).update(message).digest().readBigUInt64BE(0) % 100_000_000n
  return String(h).padStart(2, '0') + t.toString().padStart(8, '0')
}

const verify = (
  digits: string,
  nowMs: number,
  extra: { graceMs?: number; key?: Uint8Array; lockId?: string } = {},
) =>
  verifyOfflinePin({
    hmac,
    pinKey: extra.key ?? pinKey,
    lockId: extra.lockId ?? lockId,
    digits,
    nowMs,
    graceMs: extra.graceMs,
  })

function codeError(fn: () => unknown): string {
  try {
    fn()
  } catch (error) {
    if (isLatchkeyError(error)) return error.code
    throw error
  }
  return 'no error'
}

describe('OFFLINE_TABLE', () => {
  it('has 100 entries indexed by H: 10 one-time, 10 permanent, 18 timed classes × 4 nonces, 8 unused', () => {
    expect(OFFLINE_TABLE).toHaveLength(100)
    OFFLINE_TABLE.forEach((entry, h) => {
      if (entry) expect(entry.h).toBe(h)
    })
    const count = (kind: OfflineKind) => OFFLINE_TABLE.filter((e) => e?.kind === kind).length
    expect([count('one_time'), count('permanent'), count('timed')]).toEqual([10, 10, 72])
    expect(OFFLINE_TABLE.filter((e) => e === null)).toHaveLength(8)
    expect(
      OFFLINE_TABLE.filter((e) => e?.kind === 'one_time').every((e) => e?.durationMs === 6 * HOUR_MS),
    ).toBe(true)
    expect(OFFLINE_TABLE.filter((e) => e?.kind === 'permanent').every((e) => e?.durationMs === null)).toBe(
      true,
    )
    expect(OFFLINE_TIMED_DURATIONS_MS).toEqual([
      ...[1, 2, 3, 4, 6, 8, 12].map((h) => h * HOUR_MS),
      ...[1, 2, 3, 5, 7, 14, 30, 60, 90, 180, 365].map((d) => d * DAY),
    ])
    for (const d of OFFLINE_TIMED_DURATIONS_MS) {
      const nonces = OFFLINE_TABLE.filter((e) => e?.kind === 'timed' && e.durationMs === d).map(
        (e) => e?.nonce,
      )
      expect(nonces).toEqual([0, 1, 2, 3])
    }
  })
})

describe('HMAC budget per typed code', () => {
  it('tries at most 27 start hours for 24 h kinds and 9 for one-time with the default 1 h grace', () => {
    expect(offlineCandidateCount('timed')).toBe(27)
    expect(offlineCandidateCount('permanent')).toBe(27)
    expect(offlineCandidateCount('one_time')).toBe(9)
    expect(offlineCandidateCount('timed', MAX_OFFLINE_GRACE_MS)).toBe(MAX_OFFLINE_HMACS)
    expect(codeError(() => offlineCandidateCount('timed', MAX_OFFLINE_GRACE_MS + 1))).toBe(
      'validation_failed',
    )
  })

  it('spends exactly that many HMACs on a wrong code typed on the hour', () => {
    expect(verify('2000000000', T0).hmacs).toBe(27) // timed 1 h class
    expect(verify('1000000000', T0).hmacs).toBe(27) // permanent
    expect(verify('0000000000', T0).hmacs).toBe(9) // one-time
    expect(verify('0000000000', T0 + 1).hmacs).toBe(8) // off the hour one start hour fewer fits
  })

  it('never spends more than 32 HMACs, whatever is typed and whatever the grace', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[0-9]{10}$/),
        fc.integer({ min: 0, max: 4_000_000_000_000 }),
        fc.integer({ min: 0, max: MAX_OFFLINE_GRACE_MS }),
        (digits, nowMs, graceMs) => {
          const { hmacs } = verify(digits, nowMs, { graceMs })
          expect(hmacs).toBeLessThanOrEqual(MAX_OFFLINE_HMACS)
        },
      ),
      { numRuns: 300 },
    )
  })

  it('costs no HMAC for anything but 10 ASCII digits, nor for an unused H', () => {
    for (const digits of [
      '',
      '123456789',
      '12345678901',
      '12345 6789',
      'abcdefghij',
      '١٢٣٤٥٦٧٨٩٠',
      '1234567890\n',
    ]) {
      expect(verify(digits, T0)).toEqual({ result: 'no_match', hmacs: 0 })
    }
    for (let h = 92; h < 100; h++)
      expect(verify(`${h}12345678`, T0)).toEqual({ result: 'no_match', hmacs: 0 })
    expect(verify('2012345678', Number.NaN)).toEqual({ result: 'no_match', hmacs: 0 })
  })
})

describe('verifyOfflinePin', () => {
  it('accepts the code SPEC §6 defines, byte for byte, and names its H and start hour', () => {
    const hour = T0 / HOUR_MS - 5
    const pin = referencePin(pinKey, lockId, 27, hour) // timed, 2 h class, nonce 3
    expect(OFFLINE_TABLE[27]).toEqual({ h: 27, kind: 'timed', durationMs: 2 * HOUR_MS, nonce: 3 })
    const start = hour * HOUR_MS
    expect(verify(pin, start + 30 * 60_000)).toMatchObject({
      result: 'match',
      code: { h: 27, kind: 'timed', startsAt: start, endsAt: start + 2 * HOUR_MS },
    })
    // 2 h code + 1 h grace: still fine at +3 h, expired a millisecond later (and still found until +25 h).
    expect(verify(pin, start + 3 * HOUR_MS).result).toBe('match')
    expect(verify(pin, start + 3 * HOUR_MS + 1)).toMatchObject({
      result: 'expired',
      code: { h: 27, startsAt: start },
    })
    expect(verify(pin, start + 25 * HOUR_MS).result).toBe('expired')
    expect(verify(pin, start + 25 * HOUR_MS + 1)).toEqual({ result: 'no_match', hmacs: 26 })
  })

  it('does not open another lock, nor the same lock id under another key', () => {
    const pin = referencePin(pinKey, lockId, 15, T0 / HOUR_MS)
    expect(verify(pin, T0).result).toBe('match')
    expect(verify(pin, T0, { lockId: 'lock_back_door' }).result).toBe('no_match')
    expect(verify(pin, T0, { key: pinKeyFor('back door') }).result).toBe('no_match')
  })

  it('refuses a grace outside 0 … 3.5 h (the HMAC budget)', () => {
    expect(codeError(() => verify('2000000000', T0, { graceMs: MAX_OFFLINE_GRACE_MS + 1 }))).toBe(
      'validation_failed',
    )
    expect(codeError(() => verify('2000000000', T0, { graceMs: -1 }))).toBe('validation_failed')
  })
})

describe('issueOfflinePin', () => {
  const issue = (
    kind: OfflineKind,
    startsAt: number,
    endsAt?: number,
    livePins: ReadonlySet<string> = new Set(),
  ) => issueOfflinePin({ hmac, pinKey, lockId, kind, startsAt, endsAt, livePins })

  it('floors the start to the hour and picks the smallest duration class that covers the request', () => {
    const requested = T0 + 20 * 60_000 // 09:20
    const code = issue('timed', requested, requested + 5 * HOUR_MS) // until 14:20 → 09:00 + 6 h
    expect(code).toMatchObject({
      kind: 'timed',
      startsAt: T0,
      endsAt: T0 + 6 * HOUR_MS,
      firstUseBy: T0 + 6 * HOUR_MS,
    })
    expect(OFFLINE_TABLE[code.h]).toMatchObject({ kind: 'timed', durationMs: 6 * HOUR_MS })
    expect(code.pin).toBe(referencePin(pinKey, lockId, code.h, T0 / HOUR_MS))
    expect(code.pin).toMatch(/^[0-9]{10}$/)

    expect(issue('timed', T0, T0 + 6 * HOUR_MS).endsAt).toBe(T0 + 6 * HOUR_MS)
    expect(issue('timed', T0, T0 + 6 * HOUR_MS + 1).endsAt).toBe(T0 + 8 * HOUR_MS)
    expect(issue('timed', T0, T0 + 40 * DAY)).toMatchObject({ endsAt: T0 + 60 * DAY, firstUseBy: T0 + DAY })
    expect(issue('timed', T0, T0 + 365 * DAY).endsAt).toBe(T0 + 365 * DAY)
    expect(issue('one_time', requested)).toMatchObject({
      startsAt: T0,
      endsAt: T0 + 6 * HOUR_MS,
      firstUseBy: T0 + 6 * HOUR_MS,
    })
    expect(issue('permanent', requested)).toMatchObject({ startsAt: T0, endsAt: null, firstUseBy: T0 + DAY })
  })

  it('refuses a timed window that ends before it starts or outlasts 365 days', () => {
    expect(codeError(() => issue('timed', T0, T0))).toBe('invalid_window')
    expect(codeError(() => issue('timed', T0 + 60_000, T0 + 30_000))).toBe('invalid_window')
    expect(codeError(() => issue('timed', T0))).toBe('invalid_window')
    expect(codeError(() => issue('timed', T0, T0 + 365 * DAY + 1))).toBe('invalid_window')
    // 365 days counted from the floored start: 09:20 + 365 days needs 365 days and 20 minutes.
    expect(codeError(() => issue('timed', T0 + 20 * 60_000, T0 + 20 * 60_000 + 365 * DAY))).toBe(
      'invalid_window',
    )
    expect(codeError(() => issue('permanent', -HOUR_MS))).toBe('invalid_window')
  })

  it('skips a nonce whose code is already live on the lock, and gives up when every nonce is taken', () => {
    const live = new Set<string>()
    const pins: string[] = []
    for (let i = 0; i < 4; i++) {
      const code = issue('timed', T0, T0 + DAY, live)
      expect(code.collisionsAvoided).toBe(i)
      expect(code.h).toBe(OFFLINE_TABLE.findIndex((e) => e?.kind === 'timed' && e.durationMs === DAY) + i)
      pins.push(code.pin)
      live.add(code.pin)
    }
    expect(new Set(pins).size).toBe(4)
    expect(codeError(() => issue('timed', T0, T0 + DAY, live))).toBe('offline_code_unavailable')
    // Another start hour yields other codes.
    expect(live.has(issue('timed', T0 + HOUR_MS, T0 + HOUR_MS + DAY, live).pin)).toBe(false)
  })

  it('never hands out a code the lock could mistake for another start hour (a weak hash makes collisions common)', () => {
    // Same HMAC, but T keeps only a few bits, so two start hours often share a code. The real hash
    // makes this 10^8 times rarer; the issuer's logic is the same.
    const weak =
      (buckets: number): Hmac =>
      (key, message) => {
        const out = new Uint8Array(32)
        out[7] = hmac(key, message)[0]! % buckets
        return out
      }
    let avoided = 0
    for (let i = 0; i < 40; i++) {
      const start = T0 + i * 7 * HOUR_MS
      const code = issueOfflinePin({
        hmac: weak(256),
        pinKey,
        lockId,
        kind: 'permanent',
        startsAt: start,
        livePins: new Set(),
      })
      avoided += code.collisionsAvoided
      const { fromMs, toMs } = offlineFirstUseWindow(code)
      for (let now = fromMs; now <= toMs; now += 30 * 60_000) {
        const found = verifyOfflinePin({ hmac: weak(256), pinKey, lockId, digits: code.pin, nowMs: now })
        expect(found).toMatchObject({ result: 'match', code: { h: code.h, startsAt: code.startsAt } })
      }
    }
    expect(avoided).toBeGreaterThan(0)
    expect(
      codeError(() =>
        issueOfflinePin({
          hmac: weak(2),
          pinKey,
          lockId,
          kind: 'timed',
          startsAt: T0,
          endsAt: T0 + DAY,
          livePins: new Set(),
        }),
      ),
    ).toBe('offline_code_unavailable')
  })

  it('issued codes open at every instant of their first-use window, as exactly themselves, and not outside it', () => {
    const request = fc.oneof(
      // Up to 365 days counted from the floored start hour (the request may start mid-hour).
      fc.record({
        kind: fc.constant<OfflineKind>('timed'),
        duration: fc.integer({ min: 1, max: 365 * DAY - HOUR_MS }),
      }),
      fc.record({ kind: fc.constantFrom<OfflineKind>('one_time', 'permanent'), duration: fc.constant(0) }),
    )
    fc.assert(
      fc.property(
        request,
        fc.integer({ min: Date.UTC(2020, 0, 1), max: Date.UTC(2040, 0, 1) }),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 3, maxLength: 3 }),
        fc.integer({ min: 1, max: 400 * DAY }),
        ({ kind, duration }, startsAt, fractions, far) => {
          const graceMs = OFFLINE_GRACE_MS
          const code = issueOfflinePin({
            hmac,
            pinKey,
            lockId,
            kind,
            startsAt,
            endsAt: kind === 'timed' ? startsAt + duration : undefined,
            livePins: new Set(),
          })
          const own = { h: code.h, kind, startsAt: code.startsAt, endsAt: code.endsAt }
          const { fromMs, toMs } = offlineFirstUseWindow(code, graceMs)
          expect(fromMs).toBe(code.startsAt - graceMs)
          expect(toMs).toBe(code.firstUseBy + graceMs)
          const inside = [fromMs, toMs, ...fractions.map((f) => Math.round(fromMs + f * (toMs - fromMs)))]
          for (const nowMs of inside) {
            const found = verify(code.pin, nowMs, { graceMs })
            expect(found.result).toBe('match')
            expect(found.result === 'match' && found.code).toEqual(own)
            expect(found.hmacs).toBeLessThanOrEqual(MAX_OFFLINE_HMACS)
          }
          // Just outside: the issuer checked every start hour the lock tries here, so the answer is exact.
          expect(verify(code.pin, fromMs - 1, { graceMs }).result).toBe('no_match')
          const after = verify(code.pin, toMs + 1, { graceMs })
          const stillSearched = toMs + 1 <= code.startsAt + FIRST_USE_LIMIT_MS[kind] + graceMs
          if (stillSearched) expect(after).toEqual({ result: 'expired', code: own, hmacs: after.hmacs })
          else expect(after.result).toBe('no_match')
          // Far outside: this code never opens (another start hour could, by chance, as any guess could).
          for (const nowMs of [fromMs - far, toMs + far]) {
            const found = verify(code.pin, nowMs, { graceMs })
            expect(found.result === 'match' && found.code.startsAt === code.startsAt).toBe(false)
          }
        },
      ),
      { numRuns: 150 },
    )
  })
})

describe('false accepts (SPEC §6: ≤ 3×10⁻⁷ per random guess)', () => {
  it('analytic bound: Σ_H start hours tried / 10^10 is 2.304×10⁻⁷ (2.764×10⁻⁷ at the largest grace)', () => {
    expect(offlineFalseAcceptRate()).toBeCloseTo((10 * 9 + 82 * 27) / 1e10, 20)
    expect(offlineFalseAcceptRate()).toBeLessThanOrEqual(3e-7)
    expect(offlineFalseAcceptRate(MAX_OFFLINE_GRACE_MS)).toBeCloseTo((10 * 14 + 82 * 32) / 1e10, 20)
    expect(offlineFalseAcceptRate(MAX_OFFLINE_GRACE_MS)).toBeLessThanOrEqual(3e-7)
  })

  it('exact count at one instant: every 10-digit entry that opens the lock, enumerated', () => {
    // At T0 the lock accepts exactly the codes of the start hours it tries (minus expired ones).
    const accepting = new Set<string>()
    const found = new Set<string>()
    let expired = 0
    for (const entry of OFFLINE_TABLE) {
      if (!entry) continue
      const firstHour = Math.ceil((T0 - FIRST_USE_LIMIT_MS[entry.kind] - OFFLINE_GRACE_MS) / HOUR_MS)
      for (let hour = firstHour; hour <= (T0 + OFFLINE_GRACE_MS) / HOUR_MS; hour++)
        found.add(referencePin(pinKey, lockId, entry.h, hour))
    }
    expect(found.size).toBeLessThanOrEqual(10 * 9 + 82 * 27)
    for (const pin of found) {
      const result = verify(pin, T0)
      expect(result.result).not.toBe('no_match')
      if (result.result === 'match') accepting.add(pin)
      else expired++
    }
    const exactRate = accepting.size / 1e10
    expect(accepting.size + expired).toBe(found.size)
    expect(exactRate).toBeLessThanOrEqual(offlineFalseAcceptRate())
    expect(exactRate).toBeLessThanOrEqual(3e-7)
    // Timed classes shorter than a day expire before the search drops them: (24 − d) expired start
    // hours for a d-hour class, × 4 nonces; everything else tried is accepted.
    expect({ tried: found.size, accepting: accepting.size, expired }).toEqual({
      tried: 2304,
      accepting: 1776,
      expired: 528,
    })
  })

  it('one wrong digit never opens: every code the lock tries, each digit changed', {
    timeout: 90_000,
  }, () => {
    // The enumeration above is the evidence for the rate; this checks that the lock accepts nothing
    // beside it where a lax comparison would (part of T, the wrong H, a digit off), which a random
    // sample of 10^5 guesses could never show (its expected hits are 0.03 whatever the verifier).
    const tried = new Set<string>()
    for (const entry of OFFLINE_TABLE) {
      if (!entry) continue
      const firstHour = Math.ceil((T0 - FIRST_USE_LIMIT_MS[entry.kind] - OFFLINE_GRACE_MS) / HOUR_MS)
      for (let hour = firstHour; hour <= (T0 + OFFLINE_GRACE_MS) / HOUR_MS; hour++)
        tried.add(referencePin(pinKey, lockId, entry.h, hour))
    }
    let checked = 0
    let hmacs = 0
    for (const pin of tried) {
      for (let position = 0; position < 10; position++) {
        const digit = (Number(pin[position]) + 1 + (checked % 9)) % 10
        const wrong = pin.slice(0, position) + String(digit) + pin.slice(position + 1)
        if (tried.has(wrong)) continue
        const result = verify(wrong, T0)
        hmacs += result.hmacs
        checked++
        expect(result.result, wrong).toBe('no_match')
      }
    }
    expect(checked).toBeGreaterThan(20_000)
    // Mean HMACs per entry with a used H at an on-the-hour instant lies between 9 (one-time) and 27.
    expect(hmacs / checked).toBeGreaterThan(9)
    expect(hmacs / checked).toBeLessThanOrEqual(27)
  })
})
