/** Invitations: the one way into an organization (SPEC §8). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { INVITATION_TTL_MS } from '../accounts/index.ts'
import { addMemberAndLogin, buildTestApp, signupOwner, type TestAccount, type TestApp } from '../testing.ts'

const TOKEN = /^lki_[A-Za-z0-9_-]{43}$/
const LINK_NOT_VALID = {
  type: 'urn:latchkey:error:not_found',
  title: 'Not found',
  status: 404,
  code: 'not_found',
  detail:
    'this invitation link is not valid: it was used or revoked, or it is more than 7 days old. Ask for a new one',
}

let t: TestApp
beforeAll(async () => {
  t = await buildTestApp()
})
afterAll(() => t.close())

let people = 0
const fresh = () => `invitee${++people}-${process.pid}@example.test`
const invite = (account: TestAccount, email: string, role = 'member') =>
  t.app.inject({
    method: 'POST',
    url: '/api/v1/invitations',
    headers: account.headers,
    payload: { email, role },
  })
const accept = (payload: object, headers: Record<string, string> = {}, remoteAddress = '192.0.2.80') =>
  t.app.inject({ method: 'POST', url: '/api/v1/auth/accept-invitation', payload, headers, remoteAddress })
const pending = async (account: TestAccount) =>
  (await t.app.inject({ method: 'GET', url: '/api/v1/invitations', headers: account.headers })).json()
const me = async (token: string) =>
  (
    await t.app.inject({ method: 'GET', url: '/api/v1/me', headers: { authorization: `Bearer ${token}` } })
  ).json()

describe('POST /invitations', () => {
  it('answers the token and its link once; lists show neither', async () => {
    const owner = await signupOwner(t.app)
    const email = fresh()
    const response = await invite(owner, email.toUpperCase(), 'admin')
    expect(response.statusCode).toBe(201)
    const body = response.json()
    const now = t.clock.now()
    expect(body).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      email,
      role: 'admin',
      status: 'pending',
      createdAt: new Date(now).toISOString(),
      expiresAt: new Date(now + 7 * 86_400_000).toISOString(),
      token: expect.stringMatching(TOKEN),
      link: `http://localhost:80/invitation#${body.token}`,
    })
    const { token: _token, link: _link, ...listed } = body
    expect(await pending(owner)).toEqual({ items: [listed] })
    const one = await t.app.inject({
      method: 'GET',
      url: `/api/v1/invitations/${body.id}`,
      headers: owner.headers,
    })
    expect(one.json()).toEqual(listed)
    expect(JSON.stringify(await pending(owner))).not.toContain(body.token)
  })

  it('answers alike for an e-mail with an account elsewhere and for one without', async () => {
    const elsewhere = await signupOwner(t.app, { organizationName: 'Elsewhere' })
    const owner = await signupOwner(t.app)
    const known = await invite(owner, elsewhere.email)
    const unknown = await invite(owner, fresh())
    const shape = (r: typeof known) => {
      const { id: _id, email: _email, token: _token, link: _link, ...rest } = r.json()
      return { status: r.statusCode, keys: Object.keys(r.json()).sort(), rest }
    }
    expect(shape(known)).toEqual(shape(unknown))
    expect(shape(known).status).toBe(201)
  })

  it('refuses a member of this organization, lets only an owner invite an owner, and members not at all', async () => {
    const owner = await signupOwner(t.app)
    const admin = await addMemberAndLogin(t.app, owner, 'admin')
    const member = await addMemberAndLogin(t.app, owner, 'member')
    const again = await invite(owner, member.email)
    expect(again.statusCode).toBe(409)
    expect(again.json().detail).toBe(`${member.email} is already a member`)
    const ownerByAdmin = await invite(admin, fresh(), 'owner')
    expect(ownerByAdmin.statusCode).toBe(403)
    expect(ownerByAdmin.json().detail).toBe('only an owner can invite an owner')
    expect((await invite(admin, fresh(), 'admin')).statusCode).toBe(201)
    const byMember = await invite(member, fresh())
    expect(byMember.statusCode).toBe(403)
    expect(byMember.json().detail).toBe('only owner or admin can invite people')
    const list = await t.app.inject({ method: 'GET', url: '/api/v1/invitations', headers: member.headers })
    expect(list.statusCode).toBe(403)
    expect((await invite(owner, fresh(), 'owner')).statusCode).toBe(201)
  })
})

describe('POST /auth/invitation', () => {
  it('tells the link’s organization, e-mail and role, the same for an e-mail with an account or without', async () => {
    const elsewhere = await signupOwner(t.app, { organizationName: 'Elsewhere' })
    const owner = await signupOwner(t.app, { organizationName: 'Harbour Flats' })
    const details = (token: string) =>
      t.app.inject({ method: 'POST', url: '/api/v1/auth/invitation', payload: { token } })
    const known = (await invite(owner, elsewhere.email, 'admin')).json()
    const email = fresh()
    const unknown = (await invite(owner, email, 'admin')).json()
    const expiresAt = new Date(t.clock.now() + INVITATION_TTL_MS).toISOString()
    expect((await details(unknown.token)).json()).toEqual({
      organizationName: 'Harbour Flats',
      email,
      role: 'admin',
      expiresAt,
    })
    expect((await details(known.token)).json()).toEqual({
      organizationName: 'Harbour Flats',
      email: elsewhere.email,
      role: 'admin',
      expiresAt,
    })
    expect((await details('lki_made-up')).json()).toEqual(LINK_NOT_VALID)
  })
})

describe('POST /auth/accept-invitation', () => {
  it('makes the account with the password chosen, joins with the role, once', async () => {
    const owner = await signupOwner(t.app)
    const email = fresh()
    const { token } = (await invite(owner, email, 'admin')).json()
    const response = await accept({ token, password: 'my own password', name: 'Ada Admin' })
    expect(response.statusCode).toBe(200)
    const joined = response.json()
    expect(joined).toEqual({
      userId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      organizationId: owner.organizationId,
      role: 'admin',
      token: expect.stringMatching(/^lks_/),
      expiresAt: expect.any(String),
    })
    expect(response.headers['set-cookie']).toContain(`latchkey_session=${joined.token}`)
    expect(await me(joined.token)).toMatchObject({ email, name: 'Ada Admin', role: 'admin' })
    expect((await pending(owner)).items).toEqual([])

    const twice = await accept({ token, password: 'another password' })
    expect(twice.statusCode).toBe(404)
    expect(twice.json()).toEqual(LINK_NOT_VALID)
    const login = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email, password: 'my own password' },
    })
    expect(login.statusCode).toBe(200)
  })

  it('joins an existing account with its own password, or its session; a wrong password joins nothing', async () => {
    const elsewhere = await signupOwner(t.app, { organizationName: 'Elsewhere' })
    const owner = await signupOwner(t.app, { organizationName: 'Here' })
    const { token } = (await invite(owner, elsewhere.email, 'member')).json()
    const wrong = await accept({ token, password: 'not the password' })
    expect(wrong.statusCode).toBe(401)
    expect(wrong.json().code).toBe('invalid_credentials')
    // the account's password did not change, and the link still works
    const joined = await accept({ token, password: elsewhere.password })
    expect(joined.statusCode).toBe(200)
    expect(joined.json()).toMatchObject({ userId: elsewhere.userId, organizationId: owner.organizationId })
    expect((await me(joined.json().token)).organizations).toEqual([
      { id: elsewhere.organizationId, name: 'Elsewhere', role: 'owner' },
      { id: owner.organizationId, name: 'Here', role: 'member' },
    ])

    const other = await signupOwner(t.app, { organizationName: 'Third' })
    const second = (await invite(other, elsewhere.email, 'admin')).json()
    const bySession = await accept({ token: second.token }, elsewhere.headers)
    expect(bySession.statusCode).toBe(200)
    expect(bySession.json()).toMatchObject({ userId: elsewhere.userId, role: 'admin' })
  })

  it('needs a password from anyone not signed in as the invited account, whoever that is', async () => {
    const owner = await signupOwner(t.app)
    const { token } = (await invite(owner, fresh())).json()
    const none = await accept({ token })
    expect(none.statusCode).toBe(400)
    expect(none.json().detail).toBe(
      'give a password: a new one for a new account, or the one of your account with this e-mail',
    )
    // signed in as someone else: still a password
    expect((await accept({ token }, owner.headers)).statusCode).toBe(400)
    expect((await accept({ token, password: 'short' })).statusCode).toBe(400)
  })

  it('stops working after 7 days', async () => {
    const owner = await signupOwner(t.app)
    const { token, id } = (await invite(owner, fresh())).json()
    t.clock.advance(INVITATION_TTL_MS)
    expect((await pending(owner)).items).toEqual([expect.objectContaining({ id, status: 'expired' })])
    const late = await accept({ token, password: 'my own password' })
    expect(late.json()).toEqual(LINK_NOT_VALID)
  })

  it('stops working when revoked, or when the e-mail is invited again', async () => {
    const owner = await signupOwner(t.app)
    const email = fresh()
    const first = (await invite(owner, email)).json()
    const second = (await invite(owner, email, 'admin')).json()
    expect((await pending(owner)).items.map((i: { id: string }) => i.id)).toEqual([second.id])
    expect((await accept({ token: first.token, password: 'my own password' })).json()).toEqual(LINK_NOT_VALID)

    const revoke = () =>
      t.app.inject({ method: 'DELETE', url: `/api/v1/invitations/${second.id}`, headers: owner.headers })
    expect((await revoke()).statusCode).toBe(204)
    expect((await revoke()).statusCode).toBe(404)
    expect((await accept({ token: second.token, password: 'my own password' })).json()).toEqual(
      LINK_NOT_VALID,
    )
    expect((await accept({ token: 'lki_made-up', password: 'my own password' })).json()).toEqual(
      LINK_NOT_VALID,
    )
  })

  it('throttles password guesses at an existing account as a login does', async () => {
    const { app, close } = await buildTestApp({
      store: t.store,
      clock: t.clock,
      loginThrottle: {
        perEmailAddress: { limit: 2, windowMs: 15 * 60_000 },
        perEmail: { limit: 100, windowMs: 15 * 60_000 },
        perAddress: { limit: 100, windowMs: 15 * 60_000 },
      },
    })
    try {
      const victim = await signupOwner(app)
      const owner = await signupOwner(app)
      const invited = await app.inject({
        method: 'POST',
        url: '/api/v1/invitations',
        headers: owner.headers,
        payload: { email: victim.email, role: 'member' },
      })
      const guess = (password: string) =>
        app.inject({
          method: 'POST',
          url: '/api/v1/auth/accept-invitation',
          payload: { token: invited.json().token, password },
          remoteAddress: '192.0.2.99',
        })
      expect((await guess('guess number 1')).statusCode).toBe(401)
      expect((await guess('guess number 2')).statusCode).toBe(401)
      expect((await guess(victim.password)).statusCode).toBe(429)
    } finally {
      await close()
    }
  })
})
