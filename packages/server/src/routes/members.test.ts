import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  addMemberAndLogin,
  buildTestApp,
  signupOwner,
  TEST_EPOCH,
  type TestAccount,
  type TestApp,
} from '../testing.ts'

const CREATED = new Date(TEST_EPOCH).toISOString()

let t: TestApp
beforeAll(async () => {
  t = await buildTestApp()
})
afterAll(() => t.close())

const patch = (account: TestAccount, userId: string, payload: object) =>
  t.app.inject({ method: 'PATCH', url: `/api/v1/members/${userId}`, headers: account.headers, payload })
const list = async (account: TestAccount) =>
  (await t.app.inject({ method: 'GET', url: '/api/v1/members', headers: account.headers })).json()

describe('members', () => {
  it('lists the owner after sign-up', async () => {
    // first test: the clock has not moved yet
    const owner = await signupOwner(t.app, { email: 'olga@example.test' })
    expect(await list(owner)).toEqual({
      items: [
        { userId: owner.userId, email: 'olga@example.test', name: null, role: 'owner', createdAt: CREATED },
      ],
    })
  })

  it('has no way in but an invitation: adding a person with a password is gone', async () => {
    const owner = await signupOwner(t.app)
    const response = await t.app.inject({
      method: 'POST',
      url: '/api/v1/members',
      headers: owner.headers,
      payload: { email: 'cleaner@example.test', role: 'member', password: 'initial password' },
    })
    expect(response.statusCode).toBe(404)
    const login = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email: 'cleaner@example.test', password: 'initial password' },
    })
    expect(login.statusCode).toBe(401)
    expect((await list(owner)).items).toHaveLength(1)
  })

  it('lets an owner or admin change a member’s role, which holds from the next request', async () => {
    const owner = await signupOwner(t.app)
    const admin = await addMemberAndLogin(t.app, owner, 'admin')
    const member = await addMemberAndLogin(t.app, owner, 'member')
    const invitations = () =>
      t.app.inject({ method: 'GET', url: '/api/v1/invitations', headers: member.headers })
    expect((await invitations()).statusCode).toBe(403)

    const promoted = await patch(admin, member.userId, { role: 'admin' })
    expect(promoted.statusCode).toBe(200)
    expect(promoted.json()).toEqual({
      userId: member.userId,
      email: member.email,
      name: null,
      role: 'admin',
      createdAt: expect.any(String),
    })
    expect((await invitations()).statusCode).toBe(200)
    const me = await t.app.inject({ method: 'GET', url: '/api/v1/me', headers: member.headers })
    expect(me.json().role).toBe('admin')

    expect((await patch(owner, member.userId, { role: 'member' })).json().role).toBe('member')
    expect((await invitations()).statusCode).toBe(403)
  })

  it('leaves owners to owners: an admin neither makes an owner nor changes one', async () => {
    const owner = await signupOwner(t.app)
    const admin = await addMemberAndLogin(t.app, owner, 'admin')
    const member = await addMemberAndLogin(t.app, owner, 'member')
    const makeOwner = await patch(admin, member.userId, { role: 'owner' })
    expect(makeOwner.statusCode).toBe(403)
    expect(makeOwner.json().detail).toBe("only an owner can make someone an owner or change an owner's role")
    expect((await patch(admin, admin.userId, { role: 'owner' })).statusCode).toBe(403)
    expect((await patch(admin, owner.userId, { role: 'member' })).statusCode).toBe(403)
    const byMember = await patch(member, member.userId, { role: 'admin' })
    expect(byMember.statusCode).toBe(403)
    expect(byMember.json().detail).toBe('only owner or admin can change roles')
    expect((await list(owner)).items.map((m: { role: string }) => m.role).sort()).toEqual([
      'admin',
      'member',
      'owner',
    ])
    expect((await patch(owner, member.userId, { role: 'owner' })).json().role).toBe('owner')
  })

  it('always keeps an owner: the last one cannot step down, one of two can', async () => {
    const owner = await signupOwner(t.app)
    const last = await patch(owner, owner.userId, { role: 'admin' })
    expect(last.statusCode).toBe(409)
    expect(last.json()).toEqual({
      type: 'urn:latchkey:error:conflict',
      title: 'Conflict',
      status: 409,
      code: 'conflict',
      detail: 'the last owner cannot change role: make someone else an owner first',
    })
    const second = await addMemberAndLogin(t.app, owner, 'owner')
    expect((await patch(owner, owner.userId, { role: 'admin' })).json().role).toBe('admin')
    expect((await patch(second, second.userId, { role: 'member' })).statusCode).toBe(409)
  })

  it('keeps one owner when two owners demote each other at once', async () => {
    const owner = await signupOwner(t.app)
    const second = await addMemberAndLogin(t.app, owner, 'owner')
    const answers = await Promise.all([
      patch(owner, second.userId, { role: 'admin' }),
      patch(second, owner.userId, { role: 'admin' }),
    ])
    expect(answers.map((a) => a.statusCode).sort()).toEqual([200, 403])
    expect((await list(owner)).items.filter((m: { role: string }) => m.role === 'owner')).toHaveLength(1)
  })

  it('refuses an unknown role and an unknown member', async () => {
    const owner = await signupOwner(t.app)
    const bad = await patch(owner, owner.userId, { role: 'superuser' })
    expect(bad.statusCode).toBe(400)
    expect(bad.json().code).toBe('validation_failed')
    const unknown = await patch(owner, '00000000-0000-4000-8000-000000000000', { role: 'admin' })
    expect(unknown.statusCode).toBe(404)
    expect((await patch(owner, 'not-an-id', { role: 'admin' })).statusCode).toBe(404)
  })

  it('removes a member, whose session stops at once; the last owner stays', async () => {
    const owner = await signupOwner(t.app)
    const member = await addMemberAndLogin(t.app, owner, 'member')
    const admin = await addMemberAndLogin(t.app, owner, 'admin')
    const byAdmin = await t.app.inject({
      method: 'DELETE',
      url: `/api/v1/members/${owner.userId}`,
      headers: admin.headers,
    })
    expect(byAdmin.statusCode).toBe(403)
    expect(byAdmin.json().detail).toBe('only an owner can remove an owner')

    const removed = await t.app.inject({
      method: 'DELETE',
      url: `/api/v1/members/${member.userId}`,
      headers: admin.headers,
    })
    expect(removed.statusCode).toBe(204)
    expect(
      (await t.app.inject({ method: 'GET', url: '/api/v1/me', headers: member.headers })).statusCode,
    ).toBe(401)
    const login = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email: member.email, password: member.password },
    })
    expect(login.statusCode).toBe(403)
    expect(login.json().detail).toBe('this account is not a member of any organization')

    const last = await t.app.inject({
      method: 'DELETE',
      url: `/api/v1/members/${owner.userId}`,
      headers: owner.headers,
    })
    expect(last.statusCode).toBe(409)
    expect(last.json().detail).toBe('the last owner cannot be removed: make someone else an owner first')
  })
})

describe('members: tenant isolation', () => {
  it('lists only the organization’s members and cannot remove another organization’s', async () => {
    const ours = await signupOwner(t.app)
    const theirs = await signupOwner(t.app)
    const theirMember = await addMemberAndLogin(t.app, theirs, 'member')
    expect((await list(ours)).items.map((m: { userId: string }) => m.userId)).toEqual([ours.userId])
    const attempt = await t.app.inject({
      method: 'DELETE',
      url: `/api/v1/members/${theirMember.userId}`,
      headers: ours.headers,
    })
    expect(attempt.statusCode).toBe(404)
    expect(attempt.json().detail).toBe(`no member ${theirMember.userId}`)
    expect(
      (await t.app.inject({ method: 'GET', url: '/api/v1/me', headers: theirMember.headers })).statusCode,
    ).toBe(200)
  })
})
