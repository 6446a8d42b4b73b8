/**
 * The reconciler follows the links of every lock at each tick (followLinks): with many locks and
 * their gateways offline (a restart, an outage), the statements that look for locks in reach find
 * them through the partial index of online locks, and the tables to mark stale through the partial
 * index of tables not stale, instead of reading every lock and every lock's sync row at every tick.
 * The statements are those of one tick of a reconciler (runOnce), recorded through drizzle's logger
 * and EXPLAINed with their parameters, on PostgreSQL.
 */
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startReconciler } from '../reconciler/index.ts'
import { buildTestApp, openTestStore, signupOwner, type TestApp, usingTestServices } from '../testing.ts'

const LOCKS = 20_000

interface PlanNode {
  'Node Type': string
  'Relation Name'?: string
  'Index Name'?: string
  Plans?: PlanNode[]
}

const nodes = (plan: PlanNode): PlanNode[] => [plan, ...(plan.Plans ?? []).flatMap(nodes)]

describe.skipIf(!usingTestServices())('locks in reach among many offline, on PostgreSQL', () => {
  let t: TestApp
  let client: pg.Client

  beforeAll(async () => {
    const store = await openTestStore({ services: true })
    t = await buildTestApp({ store })
    const owner = await signupOwner(t.app)
    client = new pg.Client({ connectionString: store.databaseUrl! })
    await client.connect()
    await client.query(
      `insert into gateways (id, organization_id, name, token_hash, online, created_at)
       select gen_random_uuid(), $1::uuid, 'Gateway ' || g, md5($1::text || g), false, now() from generate_series(1, 400) g`,
      [owner.organizationId],
    )
    // every lock offline, every table stale and due later (as in a sweep after a restart)
    await client.query(
      `insert into locks (id, organization_id, gateway_id, name, timezone, model, capacity, ledger_capacity,
         event_capacity, secret_encrypted, created_at, updated_at)
       select gen_random_uuid(), $1, (array(select id from gateways order by name))[1 + n % 400],
         'Door ' || n, 'Europe/Berlin', 'LK-100', 250, 64, 500, 'x', now(), now()
       from generate_series(1, $2) n`,
      [owner.organizationId, LOCKS],
    )
    await client.query(
      `insert into lock_sync (lock_id, organization_id, stale, due_at, updated_at)
       select id, organization_id, true, now() + interval '1 minute', now() from locks`,
    )
    await client.query('analyze gateways, locks, lock_sync')
  })
  afterAll(async () => {
    await client?.end()
    await t?.close()
  })

  async function followLinksPlans(): Promise<{ sql: string; plan: PlanNode[] }[]> {
    const session = (t.store.db as unknown as { session: { logger: unknown; options: { logger?: unknown } } })
      .session
    const statements: { sql: string; params: unknown[] }[] = []
    const logger = { logQuery: (sql: string, params: unknown[]) => statements.push({ sql, params }) }
    const before = { logger: session.logger, options: session.options.logger }
    session.logger = logger
    session.options.logger = logger
    // one tick of a reconciler: it follows the links, then claims the locks due (none is)
    const reconciler = startReconciler(t.app.deps, t.app.deps.channel, {
      manual: true,
      onError: (error) => {
        throw error
      },
    })
    try {
      await reconciler.runOnce()
    } finally {
      await reconciler.stop()
      session.logger = before.logger
      session.options.logger = before.options
    }
    const plans: { sql: string; plan: PlanNode[] }[] = []
    // followLinks' statements (the tick's others: its claim, and the look at the locks it claimed)
    const ofFollowLinks = statements.filter((s) =>
      /^\s*(insert into "lock_sync"|update "lock_sync" set (stale|due_at) =)/.test(s.sql),
    )
    for (const statement of ofFollowLinks) {
      const result = await client.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(
        `explain (format json) ${statement.sql}`,
        statement.params,
      )
      plans.push({ sql: statement.sql, plan: nodes(result.rows[0]!['QUERY PLAN'][0].Plan) })
    }
    return plans
  }

  it('finds the locks in reach without reading every lock', async () => {
    // the first (locks come online for the first time) and the last (stale locks back in reach)
    const reach = (await followLinksPlans()).filter((s) =>
      /^\s*(insert into "lock_sync"|update "lock_sync" set due_at)/.test(s.sql),
    )
    expect(reach).toHaveLength(2)
    for (const { plan } of reach) {
      const onLocks = plan.filter((n) => n['Relation Name'] === 'locks')
      expect(onLocks.map((n) => n['Index Name'])).toContain('locks_online_idx')
      expect(plan.some((n) => n['Node Type'] === 'Seq Scan' && n['Relation Name'] === 'locks')).toBe(false)
    }
  })

  it('finds the tables to mark stale among those not stale only', async () => {
    const [mark] = (await followLinksPlans()).filter((s) => /^\s*update "lock_sync" set stale/.test(s.sql))
    expect(mark).toBeDefined()
    const onSync = mark!.plan.filter(
      (n) => n['Relation Name'] === 'lock_sync' && n['Node Type'] !== 'ModifyTable',
    )
    expect(onSync.map((n) => n['Index Name'])).toContain('lock_sync_fresh_idx')
    expect(mark!.plan.some((n) => n['Node Type'] === 'Seq Scan' && n['Relation Name'] !== 'gateways')).toBe(
      false,
    )
  })
})
