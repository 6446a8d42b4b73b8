import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { acceptCounter, RECEIVE_WINDOW, type ReceiveWindow } from './channel-context.ts'

function run(counters: number[]): number[] {
  let window: ReceiveWindow = { last: 0, seen: 0 }
  const taken: number[] = []
  for (const counter of counters) {
    const next = acceptCounter(window, counter)
    if (next !== null) {
      window = next
      taken.push(counter)
    }
  }
  return taken
}

describe('the receive window for frames from a lock', () => {
  it('takes frames handled out of order by two server processes, each once', () => {
    expect(run([2, 1, 4, 3, 3, 5, 1, 6])).toEqual([2, 1, 4, 3, 5, 6])
  })

  it('refuses a replay of the newest frame and anything older than the window', () => {
    const far = RECEIVE_WINDOW + 10
    expect(run([far, far, far - RECEIVE_WINDOW, far - RECEIVE_WINDOW - 1, 0])).toEqual([
      far,
      far - RECEIVE_WINDOW,
    ])
  })

  it('never takes a counter twice, and takes every first arrival that lags the newest by at most the window', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 400 }), { maxLength: 300 }), (counters) => {
        const taken = run(counters)
        expect(new Set(taken).size).toBe(taken.length)
        let highest = 0
        const firsts = new Set<number>()
        const expected: number[] = []
        for (const c of counters) {
          const fresh = !firsts.has(c) && c !== highest
          if (fresh && (c > highest || highest - c <= RECEIVE_WINDOW)) expected.push(c)
          firsts.add(c)
          highest = Math.max(highest, c)
        }
        expect(taken).toEqual(expected)
      }),
      { numRuns: 300 },
    )
  })
})
