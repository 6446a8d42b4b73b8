/**
 * A Matter lock has no gateway: the server's controller reaches it over IP. Its link is whether it is
 * online, never whether a gateway is (SPEC §12); read once it is in reach, its table is not read
 * again and again, so a battery lock's commands of the hour go to its codes.
 */
import { eq } from 'drizzle-orm'
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest'
import { lockSync, locks } from '../store/schema.ts'
import { addLock, createCode, type Fixture, getCode, settle, setup } from './test-setup.ts'

const CONTROLLER = 'fabric-of-this-process'

let f: Fixture
beforeAll(async () => {
  f = await setup({ matterController: CONTROLLER })
})
afterAll(() => f.close())
afterEach(() => {
  expect(f.errors).toEqual([])
})

async function addMatterLock(name: string) {
  const lock = await addLock(f, { name })
  await f.t.store.db
    .update(locks)
    .set({ driver: 'matter', gatewayId: null, matter: { nodeId: '7', users: {}, controller: CONTROLLER } })
    .where(eq(locks.id, lock.id))
  return lock
}

const types = (lockId: string) => f.channel.sent.filter((s) => s.lockId === lockId).map((s) => s.command.type)

it('reads a Matter lock’s table once, then puts its codes on it, and reads no more', async () => {
  const lock = await addMatterLock('Side gate')
  f.channel.sent.length = 0
  const first = (await createCode(f, lock.id, { name: 'Cleaner', kind: 'one_time', code: '591876' })).json()
  await settle(f)
  const second = (await createCode(f, lock.id, { name: 'Plumber', kind: 'permanent', code: '226257' })).json()
  await settle(f)
  for (let tick = 0; tick < 5; tick++) {
    f.t.clock.advance(2_000)
    await settle(f)
  }
  expect(types(lock.id)).toEqual(['read_table', 'set_code', 'set_code'])
  expect((await getCode(f, first.id)).status).toBe('set')
  expect((await getCode(f, second.id)).status).toBe('set')
  const [sync] = await f.t.store.db.select().from(lockSync).where(eq(lockSync.lockId, lock.id))
  expect(sync!.stale).toBe(false)
})

it('marks a Matter lock that goes offline stale, and reads it again once it is back', async () => {
  const lock = await addMatterLock('Shed')
  await settle(f)
  f.channel.sent.length = 0
  await f.channel.setReachable(lock.id, false)
  await settle(f)
  const [away] = await f.t.store.db.select().from(lockSync).where(eq(lockSync.lockId, lock.id))
  expect(away!.stale).toBe(true)
  await f.channel.setReachable(lock.id, true)
  await settle(f)
  expect(types(lock.id)).toEqual(['read_table'])
})
