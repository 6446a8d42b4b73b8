import { eq } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { events } from '../store/schema.ts'
import {
  addMemberAndLogin,
  buildTestApp,
  signupOwner,
  TEST_EPOCH,
  type TestAccount,
  type TestApp,
} from '../testing.ts'
import {
  type CreatedCode,
  caller,
  createCode,
  createLock,
  enableUniqueCodes,
  problemBody,
  share,
} from '../unique-codes/test-fixtures.ts'

let t: TestApp
let call: ReturnType<typeof caller>
let owner: TestAccount
let admin: TestAccount
let member: TestAccount
let other: TestAccount
let front: string
let back: string
let code: CreatedCode
beforeAll(async () => {
  t = await buildTestApp()
  call = caller(t.app)
  owner = await signupOwner(t.app)
  admin = await addMemberAndLogin(t.app, owner, 'admin')
  member = await addMemberAndLogin(t.app, owner, 'member', `member-${process.pid}@example.test`)
  other = await signupOwner(t.app)
  await enableUniqueCodes(t.app, owner)
  front = await createLock(t.app, owner, 'Front door', 'Europe/Berlin')
  back = await createLock(t.app, owner, 'Back door')
  code = await createCode(t.app, owner, 'Cleaner', '2030-03-01T00:00:00Z')
})
afterAll(() => t.close())

const HOUR = 3_600_000
const iso = (ms: number) => new Date(ms).toISOString()
const toCode = () => ({ type: 'unique_code', uniqueCodeId: code.id })

