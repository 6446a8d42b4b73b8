/**
 * The event cursor under concurrent writers, on the real PostgreSQL (a pool: the transactions truly
 * overlap). An event's id is taken when it is inserted, not when its transaction commits: a reader
 * that has seen a later id must still get the earlier one once it commits.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Fixture, setup } from '../reconciler/test-setup.ts'
import { usingTestServices } from '../testing.ts'
import { lastEventId } from './list-events.ts'
import { recordEvent } from './record.ts'

/** A promise and the function that settles it. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open = () => {}
  const wait = new Promise<void>((resolve) => {
    open = resolve
  })
  return { wait, open }
}

describe.skipIf(!usingTestServices())('the event cursor with two overlapping transactions', () => {
  let f: Fixture
  beforeAll(async () => {
    f = await setup({}, { services: true })
  })
  afterAll(() => f?.close())

  const record = (db: Parameters<typeof recordEvent>[0], label: string) =>
    recordEvent(db, {
      organizationId: f.owner.organizationId,
      type: 'lock.online',
      occurredAt: new Date(),
      label,
    })

  /** `GET /events?order=asc&after=` → the labels and the next cursor (the last id handed out). */
  async function read(after: number): Promise<{ labels: string[]; cursor: number }> {
    const response = await f.app.inject({
      method: 'GET',
      url: `/api/v1/events?order=asc&after=${after}&limit=100`,
      headers: f.owner.headers,
    })
    expect(response.statusCode).toBe(200)
    const items: { id: number; data: { label?: string } }[] = response.json().items
    return {
      labels: items.map((e) => e.data.label ?? ''),
      cursor: items.length === 0 ? after : items[items.length - 1]!.id,
    }
  }

  it('never skips an event whose transaction commits after a later id was read', async () => {
    const db = f.t.store.db
    const start = await lastEventId(db, f.owner.organizationId)
    const recorded = gate()
    const release = gate()
    let earlyId = 0
    // the first transaction takes the lower id and stays open
    const first = db.transaction(async (tx) => {
      earlyId = await record(tx, 'early')
      recorded.open()
      await release.wait
    })
    await recorded.wait
    // the second takes a higher id and commits at once
    const lateId = await db.transaction((tx) => record(tx, 'late'))
    expect(lateId).toBeGreaterThan(earlyId)

    // a reader (and a stream that starts now) sees the committed one only once nothing before it can come
    const seen: string[] = []
    const before = await read(start)
    seen.push(...before.labels)
    const streamStart = await lastEventId(db, f.owner.organizationId)

    release.open()
    await first
    const after = await read(before.cursor)
    seen.push(...after.labels)
    expect(seen.sort()).toEqual(['early', 'late'])
    // a stream that started while the first was open gets it too
    expect((await read(streamStart)).labels).toContain('early')
  })

  it('hands out events of finished transactions while another one is still open', async () => {
    const db = f.t.store.db
    const start = await lastEventId(db, f.owner.organizationId)
    await db.transaction((tx) => record(tx, 'done before'))
    const recorded = gate()
    const release = gate()
    const open = db.transaction(async (tx) => {
      await record(tx, 'still open')
      recorded.open()
      await release.wait
    })
    await recorded.wait
    const now = await read(start)
    expect(now.labels).toEqual(['done before'])
    release.open()
    await open
    expect((await read(now.cursor)).labels).toEqual(['still open'])
  })
})
