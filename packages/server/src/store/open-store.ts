/**
 * The store: embedded PGlite in a data directory (default, nothing to install) or a PostgreSQL
 * server (`DATABASE_URL`). Both speak the same drizzle API (`store.db`) over the same schema.
 *
 * PGlite runs one query at a time and holds the process open until `close()`: keep transactions
 * short, batch writes, and always close.
 */
import { mkdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import { LatchkeyError } from '@latchkey/core'
import { sql } from 'drizzle-orm'
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core'
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite'
import { acquireDataDirLock } from './lockfile.ts'
import { migratePgliteStore, migratePostgresStore } from './migrate.ts'
import * as schema from './schema.ts'

export type Schema = typeof schema
/** What `db.execute(sql)` answers on both backends: the rows. */
export interface StoreQueryResultHKT extends PgQueryResultHKT {
  type: QueryRows<this['row']>
}
export interface QueryRows<Row> {
  rows: Row[]
}
/** The drizzle database of either backend (and of a transaction on it). */
export type Db = PgDatabase<StoreQueryResultHKT, Schema>

export interface Store {
  readonly kind: 'pglite' | 'postgres'
  readonly db: Db
  /** Where the embedded database lives (PGlite only). */
  readonly dataDir: string | null
  /** Resolves when the database answers a query (readiness). */
  ping(): Promise<void>
  /** Closes the database (and releases the data directory). Idempotent. */
  close(): Promise<void>
}

export type OpenStoreOptions =
  | { dataDir: string; databaseUrl?: undefined }
  | { databaseUrl: string; dataDir?: undefined; poolSize?: number; onPoolError?: (error: Error) => void }

export async function openStore(options: OpenStoreOptions): Promise<Store> {
  if (options.databaseUrl !== undefined) return openPostgres(options)
  return openPglite(options.dataDir)
}

async function openPglite(dataDir: string): Promise<Store> {
  const dir = resolve(dataDir)
  mkdirSync(dir, { recursive: true })
  const lock = acquireDataDirLock(dir)
  let client: PGlite | undefined
  try {
    client = await PGlite.create({ dataDir: join(dir, 'pglite') })
    await migratePgliteStore(client)
  } catch (cause) {
    await client?.close().catch(() => {})
    lock.release()
    throw new LatchkeyError(
      'service_unavailable',
      `could not open the database in ${dir}: ${message(cause)}`,
      {
        cause,
      },
    )
  }
  const opened = client
  const db = drizzlePglite({ client: opened, schema }) as unknown as Db
  let closing: Promise<void> | undefined
  return {
    kind: 'pglite',
    db,
    dataDir: dir,
    ping: async () => {
      await opened.query('select 1')
    },
    close: () => {
      closing ??= opened.close().finally(() => lock.release())
      return closing
    },
  }
}

async function openPostgres(options: {
  databaseUrl: string
  poolSize?: number
  onPoolError?: (error: Error) => void
}): Promise<Store> {
  // Loaded only for PostgreSQL: a start on the embedded store does not pay for it.
  const [{ default: pg }, { drizzle: drizzleNodePg }] = await Promise.all([
    import('pg'),
    import('drizzle-orm/node-postgres'),
  ])
  const pool = new pg.Pool({ connectionString: options.databaseUrl, max: options.poolSize ?? 10 })
  // An idle client that loses its connection emits on the pool; a client in use (a transaction
  // between two statements) emits on itself, and the pool listens only while it is idle: without a
  // listener of its own, a database restart would end the process.
  pool.on('error', (error) => options.onPoolError?.(error))
  pool.on('connect', (client) => client.on('error', (error) => options.onPoolError?.(error)))
  try {
    await migratePostgresStore(pool)
  } catch (cause) {
    await pool.end().catch(() => {})
    throw new LatchkeyError('service_unavailable', `could not open the database: ${message(cause)}`, {
      cause,
    })
  }
  const db = drizzleNodePg({ client: pool, schema }) as unknown as Db
  let closing: Promise<void> | undefined
  return {
    kind: 'postgres',
    db,
    dataDir: null,
    ping: async () => {
      await db.execute(sql`select 1`)
    },
    close: () => {
      closing ??= pool.end()
      return closing
    },
  }
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
