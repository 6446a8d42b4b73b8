import { eq } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { addLock, createCode, type Fixture, setup } from '../reconciler/test-setup.ts'
import { accessCodes } from '../store/schema.ts'
import { signupOwner, type TestAccount } from '../testing.ts'

let f: Fixture
let front: string
let back: string
let stranger: TestAccount
const made: Record<string, string> = {}

beforeAll(async () => {
  f = await setup()
  front = (await addLock(f)).id
  back = (await addLock(f)).id
  stranger = await signupOwner(f.app)
  for (const [lock, name] of [
    [front, 'Cleaner – Tuesday'],
    [back, 'cleaner (back door)'],
    [front, 'Plumber Anna'],
    [back, 'Anna 100%_off'],
  ] as const) {
    const response = await createCode(f, lock, { name, kind: 'permanent' })
    expect(response.statusCode).toBe(201)
    made[name] = response.json().id
  }
  // what the reconciler writes when the lock has no free slot
  await f.t.store.db
    .update(accessCodes)
    .set({ errors: [{ code: 'lock_full', message: 'The lock has no free slot.' }] })
    .where(eq(accessCodes.id, made['cleaner (back door)']!))
})
afterAll(() => f.close())

const search = (query: string, account: TestAccount = f.owner) =>
  f.app.inject({ method: 'GET', url: `/api/v1/access-codes${query}`, headers: account.headers })
/** Names in order of the alphabet (codes made at the same instant come in order of id). */
const names = (body: { items: Array<{ name: string }> }) => body.items.map((code) => code.name).sort()

describe('GET /access-codes', () => {
  it('finds codes across every lock by part of the name, in any case', async () => {
    const cleaners = await search('?q=CLEANER')
    expect(cleaners.statusCode).toBe(200)
    expect(names(cleaners.json())).toEqual(['Cleaner – Tuesday', 'cleaner (back door)'].sort())
    expect(names((await search('?q=anna')).json())).toEqual(['Anna 100%_off', 'Plumber Anna'])
    // % and _ are letters of the name, not patterns
    expect(names((await search(`?q=${encodeURIComponent('%_')}`)).json())).toEqual(['Anna 100%_off'])
  })

  it('narrows by lock and by status; status=errors finds every code with an error', async () => {
    expect(names((await search(`?lockId=${back}`)).json())).toEqual(['Anna 100%_off', 'cleaner (back door)'])
    expect(names((await search('?status=errors')).json())).toEqual(['cleaner (back door)'])
    const statuses = (await search('?q=anna')).json().items.map((c: { status: string }) => c.status)
    expect(names((await search(`?status=${statuses[0]}&q=anna`)).json())).toContain('Plumber Anna')
    expect(names((await search('?status=removed')).json())).toEqual([])
  })

  it('narrows by property: the codes on its locks, nothing by another organization’s property', async () => {
    const make = (account: TestAccount, lockIds: string[]) =>
      f.app.inject({
        method: 'POST',
        url: '/api/v1/properties',
        headers: account.headers,
        payload: { name: 'Harbour flat', timezone: 'Australia/Sydney', lockIds },
      })
    const flat = (await make(f.owner, [front])).json().id
    expect(names((await search(`?propertyId=${flat}`)).json())).toEqual(['Cleaner – Tuesday', 'Plumber Anna'])
    expect(names((await search(`?propertyId=${flat}&q=anna`)).json())).toEqual(['Plumber Anna'])
    expect((await search(`?propertyId=${flat}`, stranger)).json()).toEqual({ items: [] })
    const strangerLock = await f.app.inject({
      method: 'POST',
      url: '/api/v1/locks',
      headers: stranger.headers,
      payload: { name: 'Their door', timezone: 'UTC' },
    })
    const theirs = (await make(stranger, [strangerLock.json().id])).json().id
    expect((await search(`?propertyId=${theirs}`)).json()).toEqual({ items: [] })
    expect((await search('?propertyId=not-a-property')).json()).toEqual({ items: [] })
  })

  it('pages by cursor', async () => {
    const first = (await search('?limit=3')).json()
    expect(first.items).toHaveLength(3)
    const second = (await search(`?limit=3&cursor=${first.nextCursor}`)).json()
    expect(second.items).toHaveLength(1)
    expect(second.nextCursor).toBeUndefined()
    expect([...names(first), ...names(second)].sort()).toEqual(Object.keys(made).sort())
  })

  it('shows nothing of another organization and refuses an unknown status', async () => {
    expect((await search('?q=cleaner', stranger)).json()).toEqual({ items: [] })
    expect((await search(`?lockId=${front}`, stranger)).json()).toEqual({ items: [] })
    const bad = await search('?status=lost')
    expect(bad.statusCode).toBe(400)
    expect(bad.json().code).toBe('validation_failed')
  })
})

describe('GET /access-codes across time zones', () => {
  it('shows each code’s times in the time zone of its own lock', async () => {
    const sydney = (await addLock(f, { name: 'Harbour door', timezone: 'Australia/Sydney' })).id
    const lisbon = (await addLock(f, { name: 'Alfama door', timezone: 'Europe/Lisbon' })).id
    const window = { kind: 'timed', startsAt: '2031-01-10T12:00:00Z', endsAt: '2031-01-11T12:00:00Z' }
    for (const lockId of [sydney, lisbon])
      expect((await createCode(f, lockId, { name: `Zoned ${lockId}`, ...window })).statusCode).toBe(201)
    const items = (await search('?q=zoned')).json().items as Array<{
      lockId: string
      timezone: string
      startsAtLocal: string
    }>
    expect(
      items.map((c) => [c.lockId, c.timezone, c.startsAtLocal]).sort((a, b) => a[1]!.localeCompare(b[1]!)),
    ).toEqual([
      [sydney, 'Australia/Sydney', '2031-01-10T23:00+11:00'],
      [lisbon, 'Europe/Lisbon', '2031-01-10T12:00+00:00'],
    ])
  })
})
