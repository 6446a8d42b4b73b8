import { type AccessRule, verifyOfflinePin, weakPinReason } from '@latchkey/core'
import { deriveLockKeys, hmacSha256 } from '@latchkey/protocol'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  addLock,
  codeEvents,
  createCode,
  type Fixture,
  getCode,
  refuseUpdates,
  settle,
  setup,
} from '../reconciler/test-setup.ts'
import { addMemberAndLogin, signupOwner, TEST_EPOCH, type TestAccount } from '../testing.ts'

const HOUR = 3_600_000
const iso = (ms: number) => new Date(ms).toISOString()
const UUID = expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/)

let f: Fixture
let lockId: string
let member: TestAccount
let stranger: TestAccount
beforeAll(async () => {
  f = await setup()
  lockId = (await addLock(f)).id
  member = await addMemberAndLogin(f.app, f.owner, 'member')
  stranger = await signupOwner(f.app)
})
afterAll(() => f.close())
afterEach(() => {
  expect(f.errors).toEqual([])
})

const problem = (status: number, code: string, detail: string) => ({
  type: `urn:latchkey:error:${code}`,
  title: code.charAt(0).toUpperCase() + code.slice(1).replaceAll('_', ' '),
  status,
  code,
  detail,
})

async function patch(id: string, payload: Record<string, unknown>, account: TestAccount = f.owner) {
  return f.app.inject({
    method: 'PATCH',
    url: `/api/v1/access-codes/${id}`,
    headers: account.headers,
    payload,
  })
}

async function remove(id: string, account: TestAccount = f.owner) {
  return f.app.inject({ method: 'DELETE', url: `/api/v1/access-codes/${id}`, headers: account.headers })
}

describe('a change made while the lock cannot be reached', () => {
  it('says at once that the lock keeps the old PIN until it is reached', async () => {
    const lock = await addLock(f, { name: 'Studio' })
    const code = (
      await createCode(f, lock.id, { name: 'Dog walker', kind: 'permanent', code: '739201' })
    ).json()
    await settle(f)
    expect((await getCode(f, code.id)).status).toBe('set')
    await f.channel.setReachable(lock.id, false)
    const changed = await patch(code.id, { code: '275815' })
    expect(changed.statusCode).toBe(200)
    expect([changed.json().status, changed.json().warnings]).toEqual([
      'setting',
      [
        {
          code: 'still_opens_until_lock_reached',
          message:
            'the lock is out of its gateway’s range: the lock keeps the code as it was (its old PIN and times still open the door) until the lock is reached and takes the change',
        },
      ],
    ])
    // the lock is reached: the change is taken and the warning goes
    await f.channel.setReachable(lock.id, true)
    await settle(f)
    const taken = await getCode(f, code.id)
    expect([taken.status, taken.warnings]).toEqual(['set', []])
  })
})

