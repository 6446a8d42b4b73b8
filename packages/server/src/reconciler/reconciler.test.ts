import { and, eq } from 'drizzle-orm'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { lockSync, locks } from '../store/schema.ts'
import { TEST_EPOCH } from '../testing.ts'
import { claimDueLocks } from './claim.ts'
import { markDue } from './lock-sync.ts'
import { DATABASE_BACK_GRACE_MS, startReconciler } from './reconciler.ts'
import {
  addLock,
  codeEvents,
  createCode,
  type Fixture,
  getCode,
  refuseUpdates,
  settle,
  setup,
} from './test-setup.ts'

const MINUTE = 60_000
const HOUR = 60 * MINUTE
const iso = (ms: number) => new Date(ms).toISOString()

let f: Fixture
beforeAll(async () => {
  f = await setup()
})
afterAll(() => f.close())
afterEach(() => {
  expect(f.errors).toEqual([])
})

const now = () => f.t.clock.now()

/** The commands sent to one lock since the last `f.channel.sent.length = 0`. */
const sentTo = (lockId: string) => f.channel.sent.filter((s) => s.lockId === lockId).map((s) => s.command)

async function deleteCode(id: string) {
  const response = await f.app.inject({
    method: 'DELETE',
    url: `/api/v1/access-codes/${id}`,
    headers: f.owner.headers,
  })
  expect(response.statusCode).toBe(200)
  return response.json()
}