describe('sharing locks to a unique code', () => {
  it('answers one share per lock, in the order given, and records permission.granted', async () => {
    const response = await call(owner, 'POST', '/permissions', {
      lockIds: [front, back],
      grantee: toCode(),
      level: 'maintenance',
    })
    expect(response.statusCode).toBe(201)
    const shared = {
      grantee: { type: 'unique_code', uniqueCodeId: code.id, description: 'Cleaner' },
      level: 'maintenance',
      startsAt: null,
      startsAtLocal: null,
      endsAt: null,
      endsAtLocal: null,
      schedule: null,
      status: 'active',
      accessEndsAt: '2030-03-01T00:00:00.000Z',
      createdAt: iso(TEST_EPOCH),
    }
    expect(response.json()).toEqual({
      items: [
        {
          id: expect.any(String),
          lockId: front,
          lockName: 'Front door',
          timezone: 'Europe/Berlin',
          ...shared,
          accessEndsAtLocal: '2030-03-01T01:00+01:00',
        },
        {
          id: expect.any(String),
          lockId: back,
          lockName: 'Back door',
          timezone: 'UTC',
          ...shared,
          accessEndsAtLocal: '2030-03-01T00:00+00:00',
        },
      ],
    })
    const [first] = response.json().items
    const granted = await t.store.db.select().from(events).where(eq(events.type, 'permission.granted'))
    expect(
      granted.filter((e) => e.lockId === front).map((e) => [e.uniqueCodeId, e.actorUserId, e.data]),
    ).toEqual([
      [
        code.id,
        owner.userId,
        {
          label: 'Cleaner',
          permissionId: first.id,
          lockName: 'Front door',
          level: 'maintenance',
          grantee: { type: 'unique_code', uniqueCodeId: code.id },
        },
      ],
    ])
  })

  it('never above maintenance for a unique code', async () => {
    for (const level of ['admin', 'owner']) {
      const response = await call(owner, 'POST', '/permissions', {
        lockIds: [front],
        grantee: toCode(),
        level,
      })
      expect(response.statusCode).toBe(422)
      expect(response.json()).toEqual(
        problemBody(
          422,
          'level_not_allowed',
          'Level not allowed',
          'a unique code may be given maintenance, restricted or one_time, never more',
        ),
      )
    }
  })

  it('restricted needs a window or a weekly schedule, not both; maintenance takes neither', async () => {
    const refused = async (body: object, status: number, codeName: string, detail: string) => {
      const response = await call(owner, 'POST', '/permissions', {
        lockIds: [back],
        grantee: toCode(),
        ...body,
      })
      expect(response.statusCode).toBe(status)
      expect(response.json()).toMatchObject({ code: codeName, detail })
    }
    await refused(
      { level: 'restricted' },
      422,
      'invalid_window',
      'a restricted share needs a window or a weekly schedule',
    )
    const schedule = { slots: [{ days: [2], start: '09:00', end: '12:00' }] }
    await refused(
      { level: 'restricted', schedule, startsAt: iso(TEST_EPOCH), endsAt: iso(TEST_EPOCH + HOUR) },
      422,
      'invalid_schedule',
      'a restricted share takes a window or a weekly schedule, not both',
    )
    await refused(
      { level: 'maintenance', endsAt: iso(TEST_EPOCH + HOUR) },
      422,
      'invalid_window',
      'a maintenance share has no window',
    )
    await refused(
      { level: 'restricted', startsAt: iso(TEST_EPOCH - 2 * HOUR), endsAt: iso(TEST_EPOCH - HOUR) },
      422,
      'invalid_window',
      'the window has already ended',
    )
    await refused(
      { level: 'restricted', startsAt: iso(TEST_EPOCH + HOUR), endsAt: iso(TEST_EPOCH) },
      422,
      'invalid_window',
      'endsAt must be after startsAt',
    )
    await refused(
      { level: 'restricted', schedule: { slots: [{ days: [9], start: '09:00', end: '12:00' }] } },
      400,
      'validation_failed',
      'invalid schedule.slots.0.days.0',
    )

    const weekly = await call(owner, 'POST', '/permissions', {
      lockIds: [front],
      grantee: toCode(),
      level: 'restricted',
      schedule,
    })
    expect(weekly.statusCode).toBe(201)
    expect(weekly.json().items[0]).toMatchObject({
      level: 'restricted',
      schedule,
      startsAt: null,
      endsAt: null,
    })
    const window = await call(owner, 'POST', '/permissions', {
      lockIds: [back],
      grantee: toCode(),
      level: 'one_time',
      startsAt: iso(TEST_EPOCH),
      endsAt: iso(TEST_EPOCH + 2 * HOUR),
    })
    expect(window.statusCode).toBe(201)
    expect(window.json().items[0]).toMatchObject({
      level: 'one_time',
      startsAt: iso(TEST_EPOCH),
      endsAt: iso(TEST_EPOCH + 2 * HOUR),
      accessEndsAt: iso(TEST_EPOCH + 2 * HOUR),
      status: 'active',
    })
  })

  it('replaces the share a lock already has for the same grantee (permission.revoked, reason replaced)', async () => {
    const listed = (await call(owner, 'GET', `/permissions?uniqueCodeId=${code.id}`)).json().items
    expect(listed.map((p: { lockName: string; level: string }) => [p.lockName, p.level])).toEqual([
      ['Back door', 'one_time'],
      ['Front door', 'restricted'],
    ])
    const replaced = await t.store.db.select().from(events).where(eq(events.type, 'permission.revoked'))
    expect(
      replaced.map((e) => [
        e.lockId,
        (e.data as { reason: string }).reason,
        (e.data as { level: string }).level,
      ]),
    ).toEqual([
      [front, 'replaced', 'maintenance'],
      [back, 'replaced', 'maintenance'],
    ])
  })

  it('refuses an unknown lock, a lock or code of another organization, and an expired code', async () => {
    const theirs = await createLock(t.app, other, 'Their door')
    const foreign = await call(owner, 'POST', '/permissions', {
      lockIds: [front, theirs],
      grantee: toCode(),
      level: 'maintenance',
    })
    expect(foreign.statusCode).toBe(404)
    expect(foreign.json()).toEqual(problemBody(404, 'not_found', 'Not found', `no lock ${theirs}`))
    const notUuid = await call(owner, 'POST', '/permissions', {
      lockIds: ['x'],
      grantee: toCode(),
      level: 'maintenance',
    })
    expect(notUuid.json().detail).toBe('no lock x')
    // nothing changed on the first lock
    expect((await call(owner, 'GET', `/permissions?lockId=${front}`)).json().items[0].level).toBe(
      'restricted',
    )

    const short = await createCode(t.app, owner, 'Short', iso(t.clock.now() + HOUR))
    t.clock.advance(HOUR)
    const expired = await call(owner, 'POST', '/permissions', {
      lockIds: [front],
      grantee: { type: 'unique_code', uniqueCodeId: short.id },
      level: 'maintenance',
    })
    expect(expired.statusCode).toBe(409)
    expect(expired.json()).toEqual(
      problemBody(409, 'conflict', 'Conflict', `unique code ${short.id} expired at ${iso(t.clock.now())}`),
    )
  })
})

