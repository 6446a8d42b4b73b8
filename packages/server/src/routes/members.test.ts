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

const add = (account: TestAccount, payload: object) =>
  t.app.inject({ method: 'POST', url: '/api/v1/members', headers: account.headers, payload })
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

  it('adds a new person with an initial password, who can then sign in', async () => {
    const owner = await signupOwner(t.app)
    t.clock.advance(60_000)
    const response = await add(owner, {
      email: 'Cleaner@Example.test',
      role: 'member',
      password: 'initial password',
      name: 'Sam Cleaner',
    })
    expect(response.statusCode).toBe(201)
    const member = response.json()
    expect(member).toEqual({
      userId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      email: 'cleaner@example.test',
      name: 'Sam Cleaner',
      role: 'member',
      createdAt: new Date(t.clock.now()).toISOString(),
    })
    const login = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email: 'cleaner@example.test', password: 'initial password' },
    })
    expect(login.statusCode).toBe(200)
    expect(login.json().organizationId).toBe(owner.organizationId)
    expect((await list(owner)).items.map((m: { email: string }) => m.email)).toEqual([
      owner.email,
      'cleaner@example.test',
    ])
  })

  it('needs an initial password for a new account', async () => {
    const owner = await signupOwner(t.app)
    const response = await add(owner, { email: 'nopass@example.test', role: 'member' })
    expect(response.statusCode).toBe(400)
    expect(response.json()).toEqual({
      type: 'urn:latchkey:error:validation_failed',
      title: 'Validation failed',
      status: 400,
      code: 'validation_failed',
      detail: 'nopass@example.test has no account yet: give an initial password',
      errors: [{ in: 'body', field: 'password', message: 'required for a new account' }],
    })
  })

  it('adds an existing account as it is (its own password stays), and lets it choose the organization at login', async () => {
    const first = await signupOwner(t.app, { organizationName: 'First' })
    const second = await signupOwner(t.app, { organizationName: 'Second' })
    const withPassword = await add(second, {
      email: first.email,
      role: 'admin',
      password: 'override attempt',
    })
    expect(withPassword.statusCode).toBe(400)
    expect(withPassword.json().detail).toBe(
      `${first.email} already has an account: it keeps its own password`,
    )

    const added = await add(second, { email: first.email, role: 'admin' })
    expect(added.statusCode).toBe(201)
    expect(added.json()).toMatchObject({ userId: first.userId, role: 'admin' })

    const login = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email: first.email, password: first.password, organizationId: second.organizationId },
    })
    expect(login.json().organizationId).toBe(second.organizationId)
    const me = await t.app.inject({
      method: 'GET',
      url: '/api/v1/me',
      headers: { authorization: `Bearer ${login.json().token}` },
    })
    expect(me.json()).toMatchObject({ organizationName: 'Second', role: 'admin' })
    expect(me.json().organizations).toEqual([
      { id: first.organizationId, name: 'First', role: 'owner' },
      { id: second.organizationId, name: 'Second', role: 'admin' },
    ])

    const duplicate = await add(second, { email: first.email, role: 'member' })
    expect(duplicate.statusCode).toBe(409)
    expect(duplicate.json()).toEqual({
      type: 'urn:latchkey:error:conflict',
      title: 'Conflict',
      status: 409,
      code: 'conflict',
      detail: `${first.email} is already a member`,
    })
  })

  it('lets owners and admins add, only owners add owners, and members only read', async () => {
    const owner = await signupOwner(t.app)
    const admin = await addMemberAndLogin(t.app, owner, 'admin')
    const member = await addMemberAndLogin(t.app, owner, 'member')
    expect(
      (await add(admin, { email: 'a1@example.test', role: 'admin', password: 'initial password' }))
        .statusCode,
    ).toBe(201)
    const ownerByAdmin = await add(admin, {
      email: 'o1@example.test',
      role: 'owner',
      password: 'initial password',
    })
    expect(ownerByAdmin.statusCode).toBe(403)
    expect(ownerByAdmin.json().detail).toBe('only an owner can add an owner')
    const byMember = await add(member, {
      email: 'm1@example.test',
      role: 'member',
      password: 'initial password',
    })
    expect(byMember.statusCode).toBe(403)
    expect(byMember.json().detail).toBe('only owner or admin can add members')
    expect((await list(member)).items).toHaveLength(4)
    expect(
      (await add(owner, { email: 'o2@example.test', role: 'owner', password: 'initial password' }))
        .statusCode,
    ).toBe(201)
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
    expect(last.json().detail).toBe('the last owner cannot be removed')
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