describe('putting codes on locks', () => {
  it('reads the table of a lock it never saw, then puts a new code on it', async () => {
    const lock = await addLock(f)
    const created = await createCode(f, lock.id, {
      name: 'Cleaner – Tuesday',
      kind: 'permanent',
      code: '482913',
    })
    expect(created.statusCode).toBe(201)
    const code = created.json()
    expect(code.status).toBe('setting')
    f.channel.sent.length = 0
    await settle(f)
    expect(sentTo(lock.id)).toEqual([
      { type: 'read_table' },
      { type: 'set_code', codeId: code.id, pin: '482913', rule: { kind: 'permanent' } },
    ])
    expect(f.channel.lock(lock.id).codes).toEqual([
      { codeId: code.id, pin: '482913', rule: { kind: 'permanent' }, uses: 0 },
    ])
    const after = await getCode(f, code.id)
    expect(after.status).toBe('set')
    expect(after.setOnLockAt).toBe(iso(now()))
    expect(await codeEvents(f, code.id)).toEqual([
      {
        type: 'access_code.created',
        data: {
          label: 'Cleaner – Tuesday',
          lockName: 'Front door',
          kind: 'permanent',
          delivery: 'synced',
          status: 'setting',
        },
      },
      { type: 'access_code.set_on_lock', data: { label: 'Cleaner – Tuesday', lockName: 'Front door' } },
    ])
    const [row] = await f.t.store.db
      .select({ used: locks.codesOnLock })
      .from(locks)
      .where(eq(locks.id, lock.id))
    expect(row!.used).toBe(1)
  })

  it('puts a timed code on just in time (24 h before it starts) and takes it off when it ends', async () => {
    const lock = await addLock(f)
    await settle(f)
    const startsAt = now() + 72 * HOUR
    const created = await createCode(f, lock.id, {
      name: 'Plumber',
      kind: 'timed',
      code: '559130',
      startsAt: iso(startsAt),
      endsAt: iso(startsAt + 2 * HOUR),
    })
    const code = created.json()
    expect(code.status).toBe('scheduled')
    f.channel.sent.length = 0
    await settle(f)
    expect(sentTo(lock.id)).toEqual([])

    f.t.clock.advance(48 * HOUR - MINUTE)
    await settle(f)
    expect(sentTo(lock.id)).toEqual([])
    expect((await getCode(f, code.id)).status).toBe('scheduled')

    f.t.clock.advance(MINUTE)
    await settle(f)
    expect(sentTo(lock.id)).toEqual([
      {
        type: 'set_code',
        codeId: code.id,
        pin: '559130',
        rule: { kind: 'timed', startsAt, endsAt: startsAt + 2 * HOUR },
      },
    ])
    expect((await getCode(f, code.id)).status).toBe('set')

    f.channel.sent.length = 0
    f.t.clock.advance(26 * HOUR)
    await settle(f)
    expect(sentTo(lock.id)).toEqual([{ type: 'remove_code', codeId: code.id }])
    expect(f.channel.lock(lock.id).codes).toEqual([])
    const ended = await getCode(f, code.id)
    expect(ended.status).toBe('removed')
    expect(ended.expiredAt).toBe(iso(startsAt + 2 * HOUR))
    expect((await codeEvents(f, code.id)).map((e) => e.type)).toEqual([
      'access_code.created',
      'access_code.set_on_lock',
      'access_code.expired',
      'access_code.removed_from_lock',
    ])
    expect((await codeEvents(f, code.id))[3]).toEqual({
      type: 'access_code.removed_from_lock',
      data: { label: 'Plumber', lockName: 'Front door', reason: 'ended' },
    })
  })

  it('plans scheduled codes again when the organization changes its lead', async () => {
    const lock = await addLock(f)
    await settle(f)
    const startsAt = now() + 72 * HOUR
    const code = (
      await createCode(f, lock.id, {
        name: 'Painter',
        kind: 'timed',
        code: '613820',
        startsAt: iso(startsAt),
        endsAt: iso(startsAt + 8 * HOUR),
      })
    ).json()
    await settle(f)
    expect((await getCode(f, code.id)).status).toBe('scheduled')

    const setLead = async (syncLeadHours: number) => {
      const response = await f.app.inject({
        method: 'PATCH',
        url: '/api/v1/organization/settings',
        headers: f.owner.headers,
        payload: { syncLeadHours },
      })
      expect(response.statusCode).toBe(200)
      await settle(f)
    }
    f.channel.sent.length = 0
    await setLead(96)
    expect(sentTo(lock.id)).toEqual([
      {
        type: 'set_code',
        codeId: code.id,
        pin: '613820',
        rule: { kind: 'timed', startsAt, endsAt: startsAt + 8 * HOUR },
      },
    ])
    expect((await getCode(f, code.id)).status).toBe('set')

    f.channel.sent.length = 0
    await setLead(24)
    expect(sentTo(lock.id)).toEqual([{ type: 'remove_code', codeId: code.id }])
    expect((await getCode(f, code.id)).status).toBe('scheduled')
  })

  it('repairs what differs: removes codes it does not know, sets a code whose rule the lock holds wrong', async () => {
    const lock = await addLock(f)
    const code = (await createCode(f, lock.id, { name: 'Guest', kind: 'permanent', code: '739104' })).json()
    f.channel
      .lock(lock.id)
      .codes.push(
        { codeId: 'left-over', pin: '739104', rule: { kind: 'permanent' }, uses: 3 },
        { codeId: code.id, pin: '739104', rule: { kind: 'one_time' }, uses: 0 },
      )
    // The lock holds the PIN twice (a left-over entry): removal goes first, so the set is accepted.
    f.channel.lock(lock.id).codes.splice(1, 1)
    f.channel.sent.length = 0
    await settle(f)
    expect(sentTo(lock.id)).toEqual([
      { type: 'read_table' },
      { type: 'remove_code', codeId: 'left-over' },
      { type: 'set_code', codeId: code.id, pin: '739104', rule: { kind: 'permanent' } },
    ])
    expect(f.channel.lock(lock.id).codes).toEqual([
      { codeId: code.id, pin: '739104', rule: { kind: 'permanent' }, uses: 0 },
    ])
    expect((await getCode(f, code.id)).status).toBe('set')
  })

  it('sends a changed window and keeps the use count on the lock', async () => {
    const lock = await addLock(f)
    const code = (
      await createCode(f, lock.id, {
        name: 'Dog walker',
        kind: 'timed',
        code: '604719',
        startsAt: iso(now()),
        endsAt: iso(now() + 2 * HOUR),
      })
    ).json()
    await settle(f)
    await f.channel.keypadUnlock(lock.id, code.id, now())
    const patched = await f.app.inject({
      method: 'PATCH',
      url: `/api/v1/access-codes/${code.id}`,
      headers: f.owner.headers,
      payload: { endsAt: iso(now() + 4 * HOUR) },
    })
    expect(patched.statusCode).toBe(200)
    expect(patched.json().status).toBe('setting')
    f.channel.sent.length = 0
    await settle(f)
    expect(sentTo(lock.id)).toEqual([
      {
        type: 'set_code',
        codeId: code.id,
        pin: '604719',
        rule: { kind: 'timed', startsAt: now(), endsAt: now() + 4 * HOUR },
      },
    ])
    expect(f.channel.lock(lock.id).codes[0]!.uses).toBe(1)
    const after = await getCode(f, code.id)
    expect([after.status, after.uses]).toEqual(['set', 1])
  })
})