describe('POST /locks/{lockId}/access-codes', () => {
  it('creates a synced code with a chosen PIN', async () => {
    const response = await createCode(f, lockId, {
      name: 'Cleaner – Tuesday',
      kind: 'timed',
      code: '482913',
      startsAt: iso(TEST_EPOCH),
      endsAt: iso(TEST_EPOCH + 2 * HOUR),
    })
    expect(response.statusCode).toBe(201)
    expect(response.json()).toEqual({
      id: UUID,
      lockId,
      name: 'Cleaner – Tuesday',
      kind: 'timed',
      delivery: 'synced',
      code: '482913',
      timezone: 'Europe/Berlin',
      startsAt: '2030-01-15T10:00:00.000Z',
      startsAtLocal: '2030-01-15T11:00+01:00',
      endsAt: '2030-01-15T12:00:00.000Z',
      endsAtLocal: '2030-01-15T13:00+01:00',
      schedule: null,
      maxUses: null,
      uses: 0,
      firstUsedAt: null,
      lastUsedAt: null,
      status: 'setting',
      errors: [],
      warnings: [],
      firstUseBy: null,
      firstUseByLocal: null,
      setOnLockAt: null,
      expiredAt: null,
      createdAt: '2030-01-15T10:00:00.000Z',
      updatedAt: '2030-01-15T10:00:00.000Z',
      deletedAt: null,
    })
    expect(await codeEvents(f, response.json().id)).toEqual([
      {
        type: 'access_code.created',
        data: {
          label: 'Cleaner – Tuesday',
          lockName: 'Front door',
          kind: 'timed',
          delivery: 'synced',
          status: 'setting',
        },
      },
    ])
  })

  it('generates a 6-digit PIN that is not weak', async () => {
    for (let i = 0; i < 5; i++) {
      const code = (await createCode(f, lockId, { name: `Guest ${i}`, kind: 'permanent' })).json()
      expect(code.code).toMatch(/^\d{6}$/)
      expect(weakPinReason(code.code)).toBe(null)
    }
  })

  it('a code that starts later than the lead time waits, scheduled', async () => {
    const startsAt = TEST_EPOCH + 72 * HOUR
    const code = (
      await createCode(f, lockId, {
        name: 'Plumber',
        kind: 'timed',
        startsAt: iso(startsAt),
        endsAt: iso(startsAt + HOUR),
      })
    ).json()
    expect([code.status, code.errors]).toEqual(['scheduled', []])
  })

  it('auto: an offline code when the lock cannot be reached, which the lock will accept', async () => {
    const lock = await addLock(f, { name: 'Shed' })
    await f.channel.setReachable(lock.id, false)
    const response = await createCode(f, lock.id, { name: 'Courier', kind: 'one_time' })
    expect(response.statusCode).toBe(201)
    const code = response.json()
    expect(code).toEqual({
      id: UUID,
      lockId: lock.id,
      name: 'Courier',
      kind: 'one_time',
      delivery: 'offline',
      code: expect.stringMatching(/^0\d{9}$/),
      timezone: 'Europe/Berlin',
      startsAt: '2030-01-15T10:00:00.000Z',
      startsAtLocal: '2030-01-15T11:00+01:00',
      endsAt: '2030-01-15T16:00:00.000Z',
      endsAtLocal: '2030-01-15T17:00+01:00',
      schedule: null,
      maxUses: null,
      uses: 0,
      firstUsedAt: null,
      lastUsedAt: null,
      status: 'issued',
      errors: [],
      warnings: [
        {
          code: 'delivered_offline',
          message:
            'the lock is out of its gateway’s range, so this is an offline code: nothing was sent to the lock; it opens from Tue 15 Jan 2030, 11:00 (Europe/Berlin) to Tue 15 Jan 2030, 17:00 (Europe/Berlin), whole hours only, and a delete reaches the lock only when the lock is next reached',
        },
        {
          code: 'must_be_used_within_6_hours',
          message:
            'type it on the lock for the first time before 2030-01-15T16:00Z (within 6 hours of its start), or it never opens',
        },
        {
          code: 'offline_code_cannot_be_revoked_remotely',
          message:
            'an offline code is not stored on the lock: if it is deleted, the lock refuses it only once the lock is next reached through a gateway; until then it opens until 2030-01-15T16:00Z',
        },
      ],
      firstUseBy: '2030-01-15T16:00:00.000Z',
      firstUseByLocal: '2030-01-15T17:00+01:00',
      setOnLockAt: null,
      expiredAt: null,
      createdAt: '2030-01-15T10:00:00.000Z',
      updatedAt: '2030-01-15T10:00:00.000Z',
      deletedAt: null,
    })
    // The lock, knowing only its secret, accepts it now.
    const pinKey = deriveLockKeys(new Uint8Array(Buffer.from(lock.bundle.secret, 'base64'))).pin
    const verified = verifyOfflinePin({
      hmac: hmacSha256,
      pinKey,
      lockId: lock.id,
      digits: code.code,
      nowMs: TEST_EPOCH,
    })
    expect(verified).toMatchObject({ result: 'match', code: { kind: 'one_time', startsAt: TEST_EPOCH } })
  })

  it('an offline timed code says it must be used within 24 hours', async () => {
    const code = (
      await createCode(f, lockId, {
        name: 'Weekend guest',
        kind: 'timed',
        delivery: 'offline',
        startsAt: iso(TEST_EPOCH + 30 * 60_000),
        endsAt: iso(TEST_EPOCH + 48 * HOUR),
      })
    ).json()
    expect([code.status, code.startsAt, code.endsAt, code.firstUseBy, code.warnings[0]]).toEqual([
      'issued',
      '2030-01-15T10:00:00.000Z',
      '2030-01-17T10:00:00.000Z',
      '2030-01-16T10:00:00.000Z',
      {
        code: 'must_be_used_within_24_hours',
        message:
          'type it on the lock for the first time before 2030-01-16T10:00Z (within 24 hours of its start), or it never opens',
      },
    ])
  })

  it('never drops maxUses on an offline permanent or timed code', async () => {
    for (const kind of ['permanent', 'timed'] as const) {
      const response = await createCode(f, lockId, {
        name: 'Movers',
        kind,
        delivery: 'offline',
        maxUses: 1,
        ...(kind === 'timed' ? { startsAt: iso(TEST_EPOCH), endsAt: iso(TEST_EPOCH + 6 * HOUR) } : {}),
      })
      expect([response.statusCode, response.json()]).toEqual([
        422,
        problem(
          422,
          'offline_code_unavailable',
          `an offline ${kind} code has no use limit: it would open any number of times; leave out maxUses, make it kind one_time, or use delivery synced`,
        ),
      ])
    }
    // auto with the lock out of reach: refused, not issued without its limit
    const lock = await addLock(f, { name: 'Garage' })
    await f.channel.setReachable(lock.id, false)
    const permanent = await createCode(f, lock.id, { name: 'Once', kind: 'permanent', maxUses: 1 })
    expect([permanent.statusCode, permanent.json()]).toEqual([
      422,
      problem(
        422,
        'offline_code_unavailable',
        'Garage cannot be reached now, and an offline permanent code has no use limit; use delivery synced to put it on the lock when it is next reached, or leave out maxUses',
      ),
    ])
    const tooShort = await createCode(f, lock.id, {
      name: 'Quick',
      kind: 'timed',
      maxUses: 1,
      startsAt: iso(TEST_EPOCH),
      endsAt: iso(TEST_EPOCH + 2 * HOUR),
    })
    expect(tooShort.json()).toEqual(
      problem(
        422,
        'offline_code_unavailable',
        'Garage cannot be reached now, and an offline timed code has no use limit; as a one-time code it would open for 6 hours from its start hour, past the end asked for: end it at least that late, use delivery synced, or leave out maxUses',
      ),
    )
    const five = await createCode(f, lock.id, { name: 'Five', kind: 'permanent', maxUses: 5 })
    expect(five.json().code).toBe('offline_code_unavailable')
    // synced when asked: the limit is kept
    const synced = await createCode(f, lock.id, {
      name: 'Later',
      kind: 'permanent',
      maxUses: 1,
      delivery: 'synced',
    })
    expect([synced.statusCode, synced.json().delivery, synced.json().maxUses]).toEqual([201, 'synced', 1])
  })

  it('auto: a timed code with maxUses 1 on a lock out of reach becomes an offline one-time code, and says so', async () => {
    const lock = await addLock(f, { name: 'Cellar' })
    await f.channel.setReachable(lock.id, false)
    const response = await createCode(f, lock.id, {
      name: 'Plumber',
      kind: 'timed',
      maxUses: 1,
      startsAt: iso(TEST_EPOCH),
      endsAt: iso(TEST_EPOCH + 8 * HOUR),
    })
    expect(response.statusCode).toBe(201)
    const code = response.json()
    expect(code).toMatchObject({
      kind: 'one_time',
      delivery: 'offline',
      status: 'issued',
      startsAt: '2030-01-15T10:00:00.000Z',
      endsAt: '2030-01-15T16:00:00.000Z',
    })
    expect(code.warnings[0]).toEqual({
      code: 'delivered_offline',
      message:
        'the lock is out of its gateway’s range, so this is an offline one-time code, since an offline code counts no other use limit: nothing was sent to the lock; it opens once, from Tue 15 Jan 2030, 11:00 (Europe/Berlin) to Tue 15 Jan 2030, 17:00 (Europe/Berlin), whole hours only, and a delete reaches the lock only when the lock is next reached',
    })
    const pinKey = deriveLockKeys(new Uint8Array(Buffer.from(lock.bundle.secret, 'base64'))).pin
    const verified = verifyOfflinePin({
      hmac: hmacSha256,
      pinKey,
      lockId: lock.id,
      digits: code.code,
      nowMs: TEST_EPOCH,
    })
    expect(verified).toMatchObject({ result: 'match', code: { kind: 'one_time' } })
  })

  it('refuses an offline code the scheme cannot give', async () => {
    const weekly = await createCode(f, lockId, {
      name: 'Gardener',
      kind: 'recurring',
      delivery: 'offline',
      schedule: { slots: [{ days: [2], start: '09:00', end: '12:00' }] },
    })
    expect([weekly.statusCode, weekly.json()]).toEqual([
      422,
      problem(
        422,
        'offline_code_unavailable',
        'the offline scheme has no weekly schedules; a recurring code must be synced to the lock (through a gateway)',
      ),
    ])
    const counted = await createCode(f, lockId, {
      name: 'Movers',
      kind: 'permanent',
      delivery: 'offline',
      maxUses: 3,
    })
    expect(counted.json()).toEqual(
      problem(
        422,
        'offline_code_unavailable',
        'the offline scheme has no use limit besides one-time; a code with maxUses above 1 must be synced to the lock (through a gateway)',
      ),
    )
    const chosen = await createCode(f, lockId, {
      name: 'Mine',
      kind: 'permanent',
      delivery: 'offline',
      code: '482917',
    })
    expect(chosen.json()).toEqual(
      problem(
        422,
        'offline_code_unavailable',
        'an offline code is derived from the lock’s secret, so its PIN cannot be chosen; leave out `code` or use delivery synced',
      ),
    )
  })

  it('refuses weak, malformed and duplicate PINs', async () => {
    const weak = await createCode(f, lockId, { name: 'Weak', kind: 'permanent', code: '123456' })
    expect([weak.statusCode, weak.json()]).toEqual([
      422,
      problem(422, 'weak_pin', 'this PIN is a run of digits; choose one that is harder to guess'),
    ])
    const date = await createCode(f, lockId, { name: 'Birthday', kind: 'permanent', code: '1985' })
    expect(date.json()).toEqual(
      problem(422, 'weak_pin', 'this PIN is a date; choose one that is harder to guess'),
    )
    const short = await createCode(f, lockId, { name: 'Short', kind: 'permanent', code: '12a' })
    expect([short.statusCode, short.json()]).toEqual([
      422,
      problem(422, 'invalid_pin', 'a PIN is 4 to 10 digits'),
    ])

    expect(
      (await createCode(f, lockId, { name: 'First', kind: 'permanent', code: '739104' })).statusCode,
    ).toBe(201)
    const duplicate = await createCode(f, lockId, { name: 'Second', kind: 'permanent', code: '739104' })
    expect([duplicate.statusCode, duplicate.json()]).toEqual([
      409,
      problem(409, 'duplicate_code_on_lock', 'this PIN is already in use on the lock; choose another'),
    ])
    // Another lock may use it.
    const other = await addLock(f, { name: 'Side gate' })
    expect(
      (await createCode(f, other.id, { name: 'Elsewhere', kind: 'permanent', code: '739104' })).statusCode,
    ).toBe(201)
  })

  it('refuses windows and schedules the lock cannot keep', async () => {
    const backwards = await createCode(f, lockId, {
      name: 'Backwards',
      kind: 'timed',
      startsAt: iso(TEST_EPOCH + 2 * HOUR),
      endsAt: iso(TEST_EPOCH + HOUR),
    })
    expect([backwards.statusCode, backwards.json()]).toEqual([
      422,
      problem(422, 'invalid_window', 'endsAt must be after startsAt'),
    ])
    const open = await createCode(f, lockId, { name: 'Open', kind: 'timed', startsAt: iso(TEST_EPOCH) })
    expect(open.json()).toEqual(problem(422, 'invalid_window', 'a timed code needs startsAt and endsAt'))
    const past = await createCode(f, lockId, {
      name: 'Yesterday',
      kind: 'timed',
      startsAt: iso(TEST_EPOCH - 26 * HOUR),
      endsAt: iso(TEST_EPOCH - 24 * HOUR),
    })
    expect(past.json()).toEqual(
      problem(422, 'invalid_window', 'the code’s window has already ended; it could never open'),
    )
    const badTime = await createCode(f, lockId, {
      name: 'Night',
      kind: 'recurring',
      schedule: { slots: [{ days: [1], start: '25:00', end: '06:00' }] },
    })
    expect([badTime.statusCode, badTime.json().code]).toEqual([422, 'invalid_schedule'])
  })

  it('refuses unknown fields (400)', async () => {
    const response = await createCode(f, lockId, { name: 'X', kind: 'permanent', colour: 'red' })
    expect([response.statusCode, response.json()]).toEqual([
      400,
      {
        ...problem(400, 'validation_failed', 'the request is not valid'),
        errors: [{ in: 'body', field: '', message: 'Unrecognized key: "colour"' }],
      },
    ])
  })

  it('only owners and admins create codes; another organization’s lock is not found', async () => {
    const refused = await createCode(f, lockId, { name: 'Sneaky', kind: 'permanent' }, member)
    expect([refused.statusCode, refused.json()]).toEqual([
      403,
      problem(403, 'forbidden', 'only owner or admin can create access codes'),
    ])
    const admin = await addMemberAndLogin(f.app, f.owner, 'admin')
    expect((await createCode(f, lockId, { name: 'By the admin', kind: 'permanent' }, admin)).statusCode).toBe(
      201,
    )
    const foreign = await createCode(f, lockId, { name: 'Foreign', kind: 'permanent' }, stranger)
    expect([foreign.statusCode, foreign.json()]).toEqual([
      404,
      problem(404, 'not_found', `no lock ${lockId}`),
    ])
    const bogus = await createCode(f, 'not-a-lock', { name: 'Bogus', kind: 'permanent' })
    expect(bogus.json()).toEqual(problem(404, 'not_found', 'no lock not-a-lock'))
  })
})

