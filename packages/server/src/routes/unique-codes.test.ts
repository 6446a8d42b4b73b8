import { formatUniqueCode, maxUniqueCodeExpiry, normalizeUniqueCode } from '@latchkey/core'
import { eq } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { events, uniqueCodes } from '../store/schema.ts'
import {
  addMemberAndLogin,
  buildTestApp,
  signupOwner,
  TEST_EPOCH,
  type TestAccount,
  type TestApp,
} from '../testing.ts'
import {
  caller,
  createCode,
  createLock,
  enableUniqueCodes,
  problemBody,
  share,
} from '../unique-codes/test-fixtures.ts'

let t: TestApp
let owner: TestAccount
let admin: TestAccount
let member: TestAccount
let other: TestAccount
let call: ReturnType<typeof caller>
beforeAll(async () => {
  t = await buildTestApp()
  call = caller(t.app)
  owner = await signupOwner(t.app)
  admin = await addMemberAndLogin(t.app, owner, 'admin')
  member = await addMemberAndLogin(t.app, owner, 'member')
  other = await signupOwner(t.app)
})
afterAll(() => t.close())

const HOUR = 3_600_000
const iso = (ms: number) => new Date(ms).toISOString()
const CODE = /^[0-9ABCDEFGHJKMNPQRSTVWXYZ]{5}-[0-9ABCDEFGHJKMNPQRSTVWXYZ]{5}$/

describe('creating a unique code', () => {
  it('is refused while the organization has unique codes off', async () => {
    const response = await call(owner, 'POST', '/unique-codes', {
      description: 'Plumber',
      expiresAt: iso(TEST_EPOCH + HOUR),
    })
    expect(response.statusCode).toBe(403)
    expect(response.json()).toEqual(
      problemBody(
        403,
        'unique_codes_disabled',
        'Unique codes disabled',
        'unique codes are turned off for this organization: an owner or admin turns them on in the settings',
      ),
    )
  })

  it('answers the code formatted, active, bound to no device; stored encrypted with a keyed hash', async () => {
    await enableUniqueCodes(t.app, owner)
    const response = await call(owner, 'POST', '/unique-codes', {
      description: ' Plumber – flat 3 ',
      expiresAt: '2030-02-15T10:00:00Z',
    })
    expect(response.statusCode).toBe(201)
    const body = response.json()
    expect(body).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      code: expect.stringMatching(CODE),
      description: 'Plumber – flat 3',
      expiresAt: '2030-02-15T10:00:00.000Z',
      expiresAtLocal: '2030-02-15T10:00+00:00',
      timezone: 'UTC',
      status: 'active',
      boundDevice: false,
      createdAt: iso(TEST_EPOCH),
    })
    const [row] = await t.store.db.select().from(uniqueCodes).where(eq(uniqueCodes.id, body.id))
    const canonical = normalizeUniqueCode(body.code)!
    expect(row!.codeEncrypted).not.toContain(canonical)
    expect(row!.codeHash).toBe(t.secrets.lookupHash('unique_code', canonical))
    expect(formatUniqueCode(t.secrets.decryptText(row!.codeEncrypted, `unique_code:${body.id}`))).toBe(
      body.code,
    )

    const audit = await t.store.db.select().from(events).where(eq(events.uniqueCodeId, body.id))
    expect(audit.map((e) => ({ type: e.type, data: e.data, actor: e.actorUserId }))).toEqual([
      {
        type: 'unique_code.created',
        data: { label: 'Plumber – flat 3', expiresAt: '2030-02-15T10:00:00.000Z' },
        actor: owner.userId,
      },
    ])
  })

  it('allows exactly six calendar months, not a millisecond more', async () => {
    const limit = await call(admin, 'POST', '/unique-codes', {
      description: 'Six months',
      expiresAt: '2030-07-15T10:00:00.000Z',
    })
    expect(limit.statusCode).toBe(201)
    const beyond = await call(owner, 'POST', '/unique-codes', {
      description: 'Too long',
      expiresAt: '2030-07-15T10:00:00.001Z',
    })
    expect(beyond.statusCode).toBe(422)
    expect(beyond.json()).toEqual(
      problemBody(
        422,
        'expiry_too_far',
        'Expiry too far',
        'a unique code expires at most six months after creation, by 2030-07-15T10:00:00.000Z',
      ),
    )
  })

  it('refuses an expiry now or in the past, and a missing description', async () => {
    const past = await call(owner, 'POST', '/unique-codes', {
      description: 'Late',
      expiresAt: iso(TEST_EPOCH),
    })
    expect(past.statusCode).toBe(422)
    expect(past.json()).toEqual(
      problemBody(422, 'expiry_in_past', 'Expiry in past', 'a unique code must expire after it is created'),
    )
    const missing = await call(owner, 'POST', '/unique-codes', { expiresAt: iso(TEST_EPOCH + HOUR) })
    expect(missing.statusCode).toBe(400)
    expect(missing.json().code).toBe('validation_failed')
    expect(missing.json().errors).toEqual([
      { in: 'body', field: 'description', message: 'Invalid input: expected string, received undefined' },
    ])
  })

  it('is for owners and admins: a member can neither create nor see codes', async () => {
    const created = await call(member, 'POST', '/unique-codes', {
      description: 'By a member',
      expiresAt: iso(TEST_EPOCH + HOUR),
    })
    expect(created.statusCode).toBe(403)
    expect(created.json()).toEqual(
      problemBody(403, 'forbidden', 'Forbidden', 'only owner or admin can create unique codes'),
    )
    const listed = await call(member, 'GET', '/unique-codes')
    expect(listed.statusCode).toBe(403)
    expect(listed.json().detail).toBe('only owner or admin can see unique codes')
    expect(listed.body).not.toMatch(CODE)
  })
})