describe('deleting', () => {
  it('takes a deleted code off the lock: removing, then removed', async () => {
    const lock = await addLock(f)
    const code = (await createCode(f, lock.id, { name: 'Painter', kind: 'permanent', code: '817364' })).json()
    await settle(f)
    expect((await deleteCode(code.id)).status).toBe('removing')
    f.channel.sent.length = 0
    await settle(f)
    expect(sentTo(lock.id)).toEqual([{ type: 'remove_code', codeId: code.id }])
    expect((await getCode(f, code.id)).status).toBe('removed')
    expect((await codeEvents(f, code.id)).map((e) => [e.type, e.data.reason])).toEqual([
      ['access_code.created', undefined],
      ['access_code.set_on_lock', undefined],
      ['access_code.deleted', undefined],
      ['access_code.removed_from_lock', 'deleted'],
    ])
  })

  it('a code deleted while its set_code went unanswered is taken off the lock, which may hold it all the same', async () => {
    const lock = await addLock(f)
    await settle(f)
    const code = (await createCode(f, lock.id, { name: 'Plumber', kind: 'permanent', code: '528193' })).json()
    await f.reconciler.runOnce()
    // the lock puts the code on; its answer is lost on the way
    await f.channel.deliver({ repliesLost: true })
    expect(f.channel.lock(lock.id).codes.map((c) => c.codeId)).toEqual([code.id])
    await deleteCode(code.id)
    f.channel.sent.length = 0
    await settle(f)
    expect(sentTo(lock.id)).toEqual([{ type: 'remove_code', codeId: code.id }])
    expect(f.channel.lock(lock.id).codes).toEqual([])
    expect((await getCode(f, code.id)).status).toBe('removed')
  })

  it('a lock out of reach for a moment gets its commands in flight again as soon as it is back, not after their timeout', async () => {
    const lock = await addLock(f)
    await settle(f)
    f.channel.lock(lock.id).silent = true
    const code = (
      await createCode(f, lock.id, { name: 'Locksmith', kind: 'permanent', code: '905138' })
    ).json()
    await settle(f)
    expect(sentTo(lock.id).at(-1)).toMatchObject({ type: 'set_code', codeId: code.id })
    // its gateway drops off and comes back (a restart): the set_code's answer will never come
    await f.channel.setReachable(lock.id, false)
    await settle(f)
    await f.channel.setReachable(lock.id, true)
    f.channel.lock(lock.id).silent = false
    f.channel.sent.length = 0
    await settle(f)
    expect(sentTo(lock.id).map((c) => c.type)).toEqual(['read_table', 'set_code'])
    expect((await getCode(f, code.id)).status).toBe('set')
  })

  it('a code the lock never got is removed at once', async () => {
    const lock = await addLock(f)
    const code = (
      await createCode(f, lock.id, {
        name: 'Next month',
        kind: 'timed',
        startsAt: iso(now() + 30 * 24 * HOUR),
        endsAt: iso(now() + 31 * 24 * HOUR),
      })
    ).json()
    expect(code.status).toBe('scheduled')
    const deleted = await deleteCode(code.id)
    expect(deleted.status).toBe('removed')
    expect(deleted.deletedAt).toBe(iso(now()))
  })

  it('while the lock is unreachable: removing, says at once the PIN still opens, a delay warning after a while, removed once it is back', async () => {
    const lock = await addLock(f)
    const code = (await createCode(f, lock.id, { name: 'Nanny', kind: 'permanent', code: '275815' })).json()
    await settle(f)
    await f.channel.setReachable(lock.id, false)
    const stillOpens = {
      code: 'still_opens_until_lock_reached',
      message:
        'the lock is out of its gateway’s range: the code still opens the door until the lock is reached and takes the removal',
    }
    const deleted = await deleteCode(code.id)
    expect([deleted.status, deleted.warnings]).toEqual(['removing', [stillOpens]])
    await settle(f)
    expect(f.channel.lock(lock.id).codes.map((c) => c.codeId)).toEqual([code.id])
    expect((await getCode(f, code.id)).warnings).toEqual([stillOpens])

    f.t.clock.advance(10 * MINUTE)
    await settle(f)
    const waiting = await getCode(f, code.id)
    expect(waiting.status).toBe('removing')
    expect(waiting.warnings).toEqual([
      stillOpens,
      {
        code: 'delay_in_removing_from_lock',
        message:
          'not yet removed from the lock after 10 minutes (the lock is out of its gateway’s range): it still opens the lock until the lock is reached',
      },
    ])

    f.t.clock.advance(5 * MINUTE)
    await f.channel.setReachable(lock.id, true)
    f.channel.sent.length = 0
    await settle(f)
    expect(sentTo(lock.id)).toEqual([{ type: 'read_table' }, { type: 'remove_code', codeId: code.id }])
    const done = await getCode(f, code.id)
    expect(done.status).toBe('removed')
    expect(done.warnings).toEqual([
      {
        code: 'delay_in_removing_from_lock',
        message: 'removed from the lock 15 minutes after the change: it opened the lock until then',
      },
    ])
  })

  it('revokes a deleted offline code through the lock’s revocation list', async () => {
    const lock = await addLock(f)
    await settle(f)
    const code = (
      await createCode(f, lock.id, { name: 'Courier', kind: 'one_time', delivery: 'offline' })
    ).json()
    expect(code.status).toBe('issued')
    expect((await deleteCode(code.id)).status).toBe('removing')
    f.channel.sent.length = 0
    await settle(f)
    const revocation = `offline:${code.code.slice(0, 2).replace(/^0/, '')}:${Date.parse(code.startsAt)}`
    expect(sentTo(lock.id)).toEqual([{ type: 'set_revocations', keyIds: [revocation] }])
    expect(f.channel.lock(lock.id).revocations).toEqual([revocation])
    expect((await getCode(f, code.id)).status).toBe('removed')
    expect((await codeEvents(f, code.id)).at(-1)).toEqual({
      type: 'access_code.removed_from_lock',
      data: { label: 'Courier', lockName: 'Front door', reason: 'deleted', revoked: true },
    })
    // It stays revoked: the next looks send nothing more.
    f.channel.sent.length = 0
    await f.reconciler.requestReconcile(lock.id)
    await settle(f)
    expect(sentTo(lock.id)).toEqual([{ type: 'read_table' }])
  })
})

