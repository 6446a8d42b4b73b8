/**
 * Command counters against the real lock firmware: a test gateway (relay-gateway.ts) relays the server's sealed frames
 * to a `Lock` (packages/lock) and its sealed replies back, and keeps the counter of every frame it
 * saw on the lock's command topic. A database commit that fails after the frame was sealed and
 * published (a deferred constraint trigger raises at COMMIT) must never lead to a second frame under
 * the same counter — the same AES-GCM nonce over another plaintext — and the lock must take the next
 * command. A reply whose transaction PostgreSQL ends to break a deadlock is taken again at once.
 */
import { sql } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { usingTestServices } from '../packages/server/src/testing.ts'
import { type ApiClient, eventually, startTestServer, type TestServer } from './harness.ts'
import { type RelayGateway, startRelayGateway } from './relay-gateway.ts'

let t: TestServer
let owner: { api: ApiClient }
let relay: RelayGateway
let lockId: string

beforeAll(async () => {
  t = await startTestServer()
  owner = await t.signup()
  relay = await startRelayGateway(t, owner.api)
  lockId = relay.lockId
})

afterAll(async () => {
  await relay?.close()
  await t?.close()
})

/** Until a statement of the server that starts with `query` waits for a row another transaction holds. */
async function untilWaitingForRow(what: string, query: string): Promise<void> {
  await eventually(what, async () => {
    const waiting = await t.server.deps.db.execute(
      sql`select 1 from pg_stat_activity where wait_event_type = 'Lock' and query like ${`${query}%`}`,
    )
    return waiting.rows.length > 0
  })
}

describe('command counters', () => {
  it('never seals two frames under one counter when the commit after a publish fails, and the lock takes the next command', async () => {
    const db = t.server.deps.db
    await db.execute(
      sql.raw(`create function latchkey_test_fail_commit() returns trigger language plpgsql as $$
        begin raise exception 'commit refused by the test'; end $$`),
    )
    await db.execute(
      sql.raw(`create constraint trigger latchkey_test_fail_unlock after insert on lock_commands
        deferrable initially deferred for each row when (new.type = 'unlock')
        execute function latchkey_test_fail_commit()`),
    )
    const before = relay.counters.length
    const failed = await owner.api.post(`/api/v1/locks/${lockId}/unlock`)
    expect(failed.status).toBe(500)
    expect(failed.headers.get('content-type')).toContain('application/problem+json')
    // the frame did leave before the commit failed (the lock opened the door)
    await eventually('the first unlock frame at the lock', () => relay.counters.length > before)
    await db.execute(sql.raw('drop trigger latchkey_test_fail_unlock on lock_commands'))

    const done = await owner.api.expect(200, 'POST', `/api/v1/locks/${lockId}/unlock`)
    expect(done.status).toBe('done')
    // a third command after that, and a time sync: all taken
    expect((await owner.api.expect(200, 'POST', `/api/v1/locks/${lockId}/sync-time`)).status).toBe('done')

    expect(new Set(relay.counters).size).toBe(relay.counters.length)
    expect(relay.counters).toEqual([...relay.counters].sort((a, b) => a - b))
    // what the lock logged, as the server stored it: both unlocks carried out, no frame refused
    const types = await eventually('both unlocks in the audit log', async () => {
      const body = await owner.api.expect(200, 'GET', `/api/v1/events?lockId=${lockId}&order=asc&limit=500`)
      const all: string[] = body.items.map((e: { type: string }) => e.type)
      return all.filter((type) => type === 'lock.unlocked').length >= 2 ? all : null
    })
    expect(types.filter((type) => type === 'lock.unlocked')).toHaveLength(2)
    expect(types).not.toContain('lock.frame_rejected')
  })

  it('reads the lock’s table again after a code went to it without its record, so the code deleted meanwhile comes off it', async () => {
    const db = t.server.deps.db
    // every set_code leaves and reaches the lock, but its record does not commit (a database failing
    // at that moment): the lock holds the code, and its reply finds no record of the command
    await db.execute(
      sql.raw(`create constraint trigger latchkey_test_fail_set after insert on lock_commands
        deferrable initially deferred for each row when (new.type = 'set_code')
        execute function latchkey_test_fail_commit()`),
    )
    const onLock = (codeId: string) => relay.lock.view().codes.some((c) => c.codeId === codeId)
    const code = await owner.api.expect(201, 'POST', `/api/v1/locks/${lockId}/access-codes`, {
      name: 'Plumber',
      kind: 'permanent',
      code: '739251',
    })
    await eventually('the code on the lock', () => onLock(code.id))
    await owner.api.expect(200, 'DELETE', `/api/v1/access-codes/${code.id}`)
    await db.execute(sql.raw('drop trigger latchkey_test_fail_set on lock_commands'))
    await eventually('the deleted code off the lock', () => !onLock(code.id), { timeoutMs: 30_000 })
    expect(relay.lock.view().codes).toEqual([])
  })

  // Two connections at once: PostgreSQL only (PGlite has one).
  it.skipIf(!usingTestServices())(
    'takes a reply again at once when PostgreSQL ends its transaction to break a deadlock: the unlock answers done',
    async () => {
      const db = t.server.deps.db
      relay.holdNextReply(async (counter, send) => {
        const [command] = await eventually('the unlock’s record', async () => {
          const rows = await db.execute(
            sql`select id from lock_commands where lock_id = ${lockId} and counter = ${counter}`,
          )
          return rows.rows.length > 0 ? (rows.rows as { id: string }[]) : null
        })
        // another transaction holds the command's row, the reply takes the lock's row and waits for
        // the command's, and the other one then asks for the lock's row: a deadlock, which PostgreSQL
        // breaks by ending the reply's transaction (it waited first)
        await db.transaction(async (tx) => {
          await tx.execute(sql`update lock_commands set status = status where id = ${command?.id}`)
          await send()
          await untilWaitingForRow('the reply waiting for the command’s row', 'update "lock_commands"')
          await tx.execute(sql`select 1 from locks where id = ${lockId} for update`)
        })
      })
      const unlocked = await owner.api.expect(200, 'POST', `/api/v1/locks/${lockId}/unlock`)
      expect(unlocked.status).toBe('done')
    },
    60_000,
  )

  it.skipIf(!usingTestServices())(
    'takes a lock’s link again when PostgreSQL ends its transaction to break a deadlock: the battery it reported shows',
    async () => {
      const db = t.server.deps.db
      // the lock's frames of the tests before are all taken (they would wait for its row, and the link behind them)
      await eventually('the lock’s events acknowledged and every command answered', async () => {
        const open = await db.execute(
          sql`select 1 from lock_commands where lock_id = ${lockId} and status = 'pending'`,
        )
        return open.rows.length === 0 && relay.lock.view().events.unacked === 0
      })
      // the link takes the gateway's row, then waits for the lock's, held here; this transaction
      // then asks for the gateway's row: a deadlock, broken by ending the link's (it waited first)
      await db.transaction(async (tx) => {
        await tx.execute(sql`update locks set name = name where id = ${lockId}`)
        await relay.publishLink({ inRange: true, battery: 42, at: Date.now() })
        await untilWaitingForRow('the link waiting for the lock’s row', 'update "locks" set "in_range"')
        await tx.execute(sql`select 1 from gateways where id = ${relay.gatewayId} for update`)
      })
      await eventually(
        'the battery of the link',
        async () => (await owner.api.expect(200, 'GET', `/api/v1/locks/${lockId}`)).battery === 42,
      )
    },
    60_000,
  )
})
