import { randomUUID } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import { sql } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { recordEvent } from '../events/index.ts'
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
let lockA: string
let lockB: string
const codeId = randomUUID()

const get = (account: TestAccount, url: string) =>
  t.app.inject({ method: 'GET', url, headers: account.headers })
const ids = (body: { items: Array<{ data: { n?: number } }> }) => body.items.map((e) => e.data.n)

beforeAll(async () => {
  t = await buildTestApp()
  owner = await signupOwner(t.app)
  other = await signupOwner(t.app)
  const create = async (account: TestAccount, name: string) =>
    (
      await t.app.inject({
        method: 'POST',
        url: '/api/v1/locks',
        headers: account.headers,
        payload: { name, timezone: 'UTC' },
      })
    ).json().id as string
  lockA = await create(owner, 'Front door')
  lockB = await create(owner, 'Back door')
  const theirs = await create(other, 'Their door')
  // ten events of the owner's organization, numbered n = 1..10, and some of the other one
  for (let n = 1; n <= 10; n++) {
    await recordEvent(t.store.db, {
      organizationId: owner.organizationId,
      type: n % 2 === 0 ? 'lock.unlocked' : 'lock.access_denied',
      occurredAt: new Date(TEST_EPOCH + n * 1000),
      lockId: n <= 6 ? lockA : lockB,
      accessCodeId: n === 3 || n === 4 ? codeId : null,
      label: n === 3 || n === 4 ? '=Cleaner, "Tuesday"' : null,
      data: {
        n,
        lockName: n <= 6 ? 'Front door' : 'Back door',
        method: 'keypad',
        ...(n % 2 === 1 ? { reason: 'unknown_code' } : {}),
      },
    })
  }
  await recordEvent(t.store.db, {
    organizationId: other.organizationId,
    type: 'lock.unlocked',
    occurredAt: new Date(TEST_EPOCH),
    lockId: theirs,
    data: { n: 99 },
  })
})
afterAll(() => t.close())

describe('GET /events', () => {
  it('lists the organization’s events newest first, by pages', async () => {
    const first = (await get(owner, '/api/v1/events?type=lock.unlocked,lock.access_denied&limit=4')).json()
    expect(ids(first)).toEqual([10, 9, 8, 7])
    expect(first.nextCursor).toEqual(expect.any(String))
    const second = (
      await get(
        owner,
        `/api/v1/events?type=lock.unlocked,lock.access_denied&limit=4&after=${first.nextCursor}`,
      )
    ).json()
    expect(ids(second)).toEqual([6, 5, 4, 3])
    const third = (
      await get(
        owner,
        `/api/v1/events?type=lock.unlocked,lock.access_denied&limit=4&after=${second.nextCursor}`,
      )
    ).json()
    expect(ids(third)).toEqual([2, 1])
    expect(third.nextCursor).toBeUndefined()
  })

  it('answers each event with its fields', async () => {
    const [event] = (await get(owner, `/api/v1/events?accessCodeId=${codeId}&limit=1`)).json().items
    expect(event).toEqual({
      id: expect.stringMatching(/^\d+$/),
      type: 'lock.unlocked',
      lockId: lockA,
      accessCodeId: codeId,
      uniqueCodeId: null,
      gatewayId: null,
      actorUserId: null,
      data: { n: 4, lockName: 'Front door', method: 'keypad', label: '=Cleaner, "Tuesday"' },
      occurredAt: new Date(TEST_EPOCH + 4000).toISOString(),
      recordedAt: new Date(TEST_EPOCH + 4000).toISOString(),
    })
  })

  it('filters by lock, code and type, oldest first on request', async () => {
    expect(
      ids((await get(owner, `/api/v1/events?lockId=${lockB}&type=lock.unlocked,lock.access_denied`)).json()),
    ).toEqual([10, 9, 8, 7])
    expect(ids((await get(owner, `/api/v1/events?accessCodeId=${codeId}&order=asc`)).json())).toEqual([3, 4])
    expect(
      ids((await get(owner, `/api/v1/events?lockId=${lockA}&type=lock.unlocked&order=asc`)).json()),
    ).toEqual([2, 4, 6])
    expect((await get(owner, '/api/v1/events?lockId=not-a-lock')).json()).toEqual({ items: [] })
    const bad = await get(owner, '/api/v1/events?limit=0')
    expect(bad.statusCode).toBe(400)
    expect(bad.json().code).toBe('validation_failed')
  })

  it('shows nothing of another organization, even by its lock id', async () => {
    const theirs = (await get(other, '/api/v1/events?type=lock.unlocked')).json()
    expect(ids(theirs)).toEqual([99])
    expect((await get(other, `/api/v1/events?lockId=${lockA}`)).json()).toEqual({ items: [] })
    const member = await addMemberAndLogin(t.app, owner, 'member')
    expect(ids((await get(member, '/api/v1/events?type=lock.unlocked&limit=2')).json())).toEqual([10, 8])
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/events' })).statusCode).toBe(401)
  })
})