describe('re-issuing an offline code', () => {
  it('never gives a new offline code the (H, start) of a deleted one the lock still refuses', async () => {
    const lock = await addLock(f)
    await settle(f)
    const first = (
      await createCode(f, lock.id, { name: 'Courier', kind: 'permanent', delivery: 'offline' })
    ).json()
    expect((await deleteCode(first.id)).status).toBe('removing')
    await settle(f)
    expect((await getCode(f, first.id)).status).toBe('removed')
    const revoked = f.channel.lock(lock.id).revocations
    expect(revoked).toHaveLength(1)

    // the same request again, for the same start hour
    const again = (
      await createCode(f, lock.id, { name: 'Courier again', kind: 'permanent', delivery: 'offline' })
    ).json()
    expect(again.status).toBe('issued')
    expect(again.code).not.toBe(first.code)
    const pair = `offline:${Number(again.code.slice(0, 2))}:${Date.parse(again.startsAt)}`
    expect(revoked).not.toContain(pair)
    await settle(f)
    expect(f.channel.lock(lock.id).revocations).toEqual(revoked)
  })
})

describe('a full lock', () => {
  it('gives lock_full to the code that does not fit, and sets it once a slot frees', async () => {
    const lock = await addLock(f, { model: 'LK-20' })
    expect(lock.capacity).toBe(20)
    const ids: string[] = []
    for (let i = 0; i < 20; i++) {
      const response = await createCode(f, lock.id, { name: `Tenant ${i + 1}`, kind: 'permanent' })
      expect(response.json().status).toBe('setting')
      ids.push(response.json().id)
    }
    await settle(f)
    expect(f.channel.lock(lock.id).codes.length).toBe(20)
    const extra = await createCode(f, lock.id, { name: 'Tenant 21', kind: 'permanent' })
    expect(extra.statusCode).toBe(201)
    const full = extra.json()
    // it waits for a slot: setting, with lock_full, not failed
    expect([full.status, full.errors]).toEqual([
      'setting',
      [
        {
          code: 'lock_full',
          message:
            'the lock is full: its 20 slots hold codes that must be on it now; this code goes on as soon as a slot frees (delete a code or wait for one to end)',
        },
      ],
    ])
    expect((await codeEvents(f, full.id)).map((e) => [e.type, e.data.error])).toEqual([
      ['access_code.created', undefined],
    ])
    await settle(f)
    expect((await getCode(f, full.id)).status).toBe('setting')

    await deleteCode(ids[0]!)
    await settle(f)
    const after = await getCode(f, full.id)
    expect([after.status, after.errors]).toEqual(['set', []])
    expect(
      f.channel
        .lock(lock.id)
        .codes.map((c) => c.codeId)
        .sort(),
    ).toEqual([...ids.slice(1), full.id].sort())
  })
})

