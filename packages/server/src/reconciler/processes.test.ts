import { eq } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { lockSync, serverProcesses } from '../store/schema.ts'
import { markDue } from './lock-sync.ts'
import { heartbeat, releaseDeadProcesses } from './processes.ts'
import { addLock, type Fixture, setup } from './test-setup.ts'

let f: Fixture
beforeAll(async () => {
  f = await setup()
})
afterAll(() => f.close())

const now = () => f.t.clock.now()
const syncOf = async (lockId: string) =>
  (await f.t.store.db.select().from(lockSync).where(eq(lockSync.lockId, lockId)))[0]!

describe('processes that died', () => {
  it('sends again what was in flight when a process died, its own and the others’ (their answers may have gone to it), and leaves alone what was answered or sent since', async () => {
    const db = f.t.store.db
    await f.reconciler.stop()
    const [inFlight, reading, done, others, since] = [
      await addLock(f, { name: 'Its set_code in flight' }),
      await addLock(f, { name: 'Its read in flight' }),
      await addLock(f, { name: 'Its read answered' }),
      await addLock(f, { name: 'Another process’s set_code in flight' }),
      await addLock(f, { name: 'A set_code sent as the death is seen' }),
    ]
    const later = new Date(now() + 3_600_000)
    const at = now()
    const rows = [
      {
        lockId: inFlight.id,
        pending: { a: { op: 'set', at, attempts: 1, by: 'gone' } },
        readRequestedAt: null,
        readRequestedBy: null,
      },
      { lockId: reading.id, pending: {}, readRequestedAt: new Date(at), readRequestedBy: 'gone' },
      { lockId: done.id, pending: {}, readRequestedAt: null, readRequestedBy: 'gone' },
      {
        lockId: others.id,
        pending: { b: { op: 'set', at, attempts: 1, by: 'alive' } },
        readRequestedAt: null,
        readRequestedBy: null,
      },
      {
        lockId: since.id,
        pending: { c: { op: 'set', at: at + 6_000, attempts: 1, by: 'alive' } },
        readRequestedAt: null,
        readRequestedBy: null,
      },
    ] as const
    for (const row of rows) {
      await markDue(db, row.lockId, now())
      await db
        .update(lockSync)
        .set({ ...row, pending: row.pending as never, stale: false, dueAt: later })
        .where(eq(lockSync.lockId, row.lockId))
    }
    await heartbeat(db, 'gone', now())
    await heartbeat(db, 'alive', now())
    f.t.clock.advance(4_000)
    await heartbeat(db, 'alive', now())
    // not seen for 4 s of a 5 s lease: alive still
    expect(await releaseDeadProcesses(db, now(), 5_000)).toEqual([])
    f.t.clock.advance(2_000)
    await heartbeat(db, 'alive', now())
    expect(await releaseDeadProcesses(db, now(), 5_000)).toEqual(['gone'])
    // taken off the list once: another process asking next finds nobody to release
    expect(await releaseDeadProcesses(db, now(), 5_000)).toEqual([])
    expect((await db.select().from(serverProcesses)).map((p) => p.id)).toEqual(['alive'])

    for (const lock of [inFlight, reading, others]) {
      const sync = await syncOf(lock.id)
      expect(sync).toMatchObject({ pending: {}, stale: true, readRequestedAt: null })
      expect(sync.dueAt.getTime()).toBeLessThanOrEqual(now())
    }
    for (const lock of [done, since]) {
      const sync = await syncOf(lock.id)
      expect(sync.stale).toBe(false)
      expect(sync.dueAt).toEqual(later)
    }
    expect((await syncOf(since.id)).pending).toEqual({
      c: { op: 'set', at: at + 6_000, attempts: 1, by: 'alive' },
    })
  })
})