describe('GET /events.csv', () => {
  it('downloads the filtered log as CSV, quoting and defusing formulas', async () => {
    const response = await get(owner, `/api/v1/events.csv?accessCodeId=${codeId}`)
    expect(response.statusCode).toBe(200)
    expect(response.headers['content-type']).toBe('text/csv; charset=utf-8')
    expect(response.headers['content-disposition']).toBe('attachment; filename="latchkey-events.csv"')
    const lines = response.body.split('\r\n')
    expect(lines[0]).toBe(
      'id,occurredAt,recordedAt,type,lockId,lockName,accessCodeId,label,uniqueCodeId,gatewayId,actorUserId,method,reason,data',
    )
    expect(lines).toHaveLength(4)
    const fields = lines[1]!.split(',')
    expect(fields.slice(1, 8)).toEqual([
      new Date(TEST_EPOCH + 4000).toISOString(),
      new Date(TEST_EPOCH + 4000).toISOString(),
      'lock.unlocked',
      lockA,
      'Front door',
      codeId,
      `"'=Cleaner`,
    ])
    expect(lines[1]).toContain(`"'=Cleaner, ""Tuesday"""`)
    expect(lines[2]).toContain('lock.access_denied')
    expect(lines[2]).toContain(',keypad,unknown_code,')
    expect(lines[3]).toBe('')
    const theirs = await get(other, `/api/v1/events.csv?lockId=${lockA}`)
    expect(theirs.body.split('\r\n')).toHaveLength(2)
  })
})

describe('GET /events/stream', () => {
  it('sends events recorded after it opened, and resumes after Last-Event-ID', async () => {
    const url = await t.app.listen({ port: 0, host: '127.0.0.1' })
    const abort = new AbortController()
    try {
      const response = await fetch(`${url}/api/v1/events/stream?type=lock.unlocked`, {
        headers: owner.headers,
        signal: abort.signal,
      })
      expect(response.status).toBe(200)
      expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8')
      for (const n of [11, 12]) {
        await recordEvent(t.store.db, {
          organizationId: owner.organizationId,
          type: n === 11 ? 'lock.access_denied' : 'lock.unlocked',
          occurredAt: new Date(TEST_EPOCH + n * 1000),
          lockId: lockA,
          data: { n },
        })
      }
      await recordEvent(t.store.db, {
        organizationId: other.organizationId,
        type: 'lock.unlocked',
        occurredAt: new Date(TEST_EPOCH),
        data: { n: 100 },
      })
      const reader = response.body!.getReader()
      let text = ''
      for (let i = 0; i < 50 && !text.includes('"n":12'); i++) {
        const { value, done } = await reader.read()
        if (done) break
        text += new TextDecoder().decode(value)
      }
      const messages = text
        .split('\n\n')
        .filter((m) => m.startsWith('id: '))
        .map((m) => JSON.parse(m.split('\n')[1]!.slice('data: '.length)))
      expect(messages.map((m) => m.data.n)).toEqual([12])
      abort.abort()

      // resuming after the first unlocked event replays the ones after it
      const resumed = await fetch(`${url}/api/v1/events/stream?type=lock.unlocked`, {
        headers: {
          ...owner.headers,
          'last-event-id': (await get(owner, `/api/v1/events?accessCodeId=${codeId}&limit=1`)).json().items[0]
            .id,
        },
        signal: AbortSignal.timeout(10_000),
      })
      const resumedReader = resumed.body!.getReader()
      let replay = ''
      for (let i = 0; i < 50 && !replay.includes('"n":12'); i++) {
        const { value, done } = await resumedReader.read()
        if (done) break
        replay += new TextDecoder().decode(value)
      }
      await resumedReader.cancel()
      expect(
        replay
          .split('\n\n')
          .filter((m) => m.startsWith('id: '))
          .map((m) => JSON.parse(m.split('\n')[1]!.slice('data: '.length)).data.n),
      ).toEqual([6, 8, 10, 12])
    } finally {
      abort.abort()
    }
  })
})