describe('the lock’s own answer', () => {
  it('a lock_full reply keeps the code setting until the unknown code taking the slot is removed', async () => {
    const lock = await addLock(f, { model: 'LK-20' })
    for (let i = 0; i < 19; i++) await createCode(f, lock.id, { name: `Tenant ${i + 1}`, kind: 'permanent' })
    await settle(f)
    // Something the server does not know about takes the last slot.
    f.channel
      .lock(lock.id)
      .codes.push({ codeId: 'installer', pin: '5550123', rule: { kind: 'permanent' }, uses: 0 })
    const code = (
      await createCode(f, lock.id, { name: 'Tenant 20', kind: 'permanent', code: '739201' })
    ).json()
    expect(code.status).toBe('setting')
    await f.reconciler.runOnce()
    await f.channel.deliver()
    const refused = await getCode(f, code.id)
    expect([refused.status, refused.errors]).toEqual([
      'setting',
      [{ code: 'lock_full', message: 'the lock refused the code: the code table is full (20 codes)' }],
    ])
    // The lock's table is read again, the unknown code removed, and the code set after its backoff.
    f.channel.sent.length = 0
    await settle(f)
    expect(sentTo(lock.id)).toEqual([{ type: 'read_table' }, { type: 'remove_code', codeId: 'installer' }])
    f.t.clock.advance(30_000)
    await settle(f)
    expect(sentTo(lock.id).at(-1)).toEqual({
      type: 'set_code',
      codeId: code.id,
      pin: '739201',
      rule: { kind: 'permanent' },
    })
    const set = await getCode(f, code.id)
    expect([set.status, set.errors]).toEqual(['set', []])
  })
})

describe('retries', () => {
  it('retries with backoff while the lock does not answer, says failed_to_set after 5 attempts, then recovers', async () => {
    const lock = await addLock(f)
    await settle(f)
    f.channel.lock(lock.id).silent = true
    const code = (
      await createCode(f, lock.id, { name: 'Window cleaner', kind: 'permanent', code: '391756' })
    ).json()
    f.channel.sent.length = 0
    const sentAt: number[] = []
    for (let step = 0; step < 40; step++) {
      const before = sentTo(lock.id).length
      await settle(f)
      if (sentTo(lock.id).length > before) sentAt.push(now() - TEST_EPOCH)
      f.t.clock.advance(10_000)
    }
    const start = sentAt[0]!
    // 30 s (the command timeout) until the backoff grows past it: 40 s, then 60 s (the maximum).
    expect(sentAt.map((t) => (t - start) / 1000)).toEqual([0, 30, 60, 90, 130, 190, 250, 310, 370])
    const failed = await getCode(f, code.id)
    expect([failed.status, failed.errors]).toEqual([
      'failed',
      [
        {
          code: 'failed_to_set',
          message: 'the lock did not confirm the code after 5 attempts; still retrying',
        },
      ],
    ])
    expect((await codeEvents(f, code.id)).filter((e) => e.type === 'access_code.failed_to_set')).toEqual([
      {
        type: 'access_code.failed_to_set',
        data: { label: 'Window cleaner', lockName: 'Front door', error: 'failed_to_set' },
      },
    ])

    f.channel.lock(lock.id).silent = false
    f.t.clock.advance(60_000)
    await settle(f)
    const recovered = await getCode(f, code.id)
    expect([recovered.status, recovered.errors]).toEqual(['set', []])
  })
})

