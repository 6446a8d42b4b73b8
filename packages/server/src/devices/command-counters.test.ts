/**
 * Command counters reserved in blocks: two server processes (two CommandCounters on one store) and a
 * restart (a third, with nothing in memory) never hand out one counter twice, and a process whose
 * block lies below what was sent takes a new block above it.
 */
import { eq } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { addLock, type Fixture, setup } from '../reconciler/test-setup.ts'
import { locks } from '../store/schema.ts'
import { CommandCounters } from './command-counters.ts'

let f: Fixture
beforeAll(async () => {
  f = await setup()
})
afterAll(() => f.close())

describe('command counters', () => {
  it('never hands out one counter twice across processes and restarts, and stays above what was sent', async () => {
    const db = f.t.store.db
    const { id } = await addLock(f)
    const [before] = await db.select({ reserved: locks.commandCounter }).from(locks).where(eq(locks.id, id))
    const base = before!.reserved
    const one = new CommandCounters(db, 10)
    const two = new CommandCounters(db, 10)

    expect(one.take(id, 0)).toBeNull() // nothing reserved yet
    await one.reserve(id)
    expect([one.take(id, base), one.take(id, base + 1)]).toEqual([base + 1, base + 2])
    await two.reserve(id)
    const sentByTwo = two.take(id, base + 2)
    expect(sentByTwo).toBe(base + 11)
    // the first process's block lies below what the second sent: it must take a new one
    expect(one.take(id, sentByTwo!)).toBeNull()
    await one.reserve(id)
    expect(one.take(id, sentByTwo!)).toBe(base + 21)

    // a restart: nothing in memory; its block starts after every block reserved so far
    const restarted = new CommandCounters(db, 10)
    await restarted.reserve(id)
    expect(restarted.take(id, base + 21)).toBe(base + 31)
    const [after] = await db.select({ reserved: locks.commandCounter }).from(locks).where(eq(locks.id, id))
    expect(after!.reserved).toBe(base + 40)
  })
})
