/**
 * Properties, stays and booking calendars end to end (SPEC §11): the server with its reconciler and
 * properties scheduler, a `latchkey sim` process with two real simulated locks, and booking feeds
 * in the shapes Airbnb, Vrbo and Booking.com export, served over HTTP on loopback by a real server
 * of the test. The server runs on a SimulatedClock moved together with the locks' clocks.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SimulatedClock } from '@latchkey/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type ApiClient,
  type Body,
  eventually,
  type SimProcess,
  startSim,
  startTestServer,
  type TestServer,
} from './harness.ts'

const MINUTE = 60_000
const HOUR = 60 * MINUTE
const ZONE = 'Europe/Berlin'

let clock: SimulatedClock
let test: TestServer
let owner: ApiClient
let sim: SimProcess
let stateDir: string
let feeds: Server
let feedUrl: string
let frontDoor: string
let entrance: string
let propertyId: string
/** What each feed path answers: [status, body]. */
const served = new Map<string, [number, string]>()

const airbnbEvent = (uid: string, start: string, end: string, last4 = '4821') =>
  [
    'BEGIN:VEVENT',
    `DTSTAMP:20270101T000000Z`,
    `DTSTART;VALUE=DATE:${start.replaceAll('-', '')}`,
    `DTEND;VALUE=DATE:${end.replaceAll('-', '')}`,
    'SUMMARY:Reserved',
    `UID:${uid}`,
    `DESCRIPTION:Reservation URL: https://www.airbnb.com/hosting/reservations/details/HM${uid.slice(0, 6).toUpperCase()}\\nPhone Number (Last 4 Digits): ${last4}`,
    'END:VEVENT',
  ].join('\r\n')
const block = (uid: string, summary: string, start: string, end: string) =>
  [
    'BEGIN:VEVENT',
    `DTSTART;VALUE=DATE:${start.replaceAll('-', '')}`,
    `DTEND;VALUE=DATE:${end.replaceAll('-', '')}`,
    `SUMMARY:${summary}`,
    `UID:${uid}`,
    'END:VEVENT',
  ].join('\r\n')
const vrboEvent = (uid: string, start: string, end: string) =>
  [
    'BEGIN:VEVENT',
    `DTSTART;VALUE=DATE:${start.replaceAll('-', '')}`,
    `DTEND;VALUE=DATE:${end.replaceAll('-', '')}`,
    'SUMMARY:Reserved - Maria Lopez',
    `UID:${uid}`,
    'END:VEVENT',
  ].join('\r\n')
const calendar = (prodid: string, events: string[]) =>
  [
    'BEGIN:VCALENDAR',
    'VERSION:2.0',
    `PRODID:${prodid}`,
    'CALSCALE:GREGORIAN',
    ...events,
    'END:VCALENDAR',
    '',
  ].join('\r\n')

async function advance(ms: number): Promise<void> {
  clock.advance(ms)
  for (const id of [frontDoor, entrance])
    await sim.api.expect(200, 'POST', `/sim/locks/${id}/clock`, { advanceMs: ms })
}
const advanceTo = (ms: number) => advance(ms - clock.now())
const keypad = (lockId: string, digits: string) =>
  sim.api.expect<{ result: string; reason?: string }>(200, 'POST', `/sim/locks/${lockId}/keypad`, { digits })
const getStay = (id: string) => owner.expect(200, 'GET', `/api/v1/stays/${id}`)
const staysOf = async (calendarId: string): Promise<Body[]> =>
  (await owner.expect(200, 'GET', `/api/v1/stays?propertyId=${propertyId}`)).items.filter(
    (s: Body) => s.calendarId === calendarId,
  )
const tableOf = async (lockId: string): Promise<string[]> =>
  ((await sim.api.expect(200, 'GET', `/sim/locks/${lockId}`)).codes as { codeId: string }[]).map(
    (c) => c.codeId,
  )

function waitAllSet(stayId: string): Promise<Body> {
  return eventually(`stay ${stayId} set on both locks`, async () => {
    const stay = await getStay(stayId)
    return stay.locks.length === 2 && stay.locks.every((l: Body) => l.status === 'set') ? stay : null
  })
}