describe('uses', () => {
  it('counts opens from the lock’s events; a used one-time code stays a day (already_used), then comes off', async () => {
    const lock = await addLock(f)
    const code = (
      await createCode(f, lock.id, { name: 'Cleaner – Tuesday', kind: 'one_time', code: '950274' })
    ).json()
    await settle(f)
    const usedAt = now() + 5 * MINUTE
    f.t.clock.advance(6 * MINUTE)
    await f.channel.keypadUnlock(lock.id, code.id, usedAt)
    const used = await getCode(f, code.id)
    expect([used.uses, used.firstUsedAt, used.lastUsedAt, used.status]).toEqual([
      1,
      iso(usedAt),
      iso(usedAt),
      'set',
    ])
    await settle(f)
    expect(f.channel.lock(lock.id).codes.map((c) => c.codeId)).toEqual([code.id])

    f.t.clock.advance(24 * HOUR)
    f.channel.sent.length = 0
    await settle(f)
    expect(sentTo(lock.id)).toEqual([{ type: 'remove_code', codeId: code.id }])
    const gone = await getCode(f, code.id)
    expect(gone.status).toBe('removed')
    expect((await codeEvents(f, code.id)).at(-1)).toEqual({
      type: 'access_code.removed_from_lock',
      data: { label: 'Cleaner – Tuesday', lockName: 'Front door', reason: 'used_up' },
    })
  })
})

describe('uses in a batch', () => {
  it('counts every opening of a batch of events, per code, with the first and the last time', async () => {
    const lock = await addLock(f)
    const cleaner = (
      await createCode(f, lock.id, { name: 'Cleaner', kind: 'permanent', code: '640172' })
    ).json()
    const gardener = (
      await createCode(f, lock.id, { name: 'Gardener', kind: 'permanent', code: '731904' })
    ).json()
    await settle(f)
    const t0 = now() + MINUTE
    const seq = f.channel.lock(lock.id).seq
    f.channel.lock(lock.id).seq += 5
    await f.channel.emit(lock.id, [
      { seq: seq + 1, at: t0 + 2 * MINUTE, type: 'unlocked', method: 'keypad', codeId: cleaner.id },
      { seq: seq + 2, at: t0, type: 'unlocked', method: 'keypad', codeId: cleaner.id },
      { seq: seq + 3, at: t0 + MINUTE, type: 'unlocked', method: 'keypad', codeId: gardener.id },
      { seq: seq + 4, at: t0 + 3 * MINUTE, type: 'unlocked', method: 'keypad', codeId: cleaner.id },
      // a code of another lock (or none known here) counts for nothing
      {
        seq: seq + 5,
        at: t0,
        type: 'unlocked',
        method: 'keypad',
        codeId: '00000000-0000-4000-8000-000000000000',
      },
    ])
    const [c, g] = [await getCode(f, cleaner.id), await getCode(f, gardener.id)]
    expect([c.uses, c.firstUsedAt, c.lastUsedAt]).toEqual([3, iso(t0), iso(t0 + 3 * MINUTE)])
    expect([g.uses, g.firstUsedAt, g.lastUsedAt]).toEqual([1, iso(t0 + MINUTE), iso(t0 + MINUTE)])
  })
})

describe('the lock’s clock', () => {
  it('a time-bound code says when the lock’s clock is unset or was far off; a permanent one does not mind', async () => {
    const lock = await addLock(f)
    const setClock = (values: Partial<typeof locks.$inferInsert>) =>
      f.t.store.db.update(locks).set(values).where(eq(locks.id, lock.id))
    await setClock({ lastSeenAt: new Date(now()), clockSet: false })
    const timed = (
      await createCode(f, lock.id, {
        name: 'Cleaner',
        kind: 'timed',
        startsAt: iso(now()),
        endsAt: iso(now() + 2 * HOUR),
      })
    ).json()
    const permanent = (await createCode(f, lock.id, { name: 'Owner', kind: 'permanent' })).json()
    await settle(f)
    const unset = await getCode(f, timed.id)
    expect([unset.status, unset.errors]).toEqual([
      'set',
      [
        {
          code: 'lock_clock_not_set',
          message:
            'the lock’s clock is not set (it lost power?): the lock refuses this code until a gateway sets its clock',
        },
      ],
    ])
    expect((await getCode(f, permanent.id)).errors).toEqual([])

    // A gateway sets the clock, which was 3 minutes off: the lock logs clock_set.
    await setClock({ clockSet: true, clockOffsetMs: 180_000, clockSyncedAt: new Date(now()) })
    await f.channel.emit(lock.id, [{ seq: 1, at: now(), type: 'clock_set', offsetMs: -180_000 }])
    await settle(f)
    const synced = await getCode(f, timed.id)
    expect([synced.errors, synced.warnings]).toEqual([
      [],
      [
        {
          code: 'lock_clock_drift',
          message:
            'the lock’s clock was 180 s off when last synced: near the start or end of its window the lock may judge the time differently',
        },
      ],
    ])
    expect((await getCode(f, permanent.id)).warnings).toEqual([])
  })
})

