/**
 * Times in requests (SPEC §3): any RFC 3339 offset, or a local date-time read in the lock's zone;
 * a local time a DST change skips or repeats is refused naming both readings; answers show each
 * time in the lock's zone beside the UTC one.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { addLock, createCode, type Fixture, setup } from '../reconciler/test-setup.ts'
import { caller, createCode as createUniqueCode, enableUniqueCodes } from '../unique-codes/test-fixtures.ts'

let f: Fixture
let sydney: string
let berlin: string
beforeAll(async () => {
  f = await setup()
  sydney = (await addLock(f, { name: 'Bondi flat', timezone: 'Australia/Sydney' })).id
  berlin = (await addLock(f, { name: 'Mitte flat', timezone: 'Europe/Berlin' })).id
})
afterAll(() => f.close())
afterEach(() => {
  expect(f.errors).toEqual([])
})

const timed = (startsAt: string, endsAt: string) => ({ name: 'Cleaner', kind: 'timed', startsAt, endsAt })

describe('times of access codes', () => {
  it('reads a local date-time in the lock’s zone and shows it back beside the UTC time', async () => {
    const response = await createCode(f, sydney, timed('2030-12-03T10:00', '2030-12-03T12:00:00'))
    expect(response.statusCode).toBe(201)
    expect(response.json()).toMatchObject({
      timezone: 'Australia/Sydney',
      startsAt: '2030-12-02T23:00:00.000Z',
      startsAtLocal: '2030-12-03T10:00+11:00',
      endsAt: '2030-12-03T01:00:00.000Z',
      endsAtLocal: '2030-12-03T12:00+11:00',
    })
    // the same words on a Berlin lock are another instant
    const there = (await createCode(f, berlin, timed('2030-12-03T10:00', '2030-12-03T12:00'))).json()
    expect([there.startsAt, there.startsAtLocal]).toEqual([
      '2030-12-03T09:00:00.000Z',
      '2030-12-03T10:00+01:00',
    ])
  })

  it('takes any RFC 3339 offset, Z and fractional seconds', async () => {
    const response = await createCode(
      f,
      berlin,
      timed('2030-12-03T10:00:00+11:00', '2030-12-03T01:30:00.250Z'),
    )
    expect(response.statusCode).toBe(201)
    expect(response.json()).toMatchObject({
      startsAt: '2030-12-02T23:00:00.000Z',
      startsAtLocal: '2030-12-03T00:00+01:00',
      endsAt: '2030-12-03T01:30:00.250Z',
      endsAtLocal: '2030-12-03T02:30:00.250+01:00',
    })
  })

  it('refuses a local time that happens twice, naming both readings (Sydney, April)', async () => {
    const response = await createCode(f, sydney, timed('2030-04-07T02:30', '2030-04-07T05:00'))
    expect(response.statusCode).toBe(400)
    expect(response.json()).toMatchObject({
      code: 'validation_failed',
      detail:
        '2030-04-07T02:30 happens twice in Australia/Sydney (the clocks go back): 02:30+11:00 or 02:30+10:00; give the offset',
      errors: [{ field: 'startsAt' }],
    })
    // with the offset it is taken
    const given = await createCode(f, sydney, timed('2030-04-07T02:30+10:00', '2030-04-07T05:00'))
    expect(given.statusCode).toBe(201)
    expect(given.json().startsAt).toBe('2030-04-06T16:30:00.000Z')
  })

  it('refuses a local time that a DST change skips (Sydney in October, Berlin in March)', async () => {
    const skipped = await createCode(f, sydney, timed('2030-10-06T01:00', '2030-10-06T02:15'))
    expect(skipped.statusCode).toBe(400)
    expect(skipped.json().detail).toBe(
      '2030-10-06T02:15 does not happen in Australia/Sydney (the clocks skip it): 02:15+10:00 or 02:15+11:00; give the offset',
    )
    expect(skipped.json().errors).toMatchObject([{ field: 'endsAt' }])
    const spring = await createCode(f, berlin, timed('2030-03-31T02:30', '2030-03-31T06:00'))
    expect(spring.statusCode).toBe(400)
    expect(spring.json().detail).toBe(
      '2030-03-31T02:30 does not happen in Europe/Berlin (the clocks skip it): 02:30+01:00 or 02:30+02:00; give the offset',
    )
  })

  it('refuses Berlin’s repeated hour in October, and takes a change in local time', async () => {
    const code = (await createCode(f, berlin, timed('2030-10-26T10:00', '2030-10-26T12:00'))).json()
    const twice = await f.app.inject({
      method: 'PATCH',
      url: `/api/v1/access-codes/${code.id}`,
      headers: f.owner.headers,
      payload: { endsAt: '2030-10-27T02:30' },
    })
    expect(twice.statusCode).toBe(400)
    expect(twice.json().detail).toBe(
      '2030-10-27T02:30 happens twice in Europe/Berlin (the clocks go back): 02:30+02:00 or 02:30+01:00; give the offset',
    )
    const moved = await f.app.inject({
      method: 'PATCH',
      url: `/api/v1/access-codes/${code.id}`,
      headers: f.owner.headers,
      payload: { endsAt: '2030-10-27T04:00' },
    })
    expect(moved.statusCode).toBe(200)
    expect([moved.json().endsAt, moved.json().endsAtLocal]).toEqual([
      '2030-10-27T03:00:00.000Z',
      '2030-10-27T04:00+01:00',
    ])
  })

  it('refuses what is no time with the formats it takes', async () => {
    for (const bad of ['2030-02-30T10:00', '2030-12-03', '10:00', '2030-12-03T25:00']) {
      const response = await createCode(f, berlin, timed(bad, '2030-12-31T10:00'))
      expect(response.statusCode).toBe(400)
      expect(response.json().code).toBe('validation_failed')
    }
  })

  it('refuses a time before 1970 or past 9999, in a code, a stay and an events filter', async () => {
    // the store keeps no year 0 and none past 9999: each was a 500 before
    for (const [startsAt, endsAt] of [
      ['0000-01-01T00:00:00Z', '2030-12-31T10:00'],
      ['1969-12-31T23:00', '2030-12-31T10:00'],
      ['2030-12-03T10:00', '9999-12-31T23:30-10:00'],
    ]) {
      const response = await createCode(f, berlin, timed(startsAt!, endsAt!))
      expect([response.statusCode, response.json().code]).toEqual([400, 'validation_failed'])
    }
    const call = caller(f.app)
    const property = await call(f.owner, 'POST', '/properties', {
      name: 'Ancient flat',
      timezone: 'Europe/Berlin',
      lockIds: [berlin],
    })
    expect(property.statusCode).toBe(201)
    for (const [checkIn, checkOut] of [
      ['0000-01-01', '2030-02-01'],
      ['2030-01-16T00:00', '9999-12-31T23:30-10:00'],
    ]) {
      const stay = await call(f.owner, 'POST', '/stays', {
        propertyId: property.json().id,
        guestName: 'Guest',
        checkIn,
        checkOut,
      })
      expect([stay.statusCode, stay.json().code]).toEqual([400, 'validation_failed'])
    }
    for (const query of ['from=0000-01-01T00:00:00Z', 'to=0000-01-01T00:00:00Z']) {
      for (const path of ['/events', '/events.csv']) {
        const response = await call(f.owner, 'GET', `${path}?${query}`)
        expect([response.statusCode, response.json().errors[0].message]).toEqual([
          400,
          'must lie between 1970 and 9999',
        ])
      }
    }
  })
})

describe('times of shares', () => {
  it('reads a local window in each lock’s own zone', async () => {
    const call = caller(f.app)
    await enableUniqueCodes(f.app, f.owner)
    const unique = await createUniqueCode(f.app, f.owner, 'Plumber', '2030-06-01T00:00:00Z')
    const response = await call(f.owner, 'POST', '/permissions', {
      lockIds: [sydney, berlin],
      grantee: { type: 'unique_code', uniqueCodeId: unique.id },
      level: 'restricted',
      startsAt: '2030-02-01T10:00',
      endsAt: '2030-02-01T12:00',
    })
    expect(response.statusCode).toBe(201)
    expect(
      response
        .json()
        .items.map((p: Record<string, string>) => [p.lockName, p.startsAt, p.startsAtLocal, p.endsAtLocal]),
    ).toEqual([
      ['Bondi flat', '2030-01-31T23:00:00.000Z', '2030-02-01T10:00+11:00', '2030-02-01T12:00+11:00'],
      ['Mitte flat', '2030-02-01T09:00:00.000Z', '2030-02-01T10:00+01:00', '2030-02-01T12:00+01:00'],
    ])
    // a time skipped in one lock's zone is refused for all of them
    const skipped = await call(f.owner, 'POST', '/permissions', {
      lockIds: [sydney, berlin],
      grantee: { type: 'unique_code', uniqueCodeId: unique.id },
      level: 'restricted',
      startsAt: '2030-03-31T02:30',
      endsAt: '2030-04-01T12:00',
    })
    expect(skipped.statusCode).toBe(400)
    expect(skipped.json().detail).toContain('does not happen in Europe/Berlin')
  })
})
