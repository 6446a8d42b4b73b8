import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  addMemberAndLogin,
  buildTestApp,
  signupOwner,
  TEST_EPOCH,
  type TestAccount,
  type TestApp,
} from '../testing.ts'

let t: TestApp
let owner: TestAccount
let other: TestAccount
beforeAll(async () => {
  t = await buildTestApp()
  owner = await signupOwner(t.app, { organizationName: 'Harbour Flats' })
  other = await signupOwner(t.app, { organizationName: 'Other Org' })
})
afterAll(() => t.close())

const createKey = (account: TestAccount, name: string) =>
  t.app.inject({ method: 'POST', url: '/api/v1/api-keys', headers: account.headers, payload: { name } })

describe('API keys', () => {
  it('shows the key once; it then authenticates as its creator, and lists show only its prefix', async () => {
    const created = await createKey(owner, ' Door sync ')
    expect(created.statusCode).toBe(201)
    const body = created.json()
    expect(body).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      name: 'Door sync',
      prefix: body.key.slice(0, 11),
      createdBy: owner.userId,
      createdAt: new Date(TEST_EPOCH).toISOString(),
      lastUsedAt: null,
      key: expect.stringMatching(/^lk_[A-Za-z0-9_-]{43}$/),
    })

    const me = await t.app.inject({
      method: 'GET',
      url: '/api/v1/me',
      headers: { authorization: `Bearer ${body.key}` },
    })
    expect(me.statusCode).toBe(200)
    expect(me.json()).toMatchObject({
      userId: owner.userId,
      organizationId: owner.organizationId,
      via: 'api_key',
    })

    t.clock.advance(5_000)
    const list = await t.app.inject({ method: 'GET', url: '/api/v1/api-keys', headers: owner.headers })
    expect(list.statusCode).toBe(200)
    expect(list.json()).toEqual({
      items: [
        {
          id: body.id,
          name: 'Door sync',
          prefix: body.prefix,
          createdBy: owner.userId,
          createdAt: new Date(TEST_EPOCH).toISOString(),
          lastUsedAt: new Date(TEST_EPOCH).toISOString(),
        },
      ],
    })
  })

  it('takes a DELETE that says content-type: application/json and sends no body', async () => {
    const { id } = (await createKey(owner, 'sent by a client that always says JSON')).json()
    const deleted = await t.app.inject({
      method: 'DELETE',
      url: `/api/v1/api-keys/${id}`,
      headers: { ...owner.headers, 'content-type': 'application/json' },
    })
    expect(deleted.statusCode).toBe(204)
    const list = await t.app.inject({ method: 'GET', url: '/api/v1/api-keys', headers: owner.headers })
    expect(list.json().items.map((k: { id: string }) => k.id)).not.toContain(id)

    // a POST that needs a body and has none still says what is missing
    const empty = await t.app.inject({
      method: 'POST',
      url: '/api/v1/api-keys',
      headers: { ...owner.headers, 'content-type': 'application/json; charset=utf-8' },
    })
    expect(empty.statusCode).toBe(400)
    expect(empty.json().code).toBe('validation_failed')
    // and a body that is not JSON is refused as before
    const broken = await t.app.inject({
      method: 'POST',
      url: '/api/v1/api-keys',
      headers: { ...owner.headers, 'content-type': 'application/json' },
      payload: '{"name":',
    })
    expect(broken.statusCode).toBe(400)
    expect(broken.json().code).toBe('validation_failed')
  })

  it('revokes a key at once', async () => {
    const { id, key } = (await createKey(owner, 'temporary')).json()
    const deleted = await t.app.inject({
      method: 'DELETE',
      url: `/api/v1/api-keys/${id}`,
      headers: owner.headers,
    })
    expect(deleted.statusCode).toBe(204)
    expect(deleted.body).toBe('')
    const refused = await t.app.inject({
      method: 'GET',
      url: '/api/v1/me',
      headers: { authorization: `Bearer ${key}` },
    })
    expect(refused.statusCode).toBe(401)
    const again = await t.app.inject({
      method: 'DELETE',
      url: `/api/v1/api-keys/${id}`,
      headers: owner.headers,
    })
    expect(again.statusCode).toBe(404)
    expect(again.json()).toEqual({
      type: 'urn:latchkey:error:not_found',
      title: 'Not found',
      status: 404,
      code: 'not_found',
      detail: `no API key ${id}`,
    })
  })

  it('answers 404 for an id that is not one', async () => {
    const response = await t.app.inject({
      method: 'DELETE',
      url: '/api/v1/api-keys/nope',
      headers: owner.headers,
    })
    expect(response.statusCode).toBe(404)
    expect(response.json().detail).toBe('no API key nope')
  })

  it('is managed by owners and admins only', async () => {
    const admin = await addMemberAndLogin(t.app, owner, 'admin')
    const member = await addMemberAndLogin(t.app, owner, 'member')
    expect((await createKey(admin, 'by admin')).statusCode).toBe(201)
    const refused = await createKey(member, 'by member')
    expect(refused.statusCode).toBe(403)
    expect(refused.json()).toEqual({
      type: 'urn:latchkey:error:forbidden',
      title: 'Forbidden',
      status: 403,
      code: 'forbidden',
      detail: 'only owner or admin can create API keys',
    })
    expect(
      (await t.app.inject({ method: 'GET', url: '/api/v1/api-keys', headers: member.headers })).statusCode,
    ).toBe(403)
  })

  it('acts with the creator’s current role: a key of a removed member stops working', async () => {
    const admin = await addMemberAndLogin(t.app, owner, 'admin')
    const { key } = (await createKey(admin, 'admin key')).json()
    const removed = await t.app.inject({
      method: 'DELETE',
      url: `/api/v1/members/${admin.userId}`,
      headers: owner.headers,
    })
    expect(removed.statusCode).toBe(204)
    const refused = await t.app.inject({
      method: 'GET',
      url: '/api/v1/me',
      headers: { authorization: `Bearer ${key}` },
    })
    expect(refused.statusCode).toBe(401)
  })
})

describe('API keys: tenant isolation', () => {
  it('lists only the organization’s keys and cannot revoke another organization’s key', async () => {
    const theirs = (await createKey(other, 'theirs')).json()
    const ours = await t.app.inject({ method: 'GET', url: '/api/v1/api-keys', headers: owner.headers })
    expect(ours.json().items.map((k: { id: string }) => k.id)).not.toContain(theirs.id)

    const attempt = await t.app.inject({
      method: 'DELETE',
      url: `/api/v1/api-keys/${theirs.id}`,
      headers: owner.headers,
    })
    expect(attempt.statusCode).toBe(404)
    const stillWorks = await t.app.inject({
      method: 'GET',
      url: '/api/v1/me',
      headers: { authorization: `Bearer ${theirs.key}` },
    })
    expect(stillWorks.json().organizationId).toBe(other.organizationId)
  })
})