describe('restarts and claims', () => {
  it('another process carries on from the store once the lease of one that died runs out', async () => {
    const lock = await addLock(f)
    await settle(f)
    const code = (
      await createCode(f, lock.id, { name: 'Gardener', kind: 'permanent', code: '628401' })
    ).json()
    // A process claimed the lock and died.
    await f.t.store.db
      .update(locks)
      .set({ claimedBy: 'dead-process', claimedUntil: new Date(now() + 60_000) })
      .where(eq(locks.id, lock.id))
    await f.reconciler.stop()
    f.reconciler = startReconciler(f.t.app.deps, f.channel, { manual: true })
    await settle(f)
    expect((await getCode(f, code.id)).status).toBe('setting')
    f.t.clock.advance(60_001)
    await settle(f)
    expect((await getCode(f, code.id)).status).toBe('set')
  })

  it('a process that dies in the middle of a look leaves the lock to another within its 5 s lease', async () => {
    const lock = await addLock(f)
    await settle(f)
    const code = (await createCode(f, lock.id, { name: 'Courier', kind: 'permanent', code: '274615' })).json()
    // The look has taken the lock and its due time when the process dies: its claim and that due
    // time stay as it left them.
    const reachable = f.channel.reachable
    f.channel.reachable = async () => {
      throw new Error('the process died')
    }
    await f.reconciler.runOnce()
    f.channel.reachable = reachable
    f.errors.length = 0
    await f.t.store.db
      .update(locks)
      .set({ claimedBy: 'dead-process', claimedUntil: new Date(now() + 5_000) })
      .where(eq(locks.id, lock.id))
    await f.reconciler.stop()
    f.reconciler = startReconciler(f.t.app.deps, f.channel, { manual: true })
    await settle(f)
    expect((await getCode(f, code.id)).status).toBe('setting')
    f.t.clock.advance(5_001)
    await settle(f)
    expect((await getCode(f, code.id)).status).toBe('set')
  })

  it('a process that alone works on its store (PGlite) takes over at once the claims a killed run left', async () => {
    const lock = await addLock(f)
    await settle(f)
    const created = await createCode(f, lock.id, {
      name: 'Window cleaner',
      kind: 'permanent',
      code: '519264',
    })
    expect(created.statusCode, created.body).toBe(201)
    const code = created.json()
    // The previous run claimed the lock and was killed (kill -9) before it gave it back.
    await f.t.store.db
      .update(locks)
      .set({ claimedBy: 'killed-run', claimedUntil: new Date(now() + 60_000) })
      .where(eq(locks.id, lock.id))
    await f.reconciler.stop()
    f.reconciler = startReconciler(f.t.app.deps, f.channel, { manual: true, soleProcess: true })
    await settle(f)
    expect((await getCode(f, code.id)).status).toBe('set')
    const [row] = await f.t.store.db
      .select({ claimedBy: locks.claimedBy })
      .from(locks)
      .where(eq(locks.id, lock.id))
    expect(row!.claimedBy).toBeNull()
  })

  it('a process that alone works on its store sends again at once the commands a killed run left in flight', async () => {
    const lock = await addLock(f)
    await settle(f)
    // The killed run sent set_code; the lock never got it (the frame was lost with the run).
    f.channel.lock(lock.id).silent = true
    const created = await createCode(f, lock.id, { name: 'Plumber', kind: 'permanent', code: '406271' })
    expect(created.statusCode, created.body).toBe(201)
    const code = created.json()
    await settle(f)
    expect(sentTo(lock.id).some((c) => c.type === 'set_code')).toBe(true)
    f.channel.lock(lock.id).silent = false
    await f.reconciler.stop()
    f.reconciler = startReconciler(f.t.app.deps, f.channel, { manual: true, soleProcess: true })
    await settle(f)
    expect((await getCode(f, code.id)).status).toBe('set')
    expect(f.channel.lock(lock.id).codes.map((c) => c.codeId)).toEqual([code.id])
  })

  it('sends again within a lease, not after the command timeout, what a process that died left in flight', async () => {
    const lock = await addLock(f)
    await settle(f)
    // Another process sends the code's set_code; the lock's answer is lost with that process, which
    // dies: it ticks no more.
    const dying = startReconciler(f.t.app.deps, f.channel, { manual: true, processId: 'dying-process' })
    f.channel.lock(lock.id).silent = true
    const created = await createCode(f, lock.id, { name: 'Roofer', kind: 'permanent', code: '583016' })
    expect(created.statusCode, created.body).toBe(201)
    const code = created.json()
    await dying.runOnce()
    await f.channel.deliver()
    await dying.stop()
    const [sync] = await f.t.store.db.select().from(lockSync).where(eq(lockSync.lockId, lock.id))
    expect(sync!.pending[code.id]).toMatchObject({ op: 'set', by: 'dying-process' })
    f.channel.lock(lock.id).silent = false
    await settle(f)
    expect((await getCode(f, code.id)).status).toBe('setting')
    // a lease later (5 s) the process counts as dead, well before the command's timeout (30 s)
    f.t.clock.advance(5_001)
    await settle(f)
    expect((await getCode(f, code.id)).status).toBe('set')
    expect(f.channel.lock(lock.id).codes.map((c) => c.codeId)).toEqual([code.id])
  })

  it('two reconcilers on the same store never both claim a lock', async () => {
    const lockIds: string[] = []
    for (let i = 0; i < 12; i++) lockIds.push((await addLock(f, { name: `Unit ${i}` })).id)
    for (let round = 0; round < 5; round++) {
      for (const id of lockIds) await markDue(f.t.store.db, id, now())
      const [a, b] = await Promise.all([
        claimDueLocks(f.t.store.db, 'process-a', now(), 60_000, 100),
        claimDueLocks(f.t.store.db, 'process-b', now(), 60_000, 100),
      ])
      const both = a!.filter((id) => b!.includes(id))
      expect(both).toEqual([])
      for (const id of lockIds) expect(a!.includes(id) || b!.includes(id)).toBe(true)
      const holders = await f.t.store.db
        .select({ by: locks.claimedBy })
        .from(locks)
        .where(and(eq(locks.id, lockIds[0]!)))
      expect(['process-a', 'process-b']).toContain(holders[0]!.by)
      f.t.clock.advance(60_001)
    }
    const [sync] = await f.t.store.db.select().from(lockSync).where(eq(lockSync.lockId, lockIds[0]!))
    expect(sync!.lockId).toBe(lockIds[0])
  })
})