describe('listing, deleting and resetting unique codes', () => {
  let shortLived: { id: string; code: string }
  let longLived: { id: string; code: string }
  beforeAll(async () => {
    const o = await signupOwner(t.app)
    owner = o
    await enableUniqueCodes(t.app, owner)
    t.clock.advance(60_000)
    shortLived = await createCode(t.app, owner, 'One hour', iso(t.clock.now() + HOUR))
    t.clock.advance(60_000)
    longLived = await createCode(t.app, owner, 'Two months', iso(t.clock.now() + 60 * 24 * HOUR))
  })

  it('lists active and expired codes, newest first, filtered by status', async () => {
    const before = (await call(owner, 'GET', '/unique-codes')).json().items
    expect(before.map((c: { id: string; status: string }) => [c.id, c.status])).toEqual([
      [longLived.id, 'active'],
      [shortLived.id, 'active'],
    ])
    t.clock.advance(HOUR)
    const all = (await call(owner, 'GET', '/unique-codes')).json().items
    expect(all.map((c: { id: string; status: string }) => [c.id, c.status])).toEqual([
      [longLived.id, 'active'],
      [shortLived.id, 'expired'],
    ])
    expect(all[1].code).toBe(shortLived.code)
    const active = (await call(owner, 'GET', '/unique-codes?status=active')).json()
    expect(active).toEqual({ items: [all[0]] })
    const expired = (await call(owner, 'GET', '/unique-codes?status=expired')).json()
    expect(expired).toEqual({ items: [all[1]] })
    const bad = await call(owner, 'GET', '/unique-codes?status=deleted')
    expect(bad.statusCode).toBe(400)
  })

  it('are the organization’s own: another organization sees, deletes and resets none of them', async () => {
    await enableUniqueCodes(t.app, other)
    expect((await call(other, 'GET', '/unique-codes')).json()).toEqual({ items: [] })
    const deleted = await call(other, 'DELETE', `/unique-codes/${longLived.id}`)
    expect(deleted.statusCode).toBe(404)
    expect(deleted.json()).toEqual(
      problemBody(404, 'not_found', 'Not found', `no unique code ${longLived.id}`),
    )
    const reset = await call(other, 'POST', `/unique-codes/${longLived.id}/reset-device`)
    expect(reset.statusCode).toBe(404)
    const theirLock = await createLock(t.app, other, 'Theirs')
    const shared = await call(other, 'POST', '/permissions', {
      lockIds: [theirLock],
      grantee: { type: 'unique_code', uniqueCodeId: longLived.id },
      level: 'maintenance',
    })
    expect(shared.statusCode).toBe(404)
    expect(shared.json().detail).toBe(`no unique code ${longLived.id}`)
    expect((await call(owner, 'GET', '/unique-codes?status=active')).json().items).toHaveLength(1)
  })

  it('resets the device binding: the bound device is signed out and the next device is bound', async () => {
    const login = (deviceId: string) =>
      call(null, 'POST', '/app/code-login', { code: longLived.code, deviceId })
    const first = await login('phone-A')
    expect(first.statusCode).toBe(200)
    expect((await call(owner, 'GET', '/unique-codes?status=active')).json().items[0].boundDevice).toBe(true)
    expect((await login('phone-B')).statusCode).toBe(409)

    const member2 = await addMemberAndLogin(t.app, owner, 'member')
    expect((await call(member2, 'POST', `/unique-codes/${longLived.id}/reset-device`)).statusCode).toBe(403)
    const reset = await call(owner, 'POST', `/unique-codes/${longLived.id}/reset-device`)
    expect(reset.statusCode).toBe(200)
    expect(reset.json()).toMatchObject({ id: longLived.id, code: longLived.code, boundDevice: false })
    const oldSession = { headers: { authorization: `Bearer ${first.json().token}` } }
    expect((await call(oldSession, 'GET', '/app/locks')).statusCode).toBe(401)
    expect((await login('phone-B')).statusCode).toBe(200)
    expect((await login('phone-A')).statusCode).toBe(409)
    const types = (await t.store.db.select().from(events).where(eq(events.uniqueCodeId, longLived.id))).map(
      (e) => e.type,
    )
    expect(types).toContain('unique_code.device_reset')
  })

  it('deletes a code: gone from the list, its shares revoked, Code Login refused; a second delete is 404', async () => {
    const lockId = await createLock(t.app, owner, 'Back door')
    const [permission] = await share(t.app, owner, {
      lockIds: [lockId],
      grantee: { type: 'unique_code', uniqueCodeId: longLived.id },
      level: 'maintenance',
    })
    expect((await call(member, 'DELETE', `/unique-codes/${longLived.id}`)).statusCode).toBe(403)
    const deleted = await call(owner, 'DELETE', `/unique-codes/${longLived.id}`)
    expect(deleted.statusCode).toBe(204)
    expect(deleted.body).toBe('')
    expect((await call(owner, 'GET', '/unique-codes')).json().items.map((c: { id: string }) => c.id)).toEqual(
      [shortLived.id],
    )
    expect((await call(owner, 'GET', `/permissions?uniqueCodeId=${longLived.id}`)).json()).toEqual({
      items: [],
    })
    const login = await call(null, 'POST', '/app/code-login', { code: longLived.code, deviceId: 'phone-B' })
    expect(login.statusCode).toBe(401)
    expect((await call(owner, 'DELETE', `/unique-codes/${longLived.id}`)).statusCode).toBe(404)
    expect((await call(owner, 'DELETE', '/unique-codes/not-a-uuid')).statusCode).toBe(404)

    const audit = await t.store.db.select().from(events).where(eq(events.uniqueCodeId, longLived.id))
    const revoked = audit.find((e) => e.type === 'permission.revoked')
    expect(revoked?.data).toEqual({
      label: 'Two months',
      permissionId: permission!.id,
      lockName: 'Back door',
      level: 'maintenance',
      grantee: { type: 'unique_code', uniqueCodeId: longLived.id },
      reason: 'unique_code_deleted',
    })
    expect(audit.find((e) => e.type === 'unique_code.deleted')?.data).toEqual({
      label: 'Two months',
      revokedPermissions: 1,
    })
    // the code itself never appears in the audit log
    const everything = JSON.stringify(await t.store.db.select().from(events))
    expect(everything).not.toContain(longLived.code)
    expect(everything).not.toContain(normalizeUniqueCode(longLived.code)!)
  })
})