describe('GET /locks/{lockId}/access-codes and /access-codes/{id}', () => {
  it('lists a lock’s codes oldest first, page by page; members see no PINs', async () => {
    const lock = await addLock(f, { name: 'Cellar' })
    const ids: string[] = []
    for (const name of ['One', 'Two', 'Three']) {
      ids.push((await createCode(f, lock.id, { name, kind: 'permanent' })).json().id)
      f.t.clock.advance(1000)
    }
    const first = await f.app.inject({
      method: 'GET',
      url: `/api/v1/locks/${lock.id}/access-codes?limit=2`,
      headers: f.owner.headers,
    })
    expect(first.statusCode).toBe(200)
    expect(first.json().items.map((c: { name: string }) => c.name)).toEqual(['One', 'Two'])
    const next = await f.app.inject({
      method: 'GET',
      url: `/api/v1/locks/${lock.id}/access-codes?limit=2&cursor=${first.json().nextCursor}`,
      headers: f.owner.headers,
    })
    expect(next.json()).toEqual({ items: [expect.objectContaining({ id: ids[2], name: 'Three' })] })

    const asMember = await f.app.inject({
      method: 'GET',
      url: `/api/v1/locks/${lock.id}/access-codes`,
      headers: member.headers,
    })
    expect(asMember.json().items.map((c: { code: string | null }) => c.code)).toEqual([null, null, null])
    expect((await getCode(f, ids[0]!, member)).code).toBe(null)
    expect((await getCode(f, ids[0]!)).code).toMatch(/^\d{6}$/)

    // Deleted and gone from the lock: listed only when asked.
    await remove(ids[0]!)
    const listed = await f.app.inject({
      method: 'GET',
      url: `/api/v1/locks/${lock.id}/access-codes`,
      headers: f.owner.headers,
    })
    expect(listed.json().items.map((c: { name: string }) => c.name)).toEqual(['Two', 'Three'])
    const all = await f.app.inject({
      method: 'GET',
      url: `/api/v1/locks/${lock.id}/access-codes?includeRemoved=true`,
      headers: f.owner.headers,
    })
    expect(all.json().items.map((c: { name: string; status: string }) => [c.name, c.status])).toEqual([
      ['One', 'removed'],
      ['Two', 'setting'],
      ['Three', 'setting'],
    ])
  })

  it('another organization sees neither the lock’s codes nor a code', async () => {
    const code = (await createCode(f, lockId, { name: 'Private', kind: 'permanent' })).json()
    const list = await f.app.inject({
      method: 'GET',
      url: `/api/v1/locks/${lockId}/access-codes`,
      headers: stranger.headers,
    })
    expect([list.statusCode, list.json()]).toEqual([404, problem(404, 'not_found', `no lock ${lockId}`)])
    for (const [method, url] of [
      ['GET', `/api/v1/access-codes/${code.id}`],
      ['GET', `/api/v1/access-codes/${code.id}/diagnosis`],
      ['PATCH', `/api/v1/access-codes/${code.id}`],
      ['DELETE', `/api/v1/access-codes/${code.id}`],
    ] as const) {
      const response = await f.app.inject({
        method,
        url,
        headers: stranger.headers,
        ...(method === 'PATCH' ? { payload: { name: 'Mine now' } } : {}),
      })
      expect([method, response.statusCode, response.json()]).toEqual([
        method,
        404,
        problem(404, 'not_found', `no access code ${code.id}`),
      ])
    }
    const cursor = await f.app.inject({
      method: 'GET',
      url: `/api/v1/locks/${lockId}/access-codes?cursor=nonsense`,
      headers: f.owner.headers,
    })
    expect([cursor.statusCode, cursor.json().detail]).toEqual([400, 'the cursor is not one this list gave'])
  })
})

