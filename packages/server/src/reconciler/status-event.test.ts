/**
 * A code's new status and the audit event of that change are written together: a store that fails
 * on the event (here a trigger refuses it, as a crash between the two would cut it) leaves the code
 * as it was, and the lock's next look sets it with its event.
 */
import { sql } from 'drizzle-orm'
import { afterAll, beforeAll, expect, it } from 'vitest'
import {
  addLock,
  codeEvents,
  createCode,
  expectSetWithItsEvent,
  type Fixture,
  getCode,
  settle,
  setup,
} from './test-setup.ts'

let f: Fixture
beforeAll(async () => {
  f = await setup()
})
afterAll(() => f.close())

it('never shows a code set on the lock without its event', async () => {
  const lock = await addLock(f)
  const code = (await createCode(f, lock.id, { name: 'Cleaner', kind: 'permanent', code: '482913' })).json()
  await f.t.store.db.execute(
    sql.raw(`
    create function refuse_set_event() returns trigger language plpgsql as $$
    begin
      if new.type = 'access_code.set_on_lock' then raise exception 'the store fails here'; end if;
      return new;
    end $$`),
  )
  await f.t.store.db.execute(
    sql.raw(
      'create trigger refuse_set_event before insert on events for each row execute function refuse_set_event()',
    ),
  )
  // the table read, the code sent and its reply, and looks after: the event is refused each time
  for (let round = 0; round < 5; round++) {
    await f.reconciler.runOnce()
    await f.channel.deliver().catch(() => undefined)
  }
  expect(f.channel.lock(lock.id).codes.map((c) => c.codeId)).toEqual([code.id])
  expect((await getCode(f, code.id)).status).toBe('setting')
  expect((await codeEvents(f, code.id)).map((e) => e.type)).toEqual(['access_code.created'])

  await f.t.store.db.execute(sql.raw('drop trigger refuse_set_event on events'))
  f.errors.length = 0
  // the lock's next look (at the latest when the code would be late) finds it on the lock
  f.t.clock.advance(11 * 60_000)
  await settle(f)
  await expectSetWithItsEvent(f, code.id)
})
