import { sql } from 'drizzle-orm'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openTestStore, type TestStore, usingTestServices } from '../testing.ts'
import { openStore, type Store } from './open-store.ts'

describe.skipIf(!usingTestServices())('the PostgreSQL store when a connection dies', () => {
  let template: TestStore
  beforeAll(async () => {
    template = await openTestStore({ services: true })
  })
  afterAll(() => template.close())

  it('a connection lost in the middle of a transaction fails that transaction, is reported, and the process goes on', async () => {
    const lost: Error[] = []
    const store: Store = await openStore({
      databaseUrl: template.databaseUrl!,
      poolSize: 2,
      onPoolError: (error) => lost.push(error),
    })
    const admin = new pg.Client({ connectionString: template.databaseUrl! })
    await admin.connect()
    try {
      const transaction = store.db.transaction(async (tx) => {
        const { rows } = await tx.execute<{ pid: number }>(sql`select pg_backend_pid() as pid`)
        // as a database restart would: the server ends this connection between two statements
        await admin.query('select pg_terminate_backend($1)', [rows[0]!.pid])
        await new Promise((resolve) => setTimeout(resolve, 300))
        await tx.execute(sql`select 1`)
      })
      await expect(transaction).rejects.toThrow()
      expect(lost.length).toBeGreaterThan(0)
      await store.ping()
    } finally {
      await admin.end()
      await store.close()
    }
  })
})
