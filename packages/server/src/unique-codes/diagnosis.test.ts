import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, signupOwner, TEST_EPOCH, type TestAccount, type TestApp } from '../testing.ts'
import { caller, createCode, createLock, enableUniqueCodes, share } from './test-fixtures.ts'

let t: TestApp
let owner: TestAccount
let call: ReturnType<typeof caller>
beforeAll(async () => {
  t = await buildTestApp()
  call = caller(t.app)
  owner = await signupOwner(t.app)
  await enableUniqueCodes(t.app, owner)
})
afterAll(() => t.close())

const DAY = 24 * 3_600_000
const iso = (ms: number) => new Date(ms).toISOString()
const diagnose = async (id: string) => {
  const response = await call(owner, 'GET', `/unique-codes/${id}/diagnosis`)
  expect(response.statusCode).toBe(200)
  return response.json()
}

describe('GET /unique-codes/{id}/diagnosis', () => {
  it('walks a code from active with two shared locks, through a login from another device, to deleted', async () => {
    const front = await createLock(t.app, owner, 'Front door')
    const plant = await createLock(t.app, owner, 'Plant room')
    const code = await createCode(t.app, owner, 'Plumber – Smith & Co', iso(TEST_EPOCH + 30 * DAY))
    expect((await diagnose(code.id)).checks).toEqual([
      {
        check: 'code',
        result: 'pass',
        message: 'The code “Plumber – Smith & Co” is active until Thu 14 Feb 2030, 10:00 (UTC).',
      },
      {
        check: 'locks',
        result: 'fail',
        message: 'No lock is shared to this code: share a lock to it under My Locks → Share.',
      },
      {
        check: 'device',
        result: 'pass',
        message: 'No device is bound yet: the first device that logs in with the code is bound to it.',
      },
      { check: 'logins', result: 'pass', message: 'Nobody logged in with this code in the last 7 days.' },
    ])

    await share(t.app, owner, {
      lockIds: [front, plant],
      grantee: { type: 'unique_code', uniqueCodeId: code.id },
      level: 'maintenance',
    })
    expect(
      (await call(null, 'POST', '/app/code-login', { code: code.code, deviceId: 'phone-A' })).statusCode,
    ).toBe(200)
    expect(
      (await call(null, 'POST', '/app/code-login', { code: code.code, deviceId: 'phone-B' })).statusCode,
    ).toBe(409)
    const shared = await diagnose(code.id)
    expect(shared.result).toBe('warn')
    expect(shared.checks.slice(1)).toEqual([
      {
        check: 'locks',
        result: 'pass',
        message: 'Shared: “Front door” at maintenance; “Plant room” at maintenance.',
      },
      {
        check: 'device',
        result: 'pass',
        message:
          'Bound to the device “phone-A” since Tue 15 Jan 2030, 10:00 (UTC); another device is refused until the binding is reset (POST /unique-codes/{id}/reset-device).',
      },
      {
        check: 'logins',
        result: 'warn',
        message:
          'Recent Code Logins (latest first) — Tue 15 Jan 2030, 10:00 (UTC): refused from the device “phone-B”, another device than the one it is bound to; Tue 15 Jan 2030, 10:00 (UTC): logged in from the device “phone-A”.',
      },
    ])

    expect((await call(owner, 'DELETE', `/unique-codes/${code.id}`)).statusCode).toBe(204)
    const deleted = await diagnose(code.id)
    expect(deleted.result).toBe('fail')
    expect(deleted.checks.slice(0, 2)).toEqual([
      {
        check: 'code',
        result: 'fail',
        message:
          'The code “Plumber – Smith & Co” was deleted on Tue 15 Jan 2030, 10:00 (UTC): Code Login refuses it and every share it had is revoked.',
      },
      {
        check: 'locks',
        result: 'fail',
        message:
          'No lock is shared to this code (2 shares revoked): share a lock to it under My Locks → Share.',
      },
    ])
    expect((await call(owner, 'GET', '/unique-codes/not-a-uuid/diagnosis')).statusCode).toBe(404)
  })
})
