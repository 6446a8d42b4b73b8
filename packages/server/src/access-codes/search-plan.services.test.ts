/**
 * The organization's codes (`GET /access-codes`) on PostgreSQL with enough codes that a scan would be
 * the planner's choice: a page by status, with errors, or of every code, is read from an index in the
 * page's order, starting at the cursor (the cursor is an index condition, not a filter over every
 * code before it). The statements are the ones `searchAccessCodes` issues, recorded through drizzle's
 * logger and EXPLAINed with their parameters.
 */
import { sql } from 'drizzle-orm'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Db } from '../store/index.ts'
import {
  buildTestApp,
  openTestStore,
  signupOwner,
  type TestAccount,
  type TestApp,
  usingTestServices,
} from '../testing.ts'
import { encodeCursor, listAccessCodes } from './list-access-codes.ts'
import { searchAccessCodes } from './search-access-codes.ts'

const LOCKS = 400
const CODES_PER_LOCK = 100

interface Statement {
  sql: string
  params: unknown[]
}

/** The statements `fn` issues on `db`. */
async function statementsOf(db: Db, fn: () => Promise<unknown>): Promise<Statement[]> {
  const session = (db as unknown as { session: { logger: unknown; options: { logger?: unknown } } }).session
  const before = { logger: session.logger, options: session.options.logger }
  const seen: Statement[] = []
  const logger = { logQuery: (query: string, params: unknown[]) => seen.push({ sql: query, params }) }
  session.logger = logger
  session.options.logger = logger
  try {
    await fn()
  } finally {
    session.logger = before.logger
    session.options.logger = before.options
  }
  return seen
}

interface PlanNode {
  'Node Type': string
  'Relation Name'?: string
  'Index Name'?: string
  'Index Cond'?: string
  Plans?: PlanNode[]
}

function nodes(plan: PlanNode): PlanNode[] {
  return [plan, ...(plan.Plans ?? []).flatMap(nodes)]
}

