/**
 * On the real PostgreSQL, two transactions record events at once and the one with the earlier event
 * commits last: the later event is not sent before it, so the receiver still gets them in event order.
 */
import { SimulatedClock } from '@latchkey/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { recordEvent } from '../events/index.ts'
import { MetricsRegistry } from '../http/index.ts'
import { createSecrets } from '../secrets.ts'
import { organizations } from '../store/index.ts'
import { openTestStore, TEST_EPOCH, TEST_MASTER_KEY, type TestStore } from '../testing.ts'
import { type Receiver, startReceiver } from './testing.ts'
import { createWebhook } from './webhooks.ts'
import { startWebhookWorker, type WebhookWorker } from './worker.ts'

let store: TestStore
let receiver: Receiver
let worker: WebhookWorker

beforeAll(async () => {
  store = await openTestStore({ services: true })
  receiver = await startReceiver()
})
afterAll(async () => {
  await worker?.stop()
  await receiver?.close()
  await store?.close()
})

describe('webhook order across overlapping transactions', () => {
  it('holds a later event back while an earlier one is still being committed', async () => {
    const clock = new SimulatedClock({ frozenAt: TEST_EPOCH })
    const deps = {
      db: store.db,
      secrets: createSecrets(TEST_MASTER_KEY),
      clock,
      metrics: new MetricsRegistry(),
    }
    worker = startWebhookWorker(deps, { tickMs: 3_600_000, allowPrivate: true })
    const [org] = await store.db
      .insert(organizations)
      .values({ name: 'Overlap', createdAt: new Date(TEST_EPOCH) })
      .returning()
    await createWebhook(deps, { organizationId: org!.id, userId: null }, { url: receiver.url })
    const event = (label: string) => ({
      organizationId: org!.id,
      type: 'lock.unlocked',
      occurredAt: new Date(clock.now()),
      label,
    })

    let commitFirst = () => {}
    const held = new Promise<void>((resolve) => (commitFirst = resolve))
    let firstId = 0
    let recorded = () => {}
    const firstRecorded = new Promise<void>((resolve) => (recorded = resolve))
    const first = store.db.transaction(async (tx) => {
      firstId = await recordEvent(tx, event('first'))
      recorded()
      await held
    })
    await firstRecorded
    const secondId = await recordEvent(store.db, event('second'))
    expect(secondId).toBeGreaterThan(firstId)

    // the second is committed, the first not yet: nothing may go out
    expect(await worker.runOnce()).toBe(0)
    expect(receiver.requests).toEqual([])

    commitFirst()
    await first
    await worker.runOnce()
    expect(receiver.accepted().map((r) => JSON.parse(r.body).data.id)).toEqual([
      String(firstId),
      String(secondId),
    ])
  })
})
