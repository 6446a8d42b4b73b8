/**
 * Which locks a server process claims: every latchkey lock, and of the Matter locks only those its
 * own fabric commissioned (another process's controller could not reach them).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { locks, organizations } from '../store/schema.ts'
import { openTestStore, type TestStore } from '../testing.ts'
import { claimDueLocks, claimLock, releaseLock } from './claim.ts'
import { markDue } from './lock-sync.ts'

describe('lock claims and Matter fabrics', () => {
  let store: TestStore
  const now = Date.parse('2030-01-15T10:00:00Z')
  const ids: Record<'latchkey' | 'ofA' | 'ofB' | 'unnamed', string> = {
    latchkey: '',
    ofA: '',
    ofB: '',
    unnamed: '',
  }

  beforeAll(async () => {
    store = await openTestStore()
    const [org] = await store.db
      .insert(organizations)
      .values({ name: 'Fabrics', createdAt: new Date(now) })
      .returning({ id: organizations.id })
    const base = {
      organizationId: org!.id,
      timezone: 'UTC',
      model: 'LK-100',
      capacity: 20,
      ledgerCapacity: 0,
      eventCapacity: 0,
      secretEncrypted: 'v1:unused',
      createdAt: new Date(now),
      updatedAt: new Date(now),
    }
    const matter = (controller: string | undefined) => ({
      ...base,
      driver: 'matter' as const,
      matter: { nodeId: `node-${controller}`, users: {}, ...(controller ? { controller } : {}) },
    })
    const rows = await store.db
      .insert(locks)
      .values([
        { ...base, name: 'Latchkey' },
        { ...matter('fabric-a'), name: 'Of A' },
        { ...matter('fabric-b'), name: 'Of B' },
        { ...matter(undefined), name: 'Unnamed' },
      ])
      .returning({ id: locks.id, name: locks.name })
    const byName = Object.fromEntries(rows.map((r) => [r.name, r.id]))
    ids.latchkey = byName.Latchkey!
    ids.ofA = byName['Of A']!
    ids.ofB = byName['Of B']!
    ids.unnamed = byName.Unnamed!
    for (const id of Object.values(ids)) await markDue(store.db, id, now)
  })
  afterAll(async () => {
    await store?.close()
  })

  async function claims(owner: string, controller: string | null): Promise<string[]> {
    const got = await claimDueLocks(store.db, owner, now, 60_000, 10, controller)
    for (const id of got) await releaseLock(store.db, owner, id)
    return got.sort()
  }

  it('a process claims the latchkey locks and the Matter locks of its own fabric only', async () => {
    expect(await claims('a', 'fabric-a')).toEqual([ids.latchkey, ids.ofA, ids.unnamed].sort())
    expect(await claims('b', 'fabric-b')).toEqual([ids.latchkey, ids.ofB, ids.unnamed].sort())
    // a process with no Matter controller claims no Matter lock at all
    expect(await claims('c', null)).toEqual([ids.latchkey])
  })

  it('a lock asked for by hand is claimed only by the process of its fabric', async () => {
    expect(await claimLock(store.db, 'b', ids.ofA, now, 60_000, 'fabric-b')).toBe(false)
    expect(await claimLock(store.db, 'a', ids.ofA, now, 60_000, 'fabric-a')).toBe(true)
    await releaseLock(store.db, 'a', ids.ofA)
  })
})
