/**
 * Claims between two server processes on a real PostgreSQL: two stores (two connection pools) on
 * the same database, claiming the same due locks at the same moment, many times over.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openStore, type Store } from '../store/open-store.ts'
import { locks, organizations } from '../store/schema.ts'
import { openTestStore, type TestStore, usingTestServices } from '../testing.ts'
import { claimDueLocks, releaseLock } from './claim.ts'
import { markDue } from './lock-sync.ts'

describe.skipIf(!usingTestServices())('lock claims on the PostgreSQL server', () => {
  let a: TestStore
  let b: Store
  const lockIds: string[] = []
  const now = Date.parse('2030-01-15T10:00:00Z')

  beforeAll(async () => {
    a = await openTestStore({ services: true })
    b = await openStore({ databaseUrl: a.databaseUrl!, poolSize: 4 })
    const [org] = await a.db
      .insert(organizations)
      .values({ name: 'Claims', createdAt: new Date(now) })
      .returning({ id: organizations.id })
    const rows = await a.db
      .insert(locks)
      .values(
        Array.from({ length: 40 }, (_, i) => ({
          organizationId: org!.id,
          name: `Lock ${i}`,
          timezone: 'UTC',
          model: 'LK-100',
          capacity: 250,
          ledgerCapacity: 64,
          eventCapacity: 500,
          secretEncrypted: 'v1:unused',
          createdAt: new Date(now),
          updatedAt: new Date(now),
        })),
      )
      .returning({ id: locks.id })
    lockIds.push(...rows.map((r) => r.id))
  })
  afterAll(async () => {
    await b?.close()
    await a?.close()
  })

  it('two processes claiming at once never both hold a lock, and every due lock is taken', async () => {
    for (let round = 0; round < 20; round++) {
      const at = now + round * 120_000
      for (const id of lockIds) await markDue(a.db, id, at)
      const claims = await Promise.all([
        claimDueLocks(a.db, 'process-a', at, 60_000, 15),
        claimDueLocks(b.db, 'process-b', at, 60_000, 15),
        claimDueLocks(a.db, 'process-a', at, 60_000, 15),
        claimDueLocks(b.db, 'process-b', at, 60_000, 15),
      ])
      const all = claims.flat()
      expect(new Set(all).size).toBe(all.length)
      expect(all.length).toBe(lockIds.length)
      for (const [i, claimed] of claims.entries()) {
        for (const id of claimed)
          await releaseLock(i % 2 === 0 ? a.db : b.db, i % 2 === 0 ? 'process-a' : 'process-b', id)
      }
    }
  })
  it('takes at most its limit of the due locks, however many are due', async () => {
    const at = now + 100 * 120_000
    for (const id of lockIds) await markDue(a.db, id, at)
    const first = await claimDueLocks(a.db, 'process-a', at, 60_000, 8)
    expect(first).toHaveLength(8)
    const second = await claimDueLocks(b.db, 'process-b', at, 60_000, 8)
    expect(second).toHaveLength(8)
    expect(new Set([...first, ...second]).size).toBe(16)
    for (const id of first) await releaseLock(a.db, 'process-a', id)
    for (const id of second) await releaseLock(b.db, 'process-b', id)
  })
})
