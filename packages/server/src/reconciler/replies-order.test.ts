/**
 * Replies handled in another order than the lock answered (two server processes each take some of
 * them): what the server knows of the lock's table must still be what the lock holds, so no code is
 * taken back to `setting`, sent twice or recorded `set_on_lock` twice.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { markStale } from './lock-sync.ts'
import { addLock, codeEvents, createCode, type Fixture, getCode, settle, setup } from './test-setup.ts'

let f: Fixture
beforeAll(async () => {
  f = await setup()
})
afterAll(() => f.close())
afterEach(() => {
  expect(f.errors).toEqual([])
})

const typesSentTo = (lockId: string) =>
  f.channel.sent.filter((s) => s.lockId === lockId).map((s) => s.command.type)

describe('replies handled out of order', () => {
  it('does not take a table report older than a reply already handled: it reads the table again', async () => {
    const lock = await addLock(f)
    await settle(f)
    const code = (await createCode(f, lock.id, { name: 'Courier', kind: 'permanent', code: '604218' })).json()
    await markStale(f.t.store.db, lock.id, f.t.clock.now(), { due: true })
    f.channel.sent.length = 0
    await f.reconciler.runOnce()
    expect(f.channel.inFlight.map((q) => q.command.type)).toEqual(['read_table', 'set_code'])
    // the lock reports its table (without the code), then takes the code; the replies come last first
    expect(await f.channel.deliver({ repliesReversed: true })).toBe(2)
    await settle(f)
    expect(typesSentTo(lock.id)).toEqual(['read_table', 'set_code', 'read_table'])
    expect((await getCode(f, code.id)).status).toBe('set')
    expect((await codeEvents(f, code.id)).map((e) => e.type)).toEqual([
      'access_code.created',
      'access_code.set_on_lock',
    ])
  })

  it('keeps both codes of two set_code replies handled last first', async () => {
    const lock = await addLock(f, { name: 'Back door' })
    await settle(f)
    const first = (
      await createCode(f, lock.id, { name: 'Cleaner', kind: 'permanent', code: '318406' })
    ).json()
    const second = (
      await createCode(f, lock.id, { name: 'Gardener', kind: 'permanent', code: '729153' })
    ).json()
    f.channel.sent.length = 0
    await f.reconciler.runOnce()
    expect(f.channel.inFlight.map((q) => q.command.type)).toEqual(['set_code', 'set_code'])
    expect(await f.channel.deliver({ repliesReversed: true })).toBe(2)
    await settle(f)
    expect(typesSentTo(lock.id)).toEqual(['set_code', 'set_code'])
    for (const code of [first, second]) {
      expect((await getCode(f, code.id)).status).toBe('set')
      expect((await codeEvents(f, code.id)).map((e) => e.type)).toEqual([
        'access_code.created',
        'access_code.set_on_lock',
      ])
    }
    const view = await f.app.inject({
      method: 'GET',
      url: `/api/v1/locks/${lock.id}`,
      headers: f.owner.headers,
    })
    expect(view.json().capacity.used).toBe(2)
  })
})
