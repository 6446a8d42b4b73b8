import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { type DesiredEntry, diffTable } from './diff.ts'

/** The lock's own rules for its table (packages/lock code-table.ts): replace in place, add into a free slot. */
function applyToLock(
  table: Map<string, string>,
  capacity: number,
  desired: readonly DesiredEntry[],
  diff: ReturnType<typeof diffTable>,
): { table: Map<string, string>; refused: string[] } {
  const next = new Map(table)
  const refused: string[] = []
  for (const codeId of diff.remove) next.delete(codeId)
  const digestOf = new Map(desired.map((e) => [e.codeId, e.digest]))
  for (const codeId of diff.set) {
    if (!next.has(codeId) && next.size >= capacity) {
      refused.push(codeId)
      continue
    }
    next.set(codeId, digestOf.get(codeId)!)
  }
  return { table: next, refused }
}

const codeId = fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h')
const digest = fc.constantFrom('d1', 'd2', 'd3')
const desiredArb = fc.uniqueArray(fc.record({ codeId, digest }), { selector: (e) => e.codeId, maxLength: 8 })
const reportedArb = fc.dictionary(
  codeId,
  digest.map((d) => ({ d })),
  { maxKeys: 8 },
)
const capacityArb = fc.integer({ min: 0, max: 9 })

const asRecord = (table: Map<string, string>) => Object.fromEntries([...table].map(([k, d]) => [k, { d }]))

describe('diffTable', () => {
  it('one application turns any reported table into the desired one (as much as fits), never refused by the lock', () => {
    fc.assert(
      fc.property(desiredArb, reportedArb, capacityArb, (desired, reported, capacity) => {
        // A lock never holds more than its capacity.
        const start = new Map(
          Object.entries(reported)
            .slice(0, capacity)
            .map(([k, v]) => [k, v.d]),
        )
        const diff = diffTable(desired, asRecord(start), capacity)
        const { table, refused } = applyToLock(start, capacity, desired, diff)
        expect(refused).toEqual([])
        const wanted = new Map(
          desired.filter((e) => diff.admitted.includes(e.codeId)).map((e) => [e.codeId, e.digest]),
        )
        expect(table).toEqual(wanted)
        if (desired.length <= capacity) {
          expect(table).toEqual(new Map(desired.map((e) => [e.codeId, e.digest])))
          expect(diff.full).toEqual([])
        } else {
          expect(diff.admitted.length).toBe(capacity)
          expect(diff.full.length).toBe(desired.length - capacity)
        }
        // Converged: nothing more to send.
        const again = diffTable(desired, asRecord(table), capacity)
        expect(again.remove).toEqual([])
        expect(again.set).toEqual([])
        expect(again.full).toEqual(diff.full)
      }),
      { numRuns: 500 },
    )
  })

  it('never takes a slot from a code the lock holds to give it to a newcomer', () => {
    fc.assert(
      fc.property(desiredArb, reportedArb, capacityArb, (desired, reported, capacity) => {
        const diff = diffTable(desired, reported, capacity)
        const heldAndWanted: string[] = desired.filter((e) => e.codeId in reported).map((e) => e.codeId)
        if (heldAndWanted.length <= capacity) {
          for (const id of heldAndWanted) expect(diff.admitted).toContain(id)
          expect(diff.remove.filter((id) => heldAndWanted.includes(id))).toEqual([])
        }
      }),
      { numRuns: 300 },
    )
  })

  it('removes what is not wanted and sets what is missing or different', () => {
    const diff = diffTable(
      [
        { codeId: 'cleaner', digest: 'new-window' },
        { codeId: 'plumber', digest: 'p' },
        { codeId: 'guest', digest: 'g' },
      ],
      { cleaner: { d: 'old-window' }, guest: { d: 'g' }, deleted: { d: 'x' } },
      3,
    )
    expect(diff).toEqual({
      remove: ['deleted'],
      set: ['cleaner', 'plumber'],
      full: [],
      admitted: ['cleaner', 'guest', 'plumber'],
    })
  })

  it('fills a full lock in priority order and reports the rest as full', () => {
    const diff = diffTable(
      [
        { codeId: 'first', digest: '1' },
        { codeId: 'second', digest: '2' },
        { codeId: 'third', digest: '3' },
      ],
      {},
      2,
    )
    expect(diff).toEqual({
      remove: [],
      set: ['first', 'second'],
      full: ['third'],
      admitted: ['first', 'second'],
    })
  })
})
