import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { addLock, type Fixture, setup } from '../reconciler/test-setup.ts'
import { addMemberAndLogin, TEST_EPOCH, type TestAccount } from '../testing.ts'

const HOUR = 3_600_000
const iso = (ms: number) => new Date(ms).toISOString()

let f: Fixture
let lockId: string
let member: TestAccount
beforeAll(async () => {
  f = await setup()
  lockId = (await addLock(f)).id
  member = await addMemberAndLogin(f.app, f.owner, 'member')
})
afterAll(() => f.close())

const importRows = (payload: Record<string, unknown>, account: TestAccount = f.owner) =>
  f.app.inject({
    method: 'POST',
    url: `/api/v1/locks/${lockId}/access-codes/import`,
    headers: account.headers,
    payload,
  })
const listed = async () =>
  (
    await f.app.inject({
      method: 'GET',
      url: `/api/v1/locks/${lockId}/access-codes`,
      headers: f.owner.headers,
    })
  ).json().items as Array<{ name: string; code: string }>

const rows = [
  { name: 'Cleaner', kind: 'permanent', code: '482913' },
  { name: 'Weak', kind: 'permanent', code: '1234' },
  { name: 'Plumber', kind: 'timed', startsAt: iso(TEST_EPOCH), endsAt: iso(TEST_EPOCH + 2 * HOUR) },
  { name: 'Same PIN', kind: 'permanent', code: '482913' },
  { name: 'No kind' },
  { name: 'Backwards', kind: 'timed', startsAt: iso(TEST_EPOCH + HOUR), endsAt: iso(TEST_EPOCH) },
]

describe('POST /locks/{lockId}/access-codes/import', () => {
  it('a dry run answers every row and keeps nothing', async () => {
    const response = await importRows({ rows: rows.filter((r) => r.name !== 'Same PIN'), dryRun: true })
    expect(response.statusCode).toBe(200)
    const body = response.json()
    expect([body.dryRun, body.created, body.refused]).toEqual([true, 2, 3])
    expect(body.items.map((i: { status: string }) => i.status)).toEqual([
      'created',
      'refused',
      'created',
      'refused',
      'refused',
    ])
    expect(await listed()).toEqual([])
  })

  it('makes every good row, and refuses each bad one with its reason without stopping', async () => {
    const response = await importRows({ rows })
    expect(response.statusCode).toBe(200)
    const body = response.json()
    expect([body.dryRun, body.created, body.refused]).toEqual([false, 2, 4])
    const refused = body.items.filter((i: { status: string }) => i.status === 'refused')
    expect(refused.map((i: { row: number; error: { code: string } }) => [i.row, i.error.code])).toEqual([
      [1, 'weak_pin'],
      [3, 'duplicate_code_on_lock'],
      [4, 'validation_failed'],
      [5, 'invalid_window'],
    ])
    expect(refused[2].error.message).toContain('kind')
    expect(body.items[0]).toMatchObject({
      row: 0,
      status: 'created',
      code: { name: 'Cleaner', code: '482913' },
    })
    expect((await listed()).map((c) => c.name).sort()).toEqual(['Cleaner', 'Plumber'])
  })

  it('is for owners and admins only', async () => {
    const response = await importRows({ rows: [rows[0]] }, member)
    expect(response.statusCode).toBe(403)
    expect(response.json().code).toBe('forbidden')
  })
})
