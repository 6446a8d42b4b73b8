import { eq } from 'drizzle-orm'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { appendEvents } from '../events/index.ts'
import { addLock, createCode, type Fixture, getCode, settle, setup } from '../reconciler/test-setup.ts'
import { locks } from '../store/schema.ts'
import { addMemberAndLogin, type TestAccount } from '../testing.ts'

const HOUR = 3_600_000
const iso = (ms: number) => new Date(ms).toISOString()

let f: Fixture
let member: TestAccount
beforeAll(async () => {
  f = await setup()
  member = await addMemberAndLogin(f.app, f.owner, 'member')
})
afterAll(() => f.close())
afterEach(() => {
  expect(f.errors).toEqual([])
})

async function remove(id: string) {
  return f.app.inject({ method: 'DELETE', url: `/api/v1/access-codes/${id}`, headers: f.owner.headers })
}

describe('GET /access-codes/{id}/diagnosis', () => {
  const diagnose = async (id: string, account: TestAccount = f.owner) => {
    const response = await f.app.inject({
      method: 'GET',
      url: `/api/v1/access-codes/${id}/diagnosis`,
      headers: account.headers,
    })
    expect(response.statusCode).toBe(200)
    return response.json()
  }

  it('explains a code that is on the lock but outside its window, a keypad lockout and recent refusals', async () => {
    const lock = await addLock(f, { name: 'Front door', timezone: 'Europe/Berlin' })
    const now = f.t.clock.now()
    // What the lock and its gateway reported: clock set 30 minutes ago, 2 s off.
    await f.t.store.db
      .update(locks)
      .set({
        lastSeenAt: new Date(now),
        inRange: true,
        clockSet: true,
        clockOffsetMs: 2000,
        clockSyncedAt: new Date(now - 30 * 60_000),
      })
      .where(eq(locks.id, lock.id))
    const startsAt = Date.parse('2030-01-16T08:00:00Z')
    const code = (
      await createCode(f, lock.id, {
        name: 'Cleaner – Wednesday',
        kind: 'timed',
        code: '604719',
        startsAt: iso(startsAt),
        endsAt: iso(startsAt + 2 * HOUR),
      })
    ).json()
    await settle(f)
    await appendEvents(f.t.store.db, [
      {
        organizationId: f.owner.organizationId,
        lockId: lock.id,
        type: 'lock.access_denied',
        accessCodeId: code.id,
        data: { method: 'keypad', reason: 'outside_schedule', label: 'Cleaner – Wednesday' },
        occurredAt: new Date(now - 5 * 60_000),
        recordedAt: new Date(now - 5 * 60_000),
        lockSeq: 7,
      },
      {
        organizationId: f.owner.organizationId,
        lockId: lock.id,
        type: 'lock.locked_out',
        data: { wrongAttempts: 5, durationMs: 120_000, until: iso(now + 60_000) },
        occurredAt: new Date(now - 60_000),
        recordedAt: new Date(now - 60_000),
        lockSeq: 8,
      },
    ])
    expect(await diagnose(code.id, member)).toEqual({
      accessCodeId: code.id,
      lockId: lock.id,
      result: 'fail',
      checkedAt: '2030-01-15T10:00:00.000Z',
      checks: [
        {
          check: 'lock',
          result: 'pass',
          message: 'The code is for the lock “Front door” only; it does not open other locks.',
        },
        {
          check: 'link',
          result: 'pass',
          message:
            'The lock is in range of the gateway “Hallway gateway”, which is online (last heard from on Tue 15 Jan 2030, 11:00 (Europe/Berlin)).',
        },
        {
          check: 'window',
          result: 'fail',
          message:
            'It is Tue 15 Jan 2030, 11:00 (Europe/Berlin) at the lock; it is valid from Wed 16 Jan 2030, 09:00 (Europe/Berlin) until Wed 16 Jan 2030, 11:00 (Europe/Berlin), so it does not open now and opens next on Wed 16 Jan 2030, 09:00 (Europe/Berlin).',
        },
        {
          check: 'clock',
          result: 'pass',
          message:
            'The lock’s clock is set (off by 2 s when last synced on Tue 15 Jan 2030, 10:30 (Europe/Berlin)).',
        },
        {
          check: 'sync',
          result: 'pass',
          message: 'The code is on the lock since Tue 15 Jan 2030, 11:00 (Europe/Berlin).',
        },
        { check: 'capacity', result: 'pass', message: 'The lock is not full: 1 of 250 slots are in use.' },
        {
          check: 'lockout',
          result: 'fail',
          message:
            'The keypad is locked out after 5 wrong codes until Tue 15 Jan 2030, 11:01 (Europe/Berlin): every code is refused until then.',
        },
        {
          check: 'denials',
          result: 'warn',
          message:
            'The lock refused this code recently (latest first) — Tue 15 Jan 2030, 10:55 (Europe/Berlin): outside its window or schedule.',
        },
      ],
    })
  })

  it('an offline code on a lock never seen: opens now, first use before its limit, the clock unknown', async () => {
    const lock = await addLock(f, { name: 'Beach house', timezone: 'Australia/Sydney' })
    const code = (
      await createCode(f, lock.id, { name: 'Guest', kind: 'permanent', delivery: 'offline' })
    ).json()
    expect(await diagnose(code.id)).toEqual({
      accessCodeId: code.id,
      lockId: lock.id,
      result: 'warn',
      checkedAt: '2030-01-15T10:00:00.000Z',
      checks: [
        {
          check: 'lock',
          result: 'pass',
          message: 'The code is for the lock “Beach house” only; it does not open other locks.',
        },
        {
          check: 'link',
          result: 'warn',
          message:
            'The gateway “Hallway gateway” is online, but the lock is out of its radio range (never heard from): codes already on the lock still open, but changes wait until it is reached. Move the gateway closer or check the lock’s battery.',
        },
        {
          check: 'window',
          result: 'pass',
          message:
            'It is Tue 15 Jan 2030, 21:00 (Australia/Sydney) at the lock; it is valid from Tue 15 Jan 2030, 21:00 (Australia/Sydney), so it opens now. It must be typed for the first time before Wed 16 Jan 2030, 21:00 (Australia/Sydney).',
        },
        {
          check: 'clock',
          result: 'warn',
          message: 'The lock has not been in touch yet, so its clock is unknown.',
        },
        {
          check: 'sync',
          result: 'pass',
          message: 'An offline code: nothing needs to reach the lock, it works without a gateway.',
        },
        {
          check: 'capacity',
          result: 'pass',
          message: 'An offline code takes no slot (0 of 250 slots are in use).',
        },
        {
          check: 'lockout',
          result: 'pass',
          message: 'The keypad has not been locked out in the last 24 hours.',
        },
        {
          check: 'denials',
          result: 'pass',
          message: 'The lock has not refused this code in the last 7 days.',
        },
      ],
    })
  })

  it('says an offline code never used was refused because the lock’s memory of offline codes was full', async () => {
    const lock = await addLock(f, { name: 'Pool gate' })
    const code = (
      await createCode(f, lock.id, { name: 'Pool cleaner', kind: 'one_time', delivery: 'offline' })
    ).json()
    const now = f.t.clock.now()
    await appendEvents(f.t.store.db, [
      {
        organizationId: f.owner.organizationId,
        lockId: lock.id,
        type: 'lock.access_denied',
        accessCodeId: code.id,
        data: { method: 'keypad', reason: 'uses_exhausted', label: 'Pool cleaner' },
        occurredAt: new Date(now - 60_000),
        recordedAt: new Date(now - 60_000),
        lockSeq: 3,
      },
    ])
    const denials = (await diagnose(code.id)).checks.find((c: { check: string }) => c.check === 'denials')
    expect(denials).toEqual({
      check: 'denials',
      result: 'warn',
      message:
        'The lock refused this code recently (latest first) — Tue 15 Jan 2030, 10:59 (Europe/Berlin): the lock’s memory of offline codes in use (64 entries) was full, so it could not record a first use.',
    })
  })

  it('warns of a scheduled code that will find the lock full when it is due, and says when', async () => {
    const lock = await addLock(f, { name: 'Boat shed', model: 'LK-20' })
    for (let i = 0; i < 19; i++) await createCode(f, lock.id, { name: `Member ${i}`, kind: 'permanent' })
    const now = f.t.clock.now()
    const timed = async (name: string, fromHours: number, toHours: number) =>
      (
        await createCode(f, lock.id, {
          name,
          kind: 'timed',
          startsAt: iso(now + fromHours * HOUR),
          endsAt: iso(now + toHours * HOUR),
        })
      ).json()
    // The rigger's code holds the last slot from day 3 to day 5; the painter's comes due inside that.
    const rigger = await timed('Rigger', 72, 120)
    const painter = await timed('Painter', 96, 100)
    await settle(f)
    // Told at once, when the code is made, and kept while it holds.
    const fullWhenDue = {
      code: 'lock_full_when_due',
      message:
        'the code starts on Sat 19 Jan 2030, 11:00 (Europe/Berlin); a code goes onto the lock 24 hours before it starts, on Fri 18 Jan 2030, 11:00 (Europe/Berlin), and by then the lock’s 20 slots will all hold codes made before this one that must be on it then: it will not fit unless one of them is deleted or ends sooner',
    }
    expect([painter.status, painter.warnings]).toEqual(['scheduled', [fullWhenDue]])
    expect((await getCode(f, painter.id)).warnings).toEqual([fullWhenDue])
    const capacity = async () =>
      (await diagnose(painter.id)).checks.find((c: { check: string }) => c.check === 'capacity')
    expect(await capacity()).toEqual({
      check: 'capacity',
      result: 'warn',
      message:
        'The code starts on Sat 19 Jan 2030, 11:00 (Europe/Berlin); a code goes onto the lock 24 hours before it starts, on Fri 18 Jan 2030, 11:00 (Europe/Berlin), and by then the lock’s 20 slots will all hold codes made before this one that must be on it then: it will not fit unless one of them is deleted or ends sooner (19 of 20 slots are in use now).',
    })
    await remove(rigger.id)
    await settle(f)
    // The reconciler renews it on its next look at the lock.
    expect((await getCode(f, painter.id)).warnings).toEqual([])
    expect(await capacity()).toEqual({
      check: 'capacity',
      result: 'pass',
      message: 'There will be a slot for it when it is due (19 of 20 slots are in use now).',
    })
  })

  it('tells a scheduled code when a code made later takes the last slot before it is due', async () => {
    const lock = await addLock(f, { name: 'Tool shed', model: 'LK-20' })
    for (let i = 0; i < 18; i++) await createCode(f, lock.id, { name: `Member ${i}`, kind: 'permanent' })
    const now = f.t.clock.now()
    const gardener = (
      await createCode(f, lock.id, {
        name: 'Gardener',
        kind: 'timed',
        startsAt: iso(now + 96 * HOUR),
        endsAt: iso(now + 100 * HOUR),
      })
    ).json()
    await settle(f)
    expect([gardener.status, gardener.warnings]).toEqual(['scheduled', []])
    // A permanent code made now goes on the lock at once and keeps its slot.
    await createCode(f, lock.id, { name: 'Member 18', kind: 'permanent' })
    await createCode(f, lock.id, { name: 'Member 19', kind: 'permanent' })
    await settle(f)
    expect((await getCode(f, gardener.id)).warnings.map((w: { code: string }) => w.code)).toEqual([
      'lock_full_when_due',
    ])
  })

  it('a deleted code and a full lock fail their checks', async () => {
    const lock = await addLock(f, { name: 'Bike store', model: 'LK-20' })
    for (let i = 0; i < 20; i++) await createCode(f, lock.id, { name: `Rider ${i}`, kind: 'permanent' })
    await settle(f)
    const full = (await createCode(f, lock.id, { name: 'Rider 21', kind: 'permanent' })).json()
    // the lock is in its gateway's range: only the full table keeps the code off it
    await f.t.store.db
      .update(locks)
      .set({ lastSeenAt: new Date(f.t.clock.now()), inRange: true })
      .where(eq(locks.id, lock.id))
    const checks = (await diagnose(full.id)).checks
    // waiting for a slot: on its way (warn), the full lock fails its check
    expect(checks.find((c: { check: string }) => c.check === 'sync')).toEqual({
      check: 'sync',
      result: 'warn',
      message:
        'The code is on its way to the lock and does not open yet: the lock is full: its 20 slots hold codes that must be on it now; this code goes on as soon as a slot frees (delete a code or wait for one to end) (lock_full).',
    })
    expect(checks.filter((c: { result: string }) => c.result === 'fail')).toEqual([
      {
        check: 'capacity',
        result: 'fail',
        message:
          'The lock is full (20 of 20 slots are in use): delete a code on it, or wait for one to end, to make room.',
      },
    ])
    await remove(full.id)
    const gone = (await diagnose(full.id)).checks
    expect(gone[0]).toEqual({
      check: 'lock',
      result: 'fail',
      message:
        'The code was deleted on Tue 15 Jan 2030, 11:00 (Europe/Berlin); it is for the lock “Bike store”.',
    })
  })
})