describe('sharing locks to a user', () => {
  it('shares to a member by email; an admin cannot grant owner; an unknown email is 404', async () => {
    const [created] = await share(t.app, admin, {
      lockIds: [back],
      grantee: { type: 'user', email: member.email.toUpperCase() },
      level: 'admin',
    })
    expect((await call(owner, 'GET', `/permissions?userId=${member.userId}`)).json().items).toEqual([
      expect.objectContaining({
        id: created!.id,
        lockId: back,
        grantee: { type: 'user', userId: member.userId, email: member.email },
        level: 'admin',
        accessEndsAt: null,
      }),
    ])
    const owners = await call(admin, 'POST', '/permissions', {
      lockIds: [back],
      grantee: { type: 'user', email: member.email },
      level: 'owner',
    })
    expect(owners.statusCode).toBe(422)
    expect(owners.json().detail).toBe('an admin cannot grant the owner level')
    const stranger = await call(owner, 'POST', '/permissions', {
      lockIds: [back],
      grantee: { type: 'user', email: other.email },
      level: 'maintenance',
    })
    expect(stranger.statusCode).toBe(404)
    expect(stranger.json().detail).toBe(`no member ${other.email} in this organization`)
  })
})

describe('reading and revoking shares', () => {
  it('members read shares but neither share nor revoke', async () => {
    const listed = await call(member, 'GET', '/permissions')
    expect(listed.statusCode).toBe(200)
    expect(listed.json().items).toHaveLength(3)
    expect(listed.body).not.toContain(code.code)
    const created = await call(member, 'POST', '/permissions', {
      lockIds: [front],
      grantee: toCode(),
      level: 'maintenance',
    })
    expect(created.statusCode).toBe(403)
    expect(created.json()).toEqual(
      problemBody(403, 'forbidden', 'Forbidden', 'only owner or admin can share locks'),
    )
    const id = listed.json().items[0].id
    const revoked = await call(member, 'DELETE', `/permissions/${id}`)
    expect(revoked.statusCode).toBe(403)
    expect(revoked.json().detail).toBe('only owner or admin can revoke shares')
  })

  it('another organization sees none and revokes none', async () => {
    const ours = (await call(owner, 'GET', '/permissions')).json().items
    expect((await call(other, 'GET', '/permissions')).json()).toEqual({ items: [] })
    expect((await call(other, 'GET', `/permissions?lockId=${front}`)).json()).toEqual({ items: [] })
    const refused = await call(other, 'DELETE', `/permissions/${ours[0].id}`)
    expect(refused.statusCode).toBe(404)
    expect(refused.json()).toEqual(problemBody(404, 'not_found', 'Not found', `no permission ${ours[0].id}`))
    expect((await call(owner, 'GET', '/permissions')).json().items).toEqual(ours)
  })

  it('filters by lock and unique code; revokes once (permission.revoked), then 404', async () => {
    const onFront = (await call(owner, 'GET', `/permissions?lockId=${front}`)).json().items
    expect(onFront.map((p: { lockId: string }) => p.lockId)).toEqual([front])
    expect((await call(owner, 'GET', '/permissions?lockId=nope')).json()).toEqual({ items: [] })
    const deleted = await call(owner, 'DELETE', `/permissions/${onFront[0].id}`)
    expect(deleted.statusCode).toBe(204)
    expect((await call(owner, 'GET', `/permissions?lockId=${front}`)).json()).toEqual({ items: [] })
    expect((await call(owner, 'DELETE', `/permissions/${onFront[0].id}`)).statusCode).toBe(404)
    const revoked = await t.store.db.select().from(events).where(eq(events.type, 'permission.revoked'))
    expect(revoked.at(-1)).toMatchObject({
      lockId: front,
      uniqueCodeId: code.id,
      actorUserId: owner.userId,
      data: { label: 'Cleaner', permissionId: onFront[0].id, reason: 'revoked', level: 'restricted' },
    })
  })
})