describe.skipIf(!usingTestServices())('the organization’s codes at scale, on PostgreSQL', () => {
  let t: TestApp
  let owner: TestAccount
  let client: pg.Client

  async function planOf(statement: Statement): Promise<PlanNode[]> {
    const result = await client.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(
      `explain (format json) ${statement.sql}`,
      statement.params,
    )
    return nodes(result.rows[0]!['QUERY PLAN'][0].Plan)
  }

  /** The plan of the statement on access_codes that `fn` issues. */
  async function codesPlan(fn: () => Promise<unknown>): Promise<PlanNode[]> {
    const statements = await statementsOf(t.store.db, fn)
    const statement = statements.find((s) => /from "access_codes"/.test(s.sql))
    expect(statement).toBeDefined()
    return planOf(statement!)
  }

  beforeAll(async () => {
    const store = await openTestStore({ services: true })
    t = await buildTestApp({ store })
    owner = await signupOwner(t.app)
    // another organization's codes too: the tenant filter has rows to leave out
    const other = await signupOwner(t.app)
    client = new pg.Client({ connectionString: store.databaseUrl! })
    await client.connect()
    for (const org of [owner.organizationId, other.organizationId]) {
      await client.query(
        `insert into locks (id, organization_id, name, timezone, model, capacity, ledger_capacity,
           event_capacity, secret_encrypted, created_at, updated_at)
         select gen_random_uuid(), $1, 'Door ' || n, 'Europe/Berlin', 'LK-100', 250, 64, 500, 'x', now(), now()
         from generate_series(1, $2) n`,
        [org, LOCKS],
      )
      // 1 % failed, 1 % with an error but another status, 10 % deleted and removed, the rest set
      await client.query(
        `insert into access_codes (organization_id, lock_id, name, kind, delivery, pin_encrypted, pin_hash,
           status, errors, created_at, updated_at, deleted_at)
         select $1, l.id, 'Guest ' || c, 'permanent', 'synced', 'x', md5(l.id::text || c),
           case when c % 100 = 0 then 'failed' when c % 10 = 3 then 'removed' else 'set' end,
           case when c % 100 in (0, 1) then '[{"code":"lock_full","message":"full"}]'::jsonb else '[]'::jsonb end,
           timestamptz '2030-01-01' + (c * $2 + row_number() over ()) * interval '1 second', now(),
           case when c % 10 = 3 then now() end
         from (select id from locks where organization_id = $1) l,
              generate_series(1, $2) c`,
        [org, CODES_PER_LOCK],
      )
    }
    await client.query('analyze locks, access_codes')
  })
  afterAll(async () => {
    await client?.end()
    await t?.close()
  })

  const from = async (status: ('failed' | 'errors')[] | undefined) => {
    // a cursor from the middle of the list
    const page = await searchAccessCodes(t.store.db, owner.organizationId, {
      limit: (LOCKS * CODES_PER_LOCK) / 200,
      ...(status === undefined ? {} : { status }),
    })
    expect(page.items.length).toBeGreaterThan(0)
    return encodeCursor(page.items[page.items.length - 1]!)
  }

  it('a page of failed codes comes from the status index, from the cursor on', async () => {
    const cursor = await from(['failed'])
    const plan = await codesPlan(() =>
      searchAccessCodes(t.store.db, owner.organizationId, { limit: 50, status: ['failed'], cursor }),
    )
    const scan = plan.find((n) => n['Relation Name'] === 'access_codes')!
    expect(scan['Index Name']).toBe('access_codes_org_status_created_idx')
    expect(scan['Index Cond']).toMatch(/created_at/)
    expect(plan.some((n) => n['Node Type'] === 'Sort')).toBe(false)
  })

  it('a page of codes with errors comes from the index of codes with errors', async () => {
    const cursor = await from(['errors'])
    const plan = await codesPlan(() =>
      searchAccessCodes(t.store.db, owner.organizationId, { limit: 50, status: ['errors'], cursor }),
    )
    const scan = plan.find((n) => n['Relation Name'] === 'access_codes')!
    expect(scan['Index Name']).toBe('access_codes_org_errors_created_idx')
    expect(scan['Index Cond']).toMatch(/created_at/)
  })

  it('a page of every code comes from the organization’s index in created order, from the cursor on', async () => {
    const cursor = await from(undefined)
    const plan = await codesPlan(() =>
      searchAccessCodes(t.store.db, owner.organizationId, { limit: 50, cursor }),
    )
    const scan = plan.find((n) => n['Relation Name'] === 'access_codes')!
    expect(scan['Index Name']).toBe('access_codes_org_created_idx')
    expect(scan['Index Cond']).toMatch(/created_at/)
    expect(plan.some((n) => n['Node Type'] === 'Sort')).toBe(false)
  })

  it('pages through every failed code once, in order, by the cursor', async () => {
    const seen: string[] = []
    let cursor: string | undefined
    for (let page = 0; page < 100; page++) {
      const got = await searchAccessCodes(t.store.db, owner.organizationId, {
        limit: 97,
        status: ['failed'],
        ...(cursor === undefined ? {} : { cursor }),
      })
      seen.push(...got.items.map((c) => c.id))
      if (got.nextCursor === undefined) break
      cursor = got.nextCursor
    }
    const expected = await client.query<{ id: string }>(
      `select id from access_codes where organization_id = $1 and status = 'failed' order by created_at, id`,
      [owner.organizationId],
    )
    expect(seen).toEqual(expected.rows.map((r) => r.id))
  })

  it('a lock’s page from a cursor reads that lock’s codes only', async () => {
    const [lock] = (
      await t.store.db.execute<{ id: string }>(
        sql`select id from locks where organization_id = ${owner.organizationId} limit 1`,
      )
    ).rows
    const first = await listAccessCodes(t.store.db, owner.organizationId, lock!.id, { limit: 10 })
    const next = await listAccessCodes(t.store.db, owner.organizationId, lock!.id, {
      limit: 1000,
      cursor: first.nextCursor!,
    })
    expect(new Set([...first.items, ...next.items].map((c) => c.id)).size).toBe(
      first.items.length + next.items.length,
    )
    expect(next.items.every((c) => c.lockId === lock!.id)).toBe(true)
  })
})