async function addLock(name: string, gatewayId: string): Promise<string> {
  const lock = await owner.expect(201, 'POST', '/api/v1/locks', { name, timezone: ZONE, gatewayId })
  await sim.api.expect(201, 'POST', '/sim/locks', { bundle: lock.bundle })
  await eventually(`${name} online`, async () => {
    const body = await owner.expect(200, 'GET', `/api/v1/locks/${lock.id}`)
    return body.online && body.clockSet
  })
  return lock.id
}

beforeAll(async () => {
  feeds = createServer((req, res) => {
    const [status, body] = served.get(req.url ?? '') ?? [404, 'not found']
    res.writeHead(status, { 'content-type': 'text/calendar' }).end(body)
  })
  await new Promise<void>((resolve) => feeds.listen(0, '127.0.0.1', resolve))
  feedUrl = `http://127.0.0.1:${(feeds.address() as AddressInfo).port}`
  // 26 March 2027: Berlin moves its clocks forward in the night of the 28th
  clock = new SimulatedClock()
  clock.advance(Date.parse('2027-03-20T08:00:00Z') - clock.now())
  test = await startTestServer({ clock, env: { LATCHKEY_WEBHOOK_ALLOW_PRIVATE: '1' } })
  ;({ api: owner } = await test.signup())
  const gateway = await owner.expect(201, 'POST', '/api/v1/gateways', { name: 'Hallway' })
  stateDir = mkdtempSync(join(tmpdir(), 'latchkey-e2e-stays-'))
  sim = await startSim({
    serverUrl: test.url,
    gatewayId: gateway.id,
    gatewayToken: gateway.mqtt.password,
    stateDir,
  })
  frontDoor = await addLock('Flat 3 door', gateway.id)
  entrance = await addLock('Street entrance', gateway.id)
  const property = await owner.expect(201, 'POST', '/api/v1/properties', {
    name: 'Canal flat',
    timezone: ZONE,
    lockIds: [frontDoor, entrance],
    checkInTime: '15:00',
    checkOutTime: '10:00',
    codeStrategy: 'phone_last4',
  })
  propertyId = property.id
})

afterAll(async () => {
  await sim?.stop()
  await test?.close()
  await new Promise((resolve) => feeds?.close(resolve))
  if (stateDir) rmSync(stateDir, { recursive: true, force: true })
})

describe('an Airbnb calendar', () => {
  let calendarId: string
  let stayId: string
  let pin: string

  it('makes a stay for the reservation and none for the block, with the phone’s last 4 digits as the PIN on both locks', async () => {
    served.set('/airbnb.ics', [
      200,
      calendar('-//Airbnb Inc//Hosting Calendar 1.0//EN', [
        airbnbEvent('1418fb94e984-8a1b@airbnb.com', '2027-03-27', '2027-03-30'),
        block('airbnb-block-1@airbnb.com', 'Airbnb (Not available)', '2027-04-02', '2027-04-05'),
      ]),
    ])
    const created = await owner.expect(201, 'POST', `/api/v1/properties/${propertyId}/calendars`, {
      url: `${feedUrl}/airbnb.ics`,
      name: 'Airbnb',
    })
    calendarId = created.id
    expect([created.lastError, created.lastSyncedAt]).toEqual([
      null,
      expect.stringMatching(/^2027-03-20T08:/),
    ])
    const found = await staysOf(calendarId)
    expect(
      found.map((s) => [s.externalUid, s.checkInAtLocal, s.checkOutAtLocal, s.code, s.codeSource, s.status]),
    ).toEqual([
      [
        '1418fb94e984-8a1b@airbnb.com',
        '2027-03-27T15:00+01:00',
        '2027-03-30T10:00+02:00',
        '4821',
        'phone_last4',
        'upcoming',
      ],
    ])
    stayId = found[0].id
    pin = found[0].code
    // a day before check-in is still ahead: not on the locks yet
    expect(found[0].locks.map((l: Body) => l.status)).toEqual(['scheduled', 'scheduled'])
  })

  it('is on both locks a day ahead, opens both from 15:00 on check-in day until 10:00 on check-out day (across the DST change), and neither outside', async () => {
    await advanceTo(Date.parse('2027-03-27T13:00:00Z')) // 14:00 in Berlin
    const stay = await waitAllSet(stayId)
    expect(stay.locks.map((l: Body) => l.lockId).sort()).toEqual([frontDoor, entrance].sort())
    expect(await keypad(frontDoor, pin)).toEqual({ result: 'denied', reason: 'outside_schedule' })
    expect(await keypad(entrance, pin)).toEqual({ result: 'denied', reason: 'outside_schedule' })
    await advanceTo(Date.parse('2027-03-27T14:05:00Z')) // 15:05 CET
    expect(await keypad(frontDoor, pin)).toEqual({ result: 'unlocked' })
    expect(await keypad(entrance, pin)).toEqual({ result: 'unlocked' })
    expect((await getStay(stayId)).status).toBe('active')
    await advanceTo(Date.parse('2027-03-30T07:50:00Z')) // 09:50 CEST, after the change
    expect(await keypad(frontDoor, pin)).toEqual({ result: 'unlocked' })
    await advanceTo(Date.parse('2027-03-30T08:10:00Z')) // 10:10 CEST
    for (const lock of [frontDoor, entrance]) expect((await keypad(lock, pin)).result).toBe('denied')
    expect((await getStay(stayId)).status).toBe('ended')
  })
})