describe('reading and changing one unique code', () => {
  it('reads a local expiry in the zone of the organization’s locks, or in the zone given', async () => {
    const sydneyOwner = await signupOwner(t.app, { organizationName: 'Bondi Stays' })
    await enableUniqueCodes(t.app, sydneyOwner)
    await createLock(t.app, sydneyOwner, 'Bondi flat', 'Australia/Sydney')
    const local = await call(sydneyOwner, 'POST', '/unique-codes', {
      description: 'Cleaner',
      expiresAt: '2030-03-01T10:00',
    })
    expect(local.statusCode).toBe(201)
    expect(local.json()).toMatchObject({
      expiresAt: '2030-02-28T23:00:00.000Z',
      expiresAtLocal: '2030-03-01T10:00+11:00',
      timezone: 'Australia/Sydney',
    })
    const berlin = await call(sydneyOwner, 'POST', '/unique-codes', {
      description: 'Painter',
      expiresAt: '2030-03-01T10:00',
      timezone: 'Europe/Berlin',
    })
    expect(berlin.json()).toMatchObject({
      expiresAt: '2030-03-01T09:00:00.000Z',
      expiresAtLocal: '2030-03-01T20:00+11:00',
    })
    // Sydney's clocks go back on 7 April 2030: 02:30 happens twice
    const twice = await call(sydneyOwner, 'POST', '/unique-codes', {
      description: 'Gardener',
      expiresAt: '2030-04-07T02:30',
    })
    expect(twice.statusCode).toBe(400)
    expect(twice.json().detail).toBe(
      '2030-04-07T02:30 happens twice in Australia/Sydney (the clocks go back): 02:30+11:00 or 02:30+10:00; give the offset',
    )
  })

  it('GET shows one code; PATCH changes its description and expiry, within six months of its creation', async () => {
    await enableUniqueCodes(t.app, owner)
    const expiry = iso(t.clock.now() + 10 * 24 * HOUR)
    const created = await createCode(t.app, owner, 'Window cleaner', expiry)
    const createdAt = t.clock.now()
    const latest = maxUniqueCodeExpiry(createdAt)
    const got = await call(owner, 'GET', `/unique-codes/${created.id}`)
    expect(got.statusCode).toBe(200)
    expect(got.json()).toMatchObject({ id: created.id, code: created.code, description: 'Window cleaner' })

    const changed = await call(owner, 'PATCH', `/unique-codes/${created.id}`, {
      description: 'Window cleaner – March',
      expiresAt: iso(latest),
    })
    expect(changed.statusCode).toBe(200)
    expect(changed.json()).toMatchObject({
      id: created.id,
      code: created.code,
      description: 'Window cleaner – March',
      expiresAt: iso(latest),
      status: 'active',
    })
    expect((await call(owner, 'GET', `/unique-codes/${created.id}`)).json().description).toBe(
      'Window cleaner – March',
    )
    const recorded = await t.store.db.select().from(events).where(eq(events.type, 'unique_code.updated'))
    expect(recorded.map((e) => [e.uniqueCodeId, e.data])).toEqual([
      [
        created.id,
        {
          label: 'Window cleaner – March',
          previousDescription: 'Window cleaner',
          expiresAt: iso(latest),
          previousExpiresAt: expiry,
        },
      ],
    ])

    // an hour later, six months from now would be allowed, but not six months from creation
    t.clock.advance(HOUR)
    const tooFar = await call(owner, 'PATCH', `/unique-codes/${created.id}`, {
      expiresAt: iso(latest + HOUR / 2),
    })
    expect(tooFar.statusCode).toBe(422)
    expect(tooFar.json()).toMatchObject({
      code: 'expiry_too_far',
      detail: `a unique code expires at most six months after it was created (${iso(createdAt)}), by ${iso(latest)}`,
    })
    const past = await call(owner, 'PATCH', `/unique-codes/${created.id}`, { expiresAt: iso(createdAt) })
    expect([past.statusCode, past.json().code]).toEqual([422, 'expiry_in_past'])
  })

  it('is for owners and admins of the organization', async () => {
    const created = await createCode(t.app, owner, 'Locksmith', iso(t.clock.now() + 24 * HOUR))
    expect((await call(member, 'GET', `/unique-codes/${created.id}`)).statusCode).toBe(403)
    expect(
      (await call(member, 'PATCH', `/unique-codes/${created.id}`, { description: 'x' })).statusCode,
    ).toBe(403)
    expect((await call(other, 'GET', `/unique-codes/${created.id}`)).statusCode).toBe(404)
    expect((await call(other, 'PATCH', `/unique-codes/${created.id}`, { description: 'x' })).statusCode).toBe(
      404,
    )
    await call(owner, 'DELETE', `/unique-codes/${created.id}`)
    expect((await call(owner, 'GET', `/unique-codes/${created.id}`)).statusCode).toBe(404)
  })
})
