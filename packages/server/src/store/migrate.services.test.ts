import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { sql } from 'drizzle-orm'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openTestStore, type TestStore, usingTestServices } from '../testing.ts'
import { MIGRATIONS_FOLDER } from './migrate.ts'
import { openStore } from './open-store.ts'

describe.skipIf(!usingTestServices())('migrations on the PostgreSQL server', () => {
  let store: TestStore
  beforeAll(async () => {
    store = await openTestStore({ services: true })
  })
  afterAll(() => store.close())

  it('creates every table in a fresh database', async () => {
    expect(store.kind).toBe('postgres')
    const tables = await store.db.execute<{ table_name: string }>(
      sql`select table_name from information_schema.tables where table_schema = 'public' order by table_name`,
    )
    expect(tables.rows.map((row) => row.table_name)).toEqual(
      expect.arrayContaining([
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
      ]),
    )
  })

  it('applies each migration once when several processes start at the same time', async () => {
    const url = store.databaseUrl!
    const opened = await Promise.all([1, 2, 3].map(() => openStore({ databaseUrl: url, poolSize: 2 })))
    await Promise.all(opened.map((other) => other.close()))
    const client = new pg.Client({ connectionString: url })
    await client.connect()
    try {
      const applied = await client.query(
        'select hash, count(*)::int as n from drizzle.__drizzle_migrations group by hash',
      )
      const journal = JSON.parse(readFileSync(join(MIGRATIONS_FOLDER, 'meta', '_journal.json'), 'utf8'))
      expect(applied.rows.length).toBe((journal as { entries: unknown[] }).entries.length)
      expect(applied.rows.every((row: { n: number }) => row.n === 1)).toBe(true)
    } finally {
      await client.end()
    }
  })
})
