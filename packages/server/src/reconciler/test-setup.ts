/** Shared setup of the reconciler and access-code suites: an app on a test channel, an owner, a lock. */

import { eq, sql } from 'drizzle-orm'
import type { FastifyInstance } from 'fastify'
import { expect } from 'vitest'
import type { Db } from '../store/index.ts'
import { gateways } from '../store/schema.ts'
import { buildTestApp, openTestStore, signupOwner, type TestAccount, type TestApp } from '../testing.ts'
import type { ReconcilerOptions } from './options.ts'
import { type Reconciler, startReconciler } from './reconciler.ts'
import { TableLockChannel } from './testing.ts'

export interface Fixture {
  t: TestApp
  app: FastifyInstance
  channel: TableLockChannel
  owner: TestAccount
  gatewayId: string
  errors: unknown[]
  reconciler: Reconciler
  close(): Promise<void>
}

export async function setup(
  options: ReconcilerOptions = {},
  storeOptions: { services?: boolean } = {},
): Promise<Fixture> {
  const store = await openTestStore(storeOptions)
  const channel = new TableLockChannel(store.db)
  const t = await buildTestApp({ channel, store })
  const owner = await signupOwner(t.app)
  const gateway = await t.app.inject({
    method: 'POST',
    url: '/api/v1/gateways',
    headers: owner.headers,
    payload: { name: 'Hallway gateway' },
  })
  if (gateway.statusCode !== 201) throw new Error(`gateway: ${gateway.body}`)
  await t.store.db.update(gateways).set({ online: true }).where(eq(gateways.id, gateway.json().id))
  const errors: unknown[] = []
  const reconciler = startReconciler(t.app.deps, channel, {
    manual: true,
    commandTimeoutMs: 30_000,
    refreshMs: 1000 * 3_600_000,
    backoff: { baseMs: 5_000, maxMs: 60_000 },
    onError: (error) => errors.push(error),
    ...options,
  })
  const fixture: Fixture = {
    t,
    app: t.app,
    channel,
    owner,
    gatewayId: gateway.json().id,
    errors,
    reconciler,
    close: async () => {
      await fixture.reconciler.stop()
      await t.close()
      await store.close()
    },
  }
  return fixture
}

/** Registers a lock on the fixture's gateway and attaches it to the test channel. */
export async function addLock(
  f: Fixture,
  input: { name?: string; timezone?: string; model?: string; account?: TestAccount } = {},
): Promise<{ id: string; capacity: number; bundle: { secret: string } }> {
  const account = input.account ?? f.owner
  const response = await f.app.inject({
    method: 'POST',
    url: '/api/v1/locks',
    headers: account.headers,
    payload: {
      name: input.name ?? 'Front door',
      timezone: input.timezone ?? 'Europe/Berlin',
      gatewayId: account === f.owner ? f.gatewayId : undefined,
      ...(input.model === undefined ? {} : { model: input.model }),
    },
  })
  if (response.statusCode !== 201) throw new Error(`lock: ${response.body}`)
  const lock = response.json()
  f.channel.addLock(lock.id, account.organizationId, lock.capacity.total)
  await f.channel.setReachable(lock.id, true)
  return { id: lock.id, capacity: lock.capacity.total, bundle: lock.bundle }
}

/** Runs the reconciler and delivers what it sends until nothing moves (bounded). */
export async function settle(f: Fixture, rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    const looked = await f.reconciler.runOnce()
    const delivered = await f.channel.deliver()
    if (looked === 0 && delivered === 0) return
  }
  throw new Error(`the reconciler did not settle in ${rounds} rounds`)
}

export async function createCode(
  f: Fixture,
  lockId: string,
  body: Record<string, unknown>,
  account?: TestAccount,
) {
  const response = await f.app.inject({
    method: 'POST',
    url: `/api/v1/locks/${lockId}/access-codes`,
    headers: (account ?? f.owner).headers,
    payload: body,
  })
  return response
}

export async function getCode(f: Fixture, id: string, account?: TestAccount) {
  const response = await f.app.inject({
    method: 'GET',
    url: `/api/v1/access-codes/${id}`,
    headers: (account ?? f.owner).headers,
  })
  if (response.statusCode !== 200) throw new Error(`get code: ${response.body}`)
  return response.json()
}

export async function codeEvents(
  f: Fixture,
  codeId: string,
): Promise<{ type: string; data: Record<string, unknown> }[]> {
  const response = await f.app.inject({
    method: 'GET',
    url: `/api/v1/events?accessCodeId=${codeId}&order=asc`,
    headers: f.owner.headers,
  })
  if (response.statusCode !== 200) throw new Error(`events: ${response.body}`)
  return response
    .json()
    .items.map((e: { type: string; data: Record<string, unknown> }) => ({ type: e.type, data: e.data }))
}

/** The code is set on its lock, its audit says so once after its creation, and the pass logged no error. */
export async function expectSetWithItsEvent(f: Fixture, codeId: string): Promise<void> {
  expect((await getCode(f, codeId)).status).toBe('set')
  expect((await codeEvents(f, codeId)).map((e) => e.type)).toEqual([
    'access_code.created',
    'access_code.set_on_lock',
  ])
  expect(f.errors).toEqual([])
}

/**
 * The database refuses, as a failure would, the updates of `table` that `when` picks (a trigger
 * before each row raises `message`, with SQLSTATE `errcode`: P0001 by default, 57P01 for a
 * PostgreSQL shutting down). Resolves with what takes the refusal away.
 */
export async function refuseUpdates(
  db: Db,
  {
    table,
    when,
    message,
    errcode = 'P0001',
  }: { table: string; when: string; message: string; errcode?: string },
): Promise<() => Promise<void>> {
  await db.execute(
    sql.raw(`create function latchkey_test_refuse() returns trigger language plpgsql as $$
      begin raise exception '${message}' using errcode = '${errcode}'; end $$`),
  )
  await db.execute(
    sql.raw(`create trigger latchkey_test_refuse before update on ${table} for each row
      when (${when}) execute function latchkey_test_refuse()`),
  )
  return async () => {
    await db.execute(sql.raw(`drop trigger latchkey_test_refuse on ${table}`))
    await db.execute(sql.raw('drop function latchkey_test_refuse'))
  }
}
