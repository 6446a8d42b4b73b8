import { z } from 'zod'
import { list, ZTimestamp } from '../http/index.ts'

const ZEventType = z
  .string()
  .max(100)
  .regex(/^[a-z_]+\.([a-z_]+|\*)$/, 'an event type such as lock.unlocked, or a family such as lock.*')

const webhookFields = {
  url: z
    .url({ protocol: /^https?$/, error: 'an http or https URL' })
    .max(2000)
    .describe(
      'Where events are POSTed. A loopback, link-local or private address is refused (also after DNS at each delivery) unless the server runs with LATCHKEY_WEBHOOK_ALLOW_PRIVATE=1.',
    ),
  eventTypes: z
    .array(ZEventType)
    .min(1)
    .max(100)
    .nullable()
    .describe(
      'Event types (`lock.unlocked`) or families (`lock.*`) to receive; null or absent: every event.',
    ),
  description: z.string().trim().max(200).nullable(),
}

export const ZCreateWebhookRequest = z.strictObject({
  url: webhookFields.url,
  eventTypes: webhookFields.eventTypes.optional(),
  description: webhookFields.description.optional(),
})
export type TCreateWebhookRequest = z.infer<typeof ZCreateWebhookRequest>

export const ZUpdateWebhookRequest = z.strictObject({
  url: webhookFields.url.optional(),
  eventTypes: webhookFields.eventTypes.optional(),
  description: webhookFields.description.optional(),
  enabled: z
    .boolean()
    .optional()
    .describe('`true` enables a webhook disabled after 5 days of failure; `false` stops its deliveries.'),
})
export type TUpdateWebhookRequest = z.infer<typeof ZUpdateWebhookRequest>

export const ZWebhook = z
  .object({
    id: z.uuid(),
    url: z.string(),
    description: z.string().nullable(),
    eventTypes: z.array(z.string()).nullable().describe('null: every event.'),
    enabled: z.boolean(),
    disabledAt: ZTimestamp.nullable(),
    disabledReason: z.string().nullable().describe('Why it stopped receiving events, in words.'),
    failingSince: ZTimestamp.nullable().describe('The first failed attempt since the last delivered one.'),
    previousSecretExpiresAt: ZTimestamp.nullable().describe(
      'After a rotation: until then deliveries are signed with the previous secret too.',
    ),
    createdAt: ZTimestamp,
    updatedAt: ZTimestamp,
  })
  .meta({ id: 'Webhook' })
export type TWebhook = z.infer<typeof ZWebhook>

export const ZWebhookWithSecret = ZWebhook.extend({
  secret: z
    .string()
    .describe(
      'The signing secret (`whsec_…`): shown this once. Verify deliveries with it (Standard Webhooks).',
    ),
}).meta({ id: 'WebhookWithSecret' })
export type TWebhookWithSecret = z.infer<typeof ZWebhookWithSecret>

export const ZListWebhooksResponse = list(ZWebhook)

export const ZWebhookAttempt = z
  .object({
    attemptedAt: ZTimestamp,
    durationMs: z.number().int(),
    statusCode: z.number().int().nullable().describe('The receiver’s HTTP status; null when none came.'),
    error: z.string().nullable().describe('What went wrong, in words; null when delivered.'),
  })
  .meta({ id: 'WebhookAttempt' })

export const ZWebhookDelivery = z
  .object({
    id: z.uuid(),
    webhookId: z.uuid(),
    webhookMessageId: z.string().describe('The `webhook-id` header of every attempt.'),
    eventId: z.string().nullable().describe('The event delivered; null for a test event.'),
    eventType: z.string(),
    status: z
      .enum(['pending', 'delivered', 'failed'])
      .describe('`failed`: no attempt succeeded in 3 days (it can still be sent again by hand).'),
    nextAttemptAt: ZTimestamp.nullable().describe('When it is tried next (pending only).'),
    lastStatusCode: z.number().int().nullable(),
    deliveredAt: ZTimestamp.nullable(),
    createdAt: ZTimestamp,
    attempts: z.array(ZWebhookAttempt).describe('Every attempt, oldest first.'),
  })
  .meta({ id: 'WebhookDelivery' })
export type TWebhookDelivery = z.infer<typeof ZWebhookDelivery>

export const ZListDeliveriesResponse = list(ZWebhookDelivery)

export const ZWebhookListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(100),
  cursor: z.string().max(200).optional(),
})

export const ZDeliveryParams = z.object({ id: z.string().max(64), deliveryId: z.string().max(64) })