describe('the database lost in the middle of a look', () => {
  it('sends again, once the database is back and a grace for its answer is over, what the look recorded as sent, not after the command timeout', async () => {
    const errors: unknown[] = []
    await f.reconciler.stop()
    f.reconciler = startReconciler(f.t.app.deps, f.channel, {
      manual: true,
      commandTimeoutMs: 30_000,
      onError: (error) => errors.push(error),
    })
    const lock = await addLock(f, { name: 'Loft' })
    await settle(f)
    const db = f.t.store.db
    // The look records its set_code as in flight, then the database goes away (SQLSTATE 57P01, as a
    // PostgreSQL shutting down answers) before the command leaves.
    const back = await refuseUpdates(db, {
      table: 'access_codes',
      when: `new.lock_id = '${lock.id}' and new.attempts <> old.attempts`,
      message: 'terminating connection due to administrator command',
      errcode: '57P01',
    })
    const code = (await createCode(f, lock.id, { name: 'Plumber', kind: 'permanent' })).json()
    f.channel.sent.length = 0
    // the other locks' looks of this suite may come first
    for (let round = 0; round < 20 && errors.length === 0; round++) {
      await f.reconciler.runOnce()
      await f.channel.deliver()
    }
    expect(sentTo(lock.id)).toEqual([])
    expect(errors.splice(0)).toHaveLength(1)
    await back()

    // back a second later: its answer may still come (a gateway's message waiting for the database),
    // so the command waits a grace of 2 s, not the 30 s timeout
    f.t.clock.advance(1_000)
    await settle(f)
    expect(sentTo(lock.id)).toEqual([])
    f.t.clock.advance(DATABASE_BACK_GRACE_MS)
    await settle(f)
    expect(sentTo(lock.id).map((c) => c.type)).toContain('set_code')
    expect((await getCode(f, code.id)).status).toBe('set')
    expect(f.channel.locks.get(lock.id)?.codes.map((c) => c.codeId)).toEqual([code.id])
    expect(errors).toEqual([])
  })
})