describe('PATCH /access-codes/{id}', () => {
  it('renames without touching the lock, audited', async () => {
    const lock = await addLock(f, { name: 'Office' })
    const code = (await createCode(f, lock.id, { name: 'Cleaner', kind: 'permanent', code: '391756' })).json()
    await settle(f)
    f.t.clock.advance(60_000)
    const response = await patch(code.id, { name: 'Cleaner – Tuesday' })
    expect(response.statusCode).toBe(200)
    expect(response.json()).toMatchObject({
      name: 'Cleaner – Tuesday',
      status: 'set',
      updatedAt: iso(f.t.clock.now()),
    })
    expect((await codeEvents(f, code.id)).at(-1)).toEqual({
      type: 'access_code.updated',
      data: { label: 'Cleaner – Tuesday', lockName: 'Office', changed: ['name'] },
    })
  })

  it('a new PIN or window goes to the lock again', async () => {
    const lock = await addLock(f, { name: 'Loft' })
    const code = (await createCode(f, lock.id, { name: 'Nanny', kind: 'permanent', code: '628401' })).json()
    await settle(f)
    const changed = await patch(code.id, {
      code: '628409',
      kind: 'timed',
      startsAt: iso(f.t.clock.now()),
      endsAt: iso(f.t.clock.now() + HOUR),
    })
    expect(changed.statusCode).toBe(200)
    expect([changed.json().status, changed.json().code]).toEqual(['setting', '628409'])
    f.channel.sent.length = 0
    await settle(f)
    const rule: AccessRule = { kind: 'timed', startsAt: f.t.clock.now(), endsAt: f.t.clock.now() + HOUR }
    expect(f.channel.sent.filter((s) => s.lockId === lock.id).map((s) => s.command)).toEqual([
      { type: 'set_code', codeId: code.id, pin: '628409', rule },
    ])
    expect((await getCode(f, code.id)).status).toBe('set')
  })

  it('refuses what cannot change', async () => {
    const offline = (
      await createCode(f, lockId, { name: 'Offline', kind: 'permanent', delivery: 'offline' })
    ).json()
    const window = await patch(offline.id, { endsAt: iso(TEST_EPOCH + HOUR) })
    expect([window.statusCode, window.json()]).toEqual([
      422,
      problem(
        422,
        'offline_code_unavailable',
        'an offline code was derived for its PIN and window: only its name can change; delete it and issue a new one',
      ),
    ])
    expect((await patch(offline.id, { name: 'Offline, renamed' })).json().name).toBe('Offline, renamed')

    const synced = (await createCode(f, lockId, { name: 'Synced', kind: 'permanent', code: '950274' })).json()
    expect((await patch(synced.id, { code: '0000' })).json().code).toBe('weak_pin')
    await createCode(f, lockId, { name: 'Taken', kind: 'permanent', code: '559130' })
    expect((await patch(synced.id, { code: '559130' })).json()).toEqual(
      problem(409, 'duplicate_code_on_lock', 'this PIN is already in use on the lock; choose another'),
    )
    expect((await patch(synced.id, { name: 'By a member' }, member)).json()).toEqual(
      problem(403, 'forbidden', 'only owner or admin can change access codes'),
    )
    await remove(synced.id)
    expect((await patch(synced.id, { name: 'Too late' })).json()).toEqual(
      problem(409, 'conflict', 'the code was deleted; create a new one'),
    )
  })
})

