import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { isLatchkeyError, LatchkeyError } from '@latchkey/core'
import { sql } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { appendEvents } from '../events/index.ts'
import { makeTestDataDir, openTestStore, type TestStore } from '../testing.ts'
import { acquireDataDirLock } from './lockfile.ts'
import { MIGRATIONS_FOLDER } from './migrate.ts'
import { openStore } from './open-store.ts'
import { events, organizations } from './schema.ts'

/** Every migration drizzle-kit generated (drizzle/meta/_journal.json): each one is applied once. */
const journalEntries = (): number =>
  (
    JSON.parse(readFileSync(join(MIGRATIONS_FOLDER, 'meta', '_journal.json'), 'utf8')) as {
      entries: unknown[]
    }
  ).entries.length

const EXPECTED_TABLES = [
  'access_codes',
  'api_keys',
  'events',
  'gateways',
  'locks',
  'login_attempts',
  'memberships',
  'organizations',
  'sessions',
  'users',
]

/** A pid that was alive a moment ago and is not any more. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', ''])
  if (child.pid === undefined) throw new Error('could not spawn')
  return child.pid
}

describe('data directory lock', () => {
  let dir: string
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'latchkey-lock-'))
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('writes our pid, refuses a second owner with the holder in the message, and removes itself on release', () => {
    const lock = acquireDataDirLock(dir)
    expect(readFileSync(join(dir, 'LOCK'), 'utf8')).toBe(`${process.pid}\n`)
    let refused: unknown
    try {
      acquireDataDirLock(dir)
    } catch (error) {
      refused = error
    }
    expect(isLatchkeyError(refused, 'service_unavailable')).toBe(true)
    expect((refused as LatchkeyError).message).toBe(
      `data directory ${dir} is in use by process ${process.pid}`,
    )
    lock.release()
    expect(existsSync(join(dir, 'LOCK'))).toBe(false)
  })

  it('refuses a directory held by another live process', () => {
    writeFileSync(join(dir, 'LOCK'), `${process.ppid}\n`)
    expect(() => acquireDataDirLock(dir)).toThrow(
      new LatchkeyError('service_unavailable', `data directory ${dir} is in use by process ${process.ppid}`),
    )
    expect(readFileSync(join(dir, 'LOCK'), 'utf8')).toBe(`${process.ppid}\n`)
    rmSync(join(dir, 'LOCK'))
  })

  it('takes over a stale lock whose process is gone', () => {
    writeFileSync(join(dir, 'LOCK'), `${deadPid()}\n`)
    const lock = acquireDataDirLock(dir)
    expect(readFileSync(join(dir, 'LOCK'), 'utf8')).toBe(`${process.pid}\n`)
    lock.release()
  })

  it('takes over a lock file without a pid', () => {
    writeFileSync(join(dir, 'LOCK'), '')
    const lock = acquireDataDirLock(dir)
    expect(readFileSync(join(dir, 'LOCK'), 'utf8')).toBe(`${process.pid}\n`)
    lock.release()
  })
})

describe('PGlite store', () => {
  it('refuses a second open of the same data directory while the first is open, and reopens after close', async () => {
    const dir = await makeTestDataDir()
    try {
      const first = await openStore({ dataDir: dir })
      await expect(openStore({ dataDir: dir })).rejects.toThrow(
        `data directory ${dir} is in use by process ${process.pid}`,
      )
      await first.db.insert(organizations).values({ name: 'Harbour Flats', createdAt: new Date(0) })
      await first.close()
      expect(existsSync(join(dir, 'LOCK'))).toBe(false)

      const second = await openStore({ dataDir: dir })
      const rows = await second.db.select({ name: organizations.name }).from(organizations)
      expect(rows).toEqual([{ name: 'Harbour Flats' }])
      await second.close()
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('migrated store', () => {
  let store: TestStore
  beforeAll(async () => {
    store = await openTestStore()
  })
  afterAll(() => store.close())

  it('has every table and a recorded migration', async () => {
    const tables = await store.db.execute<{ table_name: string }>(
      sql`select table_name from information_schema.tables where table_schema = 'public' order by table_name`,
    )
    // later migrations add tables of their own
    expect(tables.rows.map((row) => row.table_name)).toEqual(expect.arrayContaining(EXPECTED_TABLES))
    const applied = await store.db.execute<{ n: number }>(
      sql`select count(*)::int as n from drizzle.__drizzle_migrations`,
    )
    expect(applied.rows[0]?.n).toBe(journalEntries())
    await store.ping()
  })

  it('stores an event from a lock once even when the batch arrives twice', async () => {
    const [org] = await store.db
      .insert(organizations)
      .values({ name: 'Dedupe', createdAt: new Date(0) })
      .returning()
    const lockId = '7f2d7f0e-1d59-4e0b-9d55-1f1e1f1e1f1e'
    await store.db.execute(
      sql`insert into locks (id, organization_id, name, timezone, model, capacity, ledger_capacity, event_capacity, secret_encrypted, created_at, updated_at)
          values (${lockId}, ${org!.id}, 'Front door', 'UTC', 'LK-100', 250, 64, 500, 'x', now(), now())`,
    )
    const batch = [1, 2].map((seq) => ({
      organizationId: org!.id,
      lockId,
      type: 'lock.unlocked',
      data: { seq },
      occurredAt: new Date(seq * 1000),
      recordedAt: new Date(5000),
      lockSeq: seq,
    }))
    const first = await appendEvents(store.db, batch)
    const again = await appendEvents(store.db, [...batch, { ...batch[1]!, lockSeq: 3, data: { seq: 3 } }])
    expect(first).toHaveLength(2)
    expect(again).toHaveLength(1)
    const stored = await store.db.select({ lockSeq: events.lockSeq }).from(events).orderBy(events.id)
    expect(stored).toEqual([{ lockSeq: 1 }, { lockSeq: 2 }, { lockSeq: 3 }])
    // server-side events (no lockSeq) are never deduplicated
    await appendEvents(store.db, [
      {
        organizationId: org!.id,
        type: 'access_code.created',
        occurredAt: new Date(1),
        recordedAt: new Date(1),
      },
      {
        organizationId: org!.id,
        type: 'access_code.created',
        occurredAt: new Date(1),
        recordedAt: new Date(1),
      },
    ])
    const created = await store.db.execute<{ n: number }>(
      sql`select count(*)::int as n from events where type = 'access_code.created'`,
    )
    expect(created.rows[0]?.n).toBe(2)
  })
})
