/** The retry schedule of webhook deliveries: exponential, jittered, capped, and lasting 3 days. */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { RETRY_FOR_MS, retryDelayMs } from './worker.ts'

const SECOND = 1_000
const HOUR = 3_600_000

describe('retryDelayMs', () => {
  it('waits between half and all of 30 s doubled per attempt, at most 6 h', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 200 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (attempts, r) => {
          const full = Math.min(30 * SECOND * 2 ** (attempts - 1), 6 * HOUR)
          const delay = retryDelayMs(attempts, () => r)
          expect(delay).toBeGreaterThanOrEqual(Math.floor(full / 2))
          expect(delay).toBeLessThanOrEqual(full)
        },
      ),
    )
  })

  it('tries a receiver that never answers well 20 to 34 times in 3 days, however the jitter falls', () => {
    for (const r of [0, 0.5, 0.999]) {
      let at = 0
      let attempts = 1
      while (at + retryDelayMs(attempts, () => r) <= RETRY_FOR_MS) {
        at += retryDelayMs(attempts, () => r)
        attempts += 1
      }
      expect(attempts).toBeGreaterThanOrEqual(20)
      expect(attempts).toBeLessThanOrEqual(34)
    }
  })
})