describe('DELETE /access-codes/{id}', () => {
  it('answers the code removing, records the deletion once, and only owners and admins delete', async () => {
    const lock = await addLock(f, { name: 'Porch' })
    const code = (await createCode(f, lock.id, { name: 'Painter', kind: 'permanent', code: '817364' })).json()
    await settle(f)
    const refused = await remove(code.id, member)
    expect([refused.statusCode, refused.json()]).toEqual([
      403,
      problem(403, 'forbidden', 'only owner or admin can delete access codes'),
    ])
    const deleted = await remove(code.id)
    expect(deleted.statusCode).toBe(200)
    expect(deleted.json()).toMatchObject({ status: 'removing', deletedAt: iso(f.t.clock.now()), errors: [] })
    const again = await remove(code.id)
    expect([again.statusCode, again.json().status]).toEqual([200, 'removing'])
    expect((await codeEvents(f, code.id)).filter((e) => e.type === 'access_code.deleted')).toEqual([
      {
        type: 'access_code.deleted',
        data: { label: 'Painter', lockName: 'Porch', delivery: 'synced', status: 'removing' },
      },
    ])
    // Its PIN is free again once the lock no longer has it.
    await settle(f)
    expect(
      (await createCode(f, lock.id, { name: 'Painter again', kind: 'permanent', code: '817364' })).statusCode,
    ).toBe(201)
  })
})