describe('GET /events.csv of any size', () => {
  it('streams every row past the old 100,000-row cap, and narrows by from/to', async () => {
    const big = await signupOwner(t.app)
    const rows = 100_050
    await t.store.db.execute(
      sql`insert into events (organization_id, type, data, occurred_at, recorded_at)
          select ${big.organizationId}::uuid, 'lock.unlocked', jsonb_build_object('n', n, 'label', '-' || n),
                 to_timestamp(${TEST_EPOCH / 1000} + n), to_timestamp(${TEST_EPOCH / 1000} + n)
          from generate_series(1, ${rows}) as n`,
    )
    const response = await get(big, '/api/v1/events.csv')
    expect(response.statusCode).toBe(200)
    const lines = response.body.split('\r\n')
    expect(lines).toHaveLength(rows + 2) // header, the rows, the empty end
    expect(lines[1]).toContain(",'-100050,") // newest first, the label defused as a formula
    expect(lines[rows]).toContain(",'-1,")

    const from = new Date(TEST_EPOCH + 10_000).toISOString()
    const to = new Date(TEST_EPOCH + 20_000).toISOString()
    const window = await get(big, `/api/v1/events.csv?from=${from}&to=${to}`)
    expect(window.body.split('\r\n')).toHaveLength(10 + 2) // n = 10 … 19
    const page = (await get(big, `/api/v1/events?from=${from}&to=${to}&order=asc&limit=500`)).json()
    expect(page.items.map((e: { data: { n: number } }) => e.data.n)).toEqual([
      10, 11, 12, 13, 14, 15, 16, 17, 18, 19,
    ])
  }, 300_000)
})

