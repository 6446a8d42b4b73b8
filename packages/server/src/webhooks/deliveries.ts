/**
 * A webhook's delivery log (every attempt of every delivery), a delivery sent again by hand, and a
 * test event. None of them sends anything in the request: the worker does (worker.ts).
 */
import { LatchkeyError } from '@latchkey/core'
import { and, asc, desc, eq, inArray, lt, or } from 'drizzle-orm'
import type { Db, Webhook, WebhookAttempt, WebhookDelivery } from '../store/index.ts'
import { isUuid, webhookAttempts, webhookDeliveries } from '../store/index.ts'
import { findWebhook } from './webhooks.ts'

export interface DeliveryWithAttempts {
  delivery: WebhookDelivery
  attempts: WebhookAttempt[]
}

/** `<createdAt ms>.<id>` of the last delivery of the page before (newest first). */
function parseCursor(cursor: string | undefined): { at: Date; id: string } | null {
  if (cursor === undefined) return null
  const match = /^(\d{1,15})\.([0-9a-f-]{36})$/.exec(cursor)
  if (match === null || !isUuid(match[2]!)) {
    throw new LatchkeyError('validation_failed', 'cursor is the nextCursor of an earlier page')
  }
  return { at: new Date(Number(match[1])), id: match[2]! }
}

export async function listDeliveries(
  db: Db,
  organizationId: string,
  webhookId: string,
  query: { limit: number; cursor?: string | undefined },
): Promise<{ items: DeliveryWithAttempts[]; nextCursor?: string }> {
  const webhook = await findWebhook(db, organizationId, webhookId)
  const after = parseCursor(query.cursor)
  const d = webhookDeliveries
  const rows = await db
    .select()
    .from(d)
    .where(
      and(
        eq(d.webhookId, webhook.id),
        after === null
          ? undefined
          : or(lt(d.createdAt, after.at), and(eq(d.createdAt, after.at), lt(d.id, after.id))),
      ),
    )
    .orderBy(desc(d.createdAt), desc(d.id))
    .limit(query.limit + 1)
  const page = rows.slice(0, query.limit)
  const attempts =
    page.length === 0
      ? []
      : await db
          .select()
          .from(webhookAttempts)
          .where(
            inArray(
              webhookAttempts.deliveryId,
              page.map((row) => row.id),
            ),
          )
          .orderBy(asc(webhookAttempts.id))
  const items = page.map((delivery) => ({
    delivery,
    attempts: attempts.filter((a) => a.deliveryId === delivery.id),
  }))
  const last = page.at(-1)
  return rows.length > query.limit && last !== undefined
    ? { items, nextCursor: `${last.createdAt.getTime()}.${last.id}` }
    : { items }
}

export async function findDelivery(
  db: Db,
  webhook: Webhook,
  deliveryId: string,
): Promise<DeliveryWithAttempts> {
  const [delivery] = isUuid(deliveryId)
    ? await db
        .select()
        .from(webhookDeliveries)
        .where(and(eq(webhookDeliveries.id, deliveryId), eq(webhookDeliveries.webhookId, webhook.id)))
    : []
  if (delivery === undefined) throw new LatchkeyError('not_found', 'no such delivery of this webhook')
  const attempts = await db
    .select()
    .from(webhookAttempts)
    .where(eq(webhookAttempts.deliveryId, delivery.id))
    .orderBy(asc(webhookAttempts.id))
  return { delivery, attempts }
}

function assertEnabled(webhook: Webhook): void {
  if (!webhook.enabled) {
    throw new LatchkeyError(
      'conflict',
      'the webhook is disabled; enable it first (PATCH with enabled: true), then send again',
    )
  }
}

/**
 * Sends a delivery again (whatever its state): it is due at once, and keeps its place in the order of
 * events (later events to the webhook wait for it, as for any delivery still pending).
 */
export async function retryDelivery(
  db: Db,
  nowMs: number,
  organizationId: string,
  webhookId: string,
  deliveryId: string,
): Promise<DeliveryWithAttempts> {
  const webhook = await findWebhook(db, organizationId, webhookId)
  assertEnabled(webhook)
  const { delivery, attempts } = await findDelivery(db, webhook, deliveryId)
  const [updated] = await db
    .update(webhookDeliveries)
    .set({ state: 'pending', nextAttemptAt: new Date(nowMs), deliveredAt: null })
    .where(eq(webhookDeliveries.id, delivery.id))
    .returning()
  return { delivery: updated!, attempts }
}

/** A `webhook.test` event for this webhook alone (not in the audit log); it waits for no other delivery. */
export async function sendTestEvent(
  db: Db,
  nowMs: number,
  organizationId: string,
  webhookId: string,
): Promise<DeliveryWithAttempts> {
  const webhook = await findWebhook(db, organizationId, webhookId)
  assertEnabled(webhook)
  const now = new Date(nowMs)
  const [delivery] = await db
    .insert(webhookDeliveries)
    .values({
      organizationId,
      webhookId: webhook.id,
      eventId: null,
      eventType: 'webhook.test',
      payload: {
        type: 'webhook.test',
        timestamp: now.toISOString(),
        data: { webhookId: webhook.id, message: 'A test event from Latchkey: this webhook works.' },
      },
      nextAttemptAt: now,
      createdAt: now,
    })
    .returning()
  return { delivery: delivery!, attempts: [] }
}
