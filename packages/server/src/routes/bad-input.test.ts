/**
 * A NUL character in a name or a filter is refused as validation_failed naming the field. (Bad input
 * of every other kind, on every route, is the fuzz of openapi-fuzz.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, seedOrganization, signupOwner, type TestAccount, type TestApp } from '../testing.ts'

let t: TestApp
let owner: TestAccount
let ids: Record<string, string> = {}

beforeAll(async () => {
  t = await buildTestApp()
  owner = await signupOwner(t.app, { organizationName: 'Careless Client Ltd' })
  ids = (await seedOrganization(t.app, owner, 'Careless')).ids
})
afterAll(() => t.close())

describe('a NUL character', () => {
  it('in a name or a filter is refused as validation_failed naming the field, and nothing is stored', async () => {
    const lockUrl = `/api/v1/locks/${ids['/locks/{id}']}`
    const renamed = await t.app.inject({
      method: 'PATCH',
      url: lockUrl,
      headers: owner.headers,
      payload: { name: 'Front\u0000door' },
    })
    expect([renamed.statusCode, renamed.json()]).toEqual([
      400,
      {
        type: 'urn:latchkey:error:validation_failed',
        title: 'Validation failed',
        status: 400,
        code: 'validation_failed',
        detail: 'invalid name',
        errors: [{ in: 'body', field: 'name', message: 'must not contain the NUL character' }],
      },
    ])
    expect((await t.app.inject({ method: 'GET', url: lockUrl, headers: owner.headers })).json().name).toBe(
      'Careless front door',
    )
    const filtered = await t.app.inject({
      method: 'GET',
      url: '/api/v1/events?type=lock.unlocked%00',
      headers: owner.headers,
    })
    expect([filtered.statusCode, filtered.json().errors]).toEqual([
      400,
      [{ in: 'querystring', field: 'type', message: 'must not contain the NUL character' }],
    ])
  })
})