describe('a change of codes whose look cannot be recorded', () => {
  // The database refuses to mark this lock due (as a crash or an outage between two statements would):
  // the change and the look it needs commit together or not at all, never a code no look puts on the
  // lock, or a deleted one no look takes off.
  const refuseLooksAt = (id: string) =>
    refuseUpdates(f.t.store.db, {
      table: 'lock_sync',
      when: `new.lock_id = '${id}'`,
      message: 'the look is not recorded',
    })

  it('a create that fails leaves no code behind, and a delete that fails leaves the code as it was', async () => {
    const lock = await addLock(f, { name: 'Shed' })
    const kept = (
      await createCode(f, lock.id, { name: 'Gardener', kind: 'permanent', code: '948263' })
    ).json()
    await settle(f)
    expect((await getCode(f, kept.id)).status).toBe('set')
    const allowLooks = await refuseLooksAt(lock.id)
    try {
      const created = await createCode(f, lock.id, { name: 'Roofer', kind: 'permanent', code: '375918' })
      expect(created.statusCode).toBe(500)
      const deleted = await remove(kept.id)
      expect(deleted.statusCode).toBe(500)
    } finally {
      await allowLooks()
    }
    const listed = await f.app.inject({
      method: 'GET',
      url: `/api/v1/locks/${lock.id}/access-codes`,
      headers: f.owner.headers,
    })
    expect(listed.json().items.map((c: { name: string }) => c.name)).toEqual(['Gardener'])
    expect(await getCode(f, kept.id)).toMatchObject({ status: 'set', deletedAt: null })
  })
})