describe('a Vrbo calendar whose reservations move and go', () => {
  let calendarId: string
  let stayId: string
  const path = '/vrbo.ics'
  const feed = (events: string[]) => served.set(path, [200, calendar('-//HomeAway.com, Inc.//EN', events)])

  it('moves the code on both locks when the dates change, and removes it from both when the event is gone', async () => {
    feed([vrboEvent('vrbo-77@vrbo.com', '2027-04-10', '2027-04-12')])
    const created = await owner.expect(201, 'POST', `/api/v1/properties/${propertyId}/calendars`, {
      url: `${feedUrl}${path}`,
      name: 'Vrbo',
    })
    calendarId = created.id
    const [stay] = await staysOf(calendarId)
    stayId = stay.id
    expect([stay.guestName, stay.codeSource, stay.code]).toEqual([
      'Maria Lopez',
      'random',
      expect.stringMatching(/^\d{6}$/),
    ])
    expect(stay.warnings.map((w: Body) => w.code)).toEqual(['code_strategy_not_applied'])

    feed([vrboEvent('vrbo-77@vrbo.com', '2027-04-11', '2027-04-13')])
    await owner.expect(200, 'POST', `/api/v1/calendars/${calendarId}/sync`)
    const moved = await getStay(stayId)
    expect([moved.checkInAtLocal, moved.checkOutAtLocal, moved.code]).toEqual([
      '2027-04-11T15:00+02:00',
      '2027-04-13T10:00+02:00',
      stay.code,
    ])
    await advanceTo(Date.parse('2027-04-10T14:00:00Z')) // the old check-in, 16:00 CEST: not yet
    await waitAllSet(stayId)
    for (const lock of [frontDoor, entrance])
      expect(await keypad(lock, stay.code)).toEqual({ result: 'denied', reason: 'outside_schedule' })
    await advanceTo(Date.parse('2027-04-11T13:05:00Z')) // 15:05 CEST on the new day
    for (const lock of [frontDoor, entrance])
      expect(await keypad(lock, stay.code)).toEqual({ result: 'unlocked' })

    feed([])
    await owner.expect(200, 'POST', `/api/v1/calendars/${calendarId}/sync`)
    expect((await getStay(stayId)).status).toBe('cancelled')
    const codeIds = moved.locks.map((l: Body) => l.accessCodeId)
    await eventually('the code off both locks', async () => {
      const tables = [...(await tableOf(frontDoor)), ...(await tableOf(entrance))]
      return codeIds.every((id: string) => !tables.includes(id))
    })
    // the cancelled stay still says, lock by lock, that its code came off
    await eventually('the stay says removed on both locks', async () => {
      const cancelled = await getStay(stayId)
      return cancelled.locks.length === 2 && cancelled.locks.every((l: Body) => l.status === 'removed')
    })
    expect((await getStay(stayId)).locks.map((l: Body) => l.accessCodeId)).toEqual(codeIds)
    for (const lock of [frontDoor, entrance])
      expect(await keypad(lock, stay.code)).toEqual({ result: 'denied', reason: 'unknown_code' })
  })

  it('changes nothing when the feed answers 500 or garbage, and says so on the calendar', async () => {
    feed([vrboEvent('vrbo-88@vrbo.com', '2027-04-20', '2027-04-22')])
    const synced = await owner.expect(200, 'POST', `/api/v1/calendars/${calendarId}/sync`)
    expect(synced.lastError).toBe(null)
    const before = (await staysOf(calendarId)).filter((s) => s.status !== 'cancelled')
    expect(before).toHaveLength(1)

    served.set(path, [500, 'Internal Server Error'])
    const failed = await owner.expect(200, 'POST', `/api/v1/calendars/${calendarId}/sync`)
    expect([failed.lastError, failed.lastSyncedAt]).toEqual([
      expect.stringContaining('HTTP 500'),
      synced.lastSyncedAt,
    ])
    served.set(path, [200, '<html><body>Sign in to continue</body></html>'])
    const garbage = await owner.expect(200, 'POST', `/api/v1/calendars/${calendarId}/sync`)
    expect(garbage.lastError).toContain('not an iCalendar feed')
    const after = (await staysOf(calendarId)).filter((s) => s.status !== 'cancelled')
    expect(after.map((s) => [s.id, s.status, s.checkIn])).toEqual(
      before.map((s) => [s.id, s.status, s.checkIn]),
    )
  })
})

