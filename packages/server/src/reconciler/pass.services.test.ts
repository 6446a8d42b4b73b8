/**
 * A look at a lock while a reply to it is handled elsewhere (another server process, on the real
 * PostgreSQL): the reply writes the lock's table, then the code's status. The look must see the reply
 * whole or not at all; seeing the code `set` beside a table without it would take the code back to
 * `setting` and record `set_on_lock` twice.
 */
import type { Command } from '@latchkey/protocol'
import { sql } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openStore, type Store } from '../store/open-store.ts'
import { usingTestServices } from '../testing.ts'
import { digesterFor } from './reconciler.ts'
import { handleReply } from './replies.ts'
import {
  addLock,
  createCode,
  expectSetWithItsEvent,
  type Fixture,
  getCode,
  settle,
  setup,
} from './test-setup.ts'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Whether some session waits for a lock on the access_codes table (bounded: 10 s). */
async function untilWaitingOnCodes(db: Fixture['t']['store']['db']): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const result = await db.execute<{ n: number }>(
      sql`select count(*)::int as n from pg_locks l join pg_class c on c.oid = l.relation
          where c.relname = 'access_codes' and not l.granted`,
    )
    if (result.rows[0]!.n > 0) return
    await sleep(50)
  }
  throw new Error('no look at the lock waited for the codes within 10 s')
}

describe.skipIf(!usingTestServices())('a look at a lock and a reply handled elsewhere', () => {
  let f: Fixture
  let other: Store

  beforeAll(async () => {
    f = await setup({}, { services: true })
    other = await openStore({ databaseUrl: f.t.store.databaseUrl!, poolSize: 1 })
  })
  afterAll(async () => {
    await other?.close()
    await f?.close()
  })

  it('sees the reply whole or not at all: the code is set once, never taken back to setting', async () => {
    const lock = await addLock(f)
    await settle(f) // the lock's table is read
    const created = await createCode(f, lock.id, { name: 'Courier', kind: 'permanent', code: '731904' })
    expect(created.statusCode).toBe(201)
    const code = created.json()
    // The lock takes the code, but its answer is handled by the other process (below), not here.
    f.channel.lock(lock.id).silent = true
    await f.reconciler.runOnce()
    const sent = f.channel.sent.filter((s) => s.lockId === lock.id && s.command.type === 'set_code')
    expect(sent.map((s) => s.command)).toEqual([
      { type: 'set_code', codeId: code.id, pin: '731904', rule: { kind: 'permanent' } },
    ])
    const command = sent[0]!.command as Extract<Command, { type: 'set_code' }>
    f.channel.lock(lock.id).silent = false
    f.channel.lock(lock.id).codes.push({ codeId: code.id, pin: command.pin, rule: command.rule, uses: 0 })

    let look: Promise<boolean> | undefined
    await other.db.transaction(async (tx) => {
      // Holds the codes back from the look until the reply is written (it is committed together).
      await tx.execute(sql`lock table access_codes in access exclusive mode`)
      look = f.reconciler.reconcileNow(lock.id)
      await untilWaitingOnCodes(f.t.store.db)
      await handleReply({
        db: tx,
        secrets: f.t.secrets,
        clock: f.t.clock,
        digest: digesterFor(f.t.secrets),
        delayWarningMs: 10 * 60_000,
      })({
        lockId: lock.id,
        organizationId: f.owner.organizationId,
        commandId: 'b2a6f1de-63c1-4a57-9a0e-8b2a4f0c9d11',
        command,
        reply: {
          kind: 'reply',
          id: 'b2a6f1de-63c1-4a57-9a0e-8b2a4f0c9d11',
          status: 'ok',
          data: { replaced: false },
        },
        counter: ++f.channel.lock(lock.id).counter,
      })
    })
    // the reply is committed; the look goes on
    expect(await look).toBe(true)
    expect((await getCode(f, code.id)).status).toBe('set')
    await settle(f)
    await expectSetWithItsEvent(f, code.id)
  })
})
