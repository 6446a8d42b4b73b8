import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { addMemberAndLogin, buildTestApp, signupOwner, type TestAccount, type TestApp } from '../testing.ts'

let t: TestApp
let owner: TestAccount
let other: TestAccount
beforeAll(async () => {
  t = await buildTestApp()
  owner = await signupOwner(t.app)
  other = await signupOwner(t.app)
})
afterAll(() => t.close())

const get = (account: TestAccount) =>
  t.app.inject({ method: 'GET', url: '/api/v1/organization/settings', headers: account.headers })
const patch = (account: TestAccount, payload: unknown) =>
  t.app.inject({
    method: 'PATCH',
    url: '/api/v1/organization/settings',
    headers: account.headers,
    payload: payload as object,
  })

describe('organization settings', () => {
  it('start with unique codes off', async () => {
    const response = await get(owner)
    expect(response.statusCode).toBe(200)
    expect(response.json()).toEqual({ uniqueCodesEnabled: false, syncLeadHours: 24 })
  })

  it('change only the fields given, by an owner or an admin; a member reads them', async () => {
    expect((await patch(owner, { uniqueCodesEnabled: true })).json()).toEqual({
      uniqueCodesEnabled: true,
      syncLeadHours: 24,
    })
    const admin = await addMemberAndLogin(t.app, owner, 'admin')
    expect((await patch(admin, { syncLeadHours: 6 })).json()).toEqual({
      uniqueCodesEnabled: true,
      syncLeadHours: 6,
    })

    const member = await addMemberAndLogin(t.app, owner, 'member')
    expect((await get(member)).json()).toEqual({ uniqueCodesEnabled: true, syncLeadHours: 6 })
    const refused = await patch(member, { uniqueCodesEnabled: false })
    expect(refused.statusCode).toBe(403)
    expect(refused.json()).toEqual({
      type: 'urn:latchkey:error:forbidden',
      title: 'Forbidden',
      status: 403,
      code: 'forbidden',
      detail: 'only owner or admin can change organization settings',
    })
    expect((await get(owner)).json()).toEqual({ uniqueCodesEnabled: true, syncLeadHours: 6 })
  })

  it('refuse unknown settings and wrong types', async () => {
    const response = await patch(owner, { uniqueCodesEnabled: 'yes', colour: 'blue' })
    expect(response.statusCode).toBe(400)
    expect(response.json()).toEqual({
      type: 'urn:latchkey:error:validation_failed',
      title: 'Validation failed',
      status: 400,
      code: 'validation_failed',
      detail: 'invalid uniqueCodesEnabled',
      errors: [
        {
          in: 'body',
          field: 'uniqueCodesEnabled',
          message: 'Invalid input: expected boolean, received string',
        },
        { in: 'body', field: '', message: 'Unrecognized key: "colour"' },
      ],
    })
  })

  it('are the organization’s own', async () => {
    await patch(owner, { uniqueCodesEnabled: true })
    expect((await get(other)).json()).toEqual({ uniqueCodesEnabled: false, syncLeadHours: 24 })
    await patch(other, { syncLeadHours: 48 })
    expect((await get(owner)).json().syncLeadHours).not.toBe(48)
  })
})