describe('a Booking.com calendar', () => {
  it('makes no stay for “CLOSED - Not available”', async () => {
    served.set('/booking.ics', [
      200,
      calendar('-//Booking.com//EN', [
        block('bdc-1@booking.com', 'CLOSED - Not available', '2027-05-01', '2027-05-03'),
      ]),
    ])
    const created = await owner.expect(201, 'POST', `/api/v1/properties/${propertyId}/calendars`, {
      url: `${feedUrl}/booking.ics`,
      name: 'Booking.com',
    })
    expect(created.lastError).toBe(null)
    expect(await staysOf(created.id)).toEqual([])
  })
})

describe('stays side by side', () => {
  it('never share a PIN, and phone_last4 falls back to random when the digits are taken', async () => {
    const make = (guestName: string) =>
      owner.expect(201, 'POST', '/api/v1/stays', {
        propertyId,
        guestName,
        checkIn: '2027-06-01',
        checkOut: '2027-06-04',
        phone: '+49 170 555 7391',
      })
    const results = await Promise.all([make('A'), make('B'), make('C')])
    const pins = results.map((s) => s.code)
    expect(new Set(pins).size).toBe(3)
    expect(results.filter((s) => s.codeSource === 'phone_last4').map((s) => s.code)).toEqual(['7391'])
    const fallback = results.filter((s) => s.codeSource === 'random')
    expect(fallback.map((s) => s.warnings[0].code)).toEqual([
      'code_strategy_not_applied',
      'code_strategy_not_applied',
    ])
    const message = await owner.expect(200, 'GET', `/api/v1/stays/${results[0].id}/message`)
    expect(message.text).toContain(results[0].code)
    expect(message.text).toContain('Tue 1 Jun 2027, 15:00 (Europe/Berlin)')
  })

  it('a gateway offline before check-in: code_not_confirmed, and a backup code that opens both doors offline', async () => {
    await sim.api.expect(200, 'POST', '/sim/gateway/link', { online: false })
    await eventually('the locks unreachable', async () => {
      const body = await owner.expect(200, 'GET', `/api/v1/locks/${frontDoor}`)
      return body.online === false
    })
    const checkIn = new Date(clock.now() + 3 * HOUR).toISOString()
    const checkOut = new Date(clock.now() + 27 * HOUR).toISOString()
    const stay = await owner.expect(201, 'POST', '/api/v1/stays', {
      propertyId,
      guestName: 'Offline guest',
      checkIn,
      checkOut,
    })
    const warned = await eventually('code_not_confirmed', async () => {
      const body = await getStay(stay.id)
      return body.warnings.some((w: Body) => w.code === 'code_not_confirmed') ? body : null
    })
    expect(warned.warnings.find((w: Body) => w.code === 'code_not_confirmed').message).toContain(
      'Flat 3 door',
    )
    const events = await owner.expect(200, 'GET', '/api/v1/events?type=stay.code_not_confirmed')
    expect(events.items.map((e: Body) => e.data.stayId)).toEqual([stay.id])

    const backed = await owner.expect(200, 'POST', `/api/v1/stays/${stay.id}/backup-code`)
    expect(backed.backupCodes.map((b: Body) => [b.status, b.code.length])).toEqual([
      ['issued', 10],
      ['issued', 10],
    ])
    await advance(3 * HOUR + 5 * MINUTE)
    for (const backup of backed.backupCodes)
      expect(await keypad(backup.lockId, backup.code)).toEqual({ result: 'unlocked' })
  })
})