describe('events of a property', () => {
  let host: TestAccount
  let inFlat: string
  let outside: string
  let flat: string
  let theirFlat: string
  const call = (account: TestAccount, method: 'POST' | 'DELETE', url: string, payload?: object) =>
    t.app.inject({ method, url, headers: account.headers, ...(payload ? { payload } : {}) })

  beforeAll(async () => {
    host = await signupOwner(t.app)
    const lock = async (name: string) =>
      (await call(host, 'POST', '/api/v1/locks', { name, timezone: 'UTC' })).json().id as string
    inFlat = await lock('Flat door')
    outside = await lock('Garage')
    const made = await call(host, 'POST', '/api/v1/properties', {
      name: 'Harbour flat',
      timezone: 'UTC',
      lockIds: [inFlat],
    })
    expect(made.statusCode).toBe(201)
    flat = made.json().id
    const theirLock = (
      await call(other, 'POST', '/api/v1/locks', { name: 'Their flat', timezone: 'UTC' })
    ).json().id
    theirFlat = (
      await call(other, 'POST', '/api/v1/properties', {
        name: 'Their flat',
        timezone: 'UTC',
        lockIds: [theirLock],
      })
    ).json().id
    const event = (n: number, lockId: string | null, data: Record<string, unknown> = {}) =>
      recordEvent(t.store.db, {
        organizationId: host.organizationId,
        type: lockId === null ? 'stay.created' : 'lock.unlocked',
        occurredAt: new Date(TEST_EPOCH + n * 1000),
        lockId,
        data: { n, ...data },
      })
    await event(1, inFlat)
    await event(2, outside)
    await event(3, null, { propertyId: flat, stayId: randomUUID() })
    await event(4, null, { propertyId: randomUUID(), stayId: randomUUID() })
    await event(5, inFlat)
  })

  it('lists the events of its locks and of its stays, and nothing of other locks', async () => {
    const byFlat = (await get(host, `/api/v1/events?propertyId=${flat}`)).json()
    expect(byFlat.items.map((e: { type: string; data: { n?: number } }) => e.data.n ?? e.type)).toEqual([
      5,
      3,
      1,
      'lock.created',
    ])
    expect(
      ids((await get(host, `/api/v1/events?propertyId=${flat}&type=lock.unlocked&order=asc`)).json()),
    ).toEqual([1, 5])
    const csv = (await get(host, `/api/v1/events.csv?propertyId=${flat}`)).body.split('\r\n')
    expect(csv.slice(1, -1).map((line) => line.split(',')[3])).toEqual([
      'lock.unlocked',
      'stay.created',
      'lock.unlocked',
      'lock.created',
    ])
    expect((await get(host, '/api/v1/events?propertyId=not-a-property')).json()).toEqual({ items: [] })
  })

  it('finds nothing by another organization’s property, nor by its own once deleted', async () => {
    expect((await get(host, `/api/v1/events?propertyId=${theirFlat}`)).json()).toEqual({ items: [] })
    expect((await get(other, `/api/v1/events?propertyId=${flat}`)).json()).toEqual({ items: [] })
    expect((await get(other, `/api/v1/events.csv?propertyId=${flat}`)).body.split('\r\n')).toHaveLength(2)
    const gone = await call(host, 'POST', '/api/v1/properties', {
      name: 'Gone',
      timezone: 'UTC',
      lockIds: [outside],
    })
    expect((await call(host, 'DELETE', `/api/v1/properties/${gone.json().id}`)).statusCode).toBe(200)
    expect((await get(host, `/api/v1/events?propertyId=${gone.json().id}`)).json()).toEqual({ items: [] })
  })

  it('streams only the property’s new events', async () => {
    // the stream test above may have opened the listener already
    const url = t.app.server.listening
      ? `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`
      : await t.app.listen({ port: 0, host: '127.0.0.1' })
    const response = await fetch(`${url}/api/v1/events/stream?propertyId=${flat}`, {
      headers: host.headers,
      signal: AbortSignal.timeout(10_000),
    })
    expect(response.status).toBe(200)
    for (const [n, lockId] of [
      [6, outside],
      [7, inFlat],
    ] as const) {
      await recordEvent(t.store.db, {
        organizationId: host.organizationId,
        type: 'lock.unlocked',
        occurredAt: new Date(TEST_EPOCH + n * 1000),
        lockId,
        data: { n },
      })
    }
    const reader = response.body!.getReader()
    let text = ''
    for (let i = 0; i < 50 && !text.includes('"n":7'); i++) {
      const { value, done } = await reader.read()
      if (done) break
      text += new TextDecoder().decode(value)
    }
    await reader.cancel()
    expect(
      text
        .split('\n\n')
        .filter((m) => m.startsWith('id: '))
        .map((m) => JSON.parse(m.split('\n')[1]!.slice('data: '.length)).data.n),
    ).toEqual([7])
  })
})

describe('GET /events.csv when the store fails mid-download', () => {
  it('breaks the download off and keeps serving: the error is logged, not thrown out of the process', async () => {
    const broken = await signupOwner(t.app)
    // more than one page (1,000 rows), so the second page is read after the first bytes are sent
    await t.store.db.execute(
      sql`insert into events (organization_id, type, data, occurred_at, recorded_at)
          select ${broken.organizationId}::uuid, 'lock.unlocked', jsonb_build_object('n', n),
                 to_timestamp(${TEST_EPOCH / 1000} + n), to_timestamp(${TEST_EPOCH / 1000} + n)
          from generate_series(1, 1500) as n`,
    )
    const response = await t.app.inject({
      method: 'GET',
      url: '/api/v1/events.csv',
      headers: broken.headers,
      payloadAsStream: true,
    })
    expect(response.statusCode).toBe(200)
    // the store loses the table before the second page is read
    await t.store.db.execute(sql`alter table events rename to events_away`)
    let text = ''
    let broke = false
    try {
      for await (const chunk of response.stream()) text += String(chunk)
    } catch {
      broke = true
    } finally {
      await t.store.db.execute(sql`alter table events_away rename to events`)
    }
    const lines = text.split('\r\n')
    expect(broke || lines.length < 1_502).toBe(true)
    expect(lines.length).toBeGreaterThan(1)
    expect((await get(broken, '/api/v1/events?limit=1')).statusCode).toBe(200)
  })
})
