/**
 * Webhooks (SPEC §13): owners and admins subscribe URLs to events, read each delivery with every
 * attempt, send one again, send a test event and rotate the signing secret. Nothing here sends a
 * request: the webhook worker does.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import {
  AUTHENTICATED,
  iso,
  isoOrNull,
  OWNER_OR_ADMIN,
  problems,
  requireRole,
  ZIdParams,
} from '../http/index.ts'
import type { Webhook } from '../store/index.ts'
import {
  createWebhook,
  type DeliveryWithAttempts,
  deleteWebhook,
  findWebhook,
  listDeliveries,
  listWebhooks,
  messageId,
  retryDelivery,
  rotateWebhookSecret,
  sendTestEvent,
  updateWebhook,
} from '../webhooks/index.ts'
import type { RouteOptions } from './context.ts'
import {
  type TWebhook,
  type TWebhookDelivery,
  ZCreateWebhookRequest,
  ZDeliveryParams,
  ZListDeliveriesResponse,
  ZListWebhooksResponse,
  ZUpdateWebhookRequest,
  ZWebhook,
  ZWebhookDelivery,
  ZWebhookListQuery,
  ZWebhookWithSecret,
} from './webhooks.schemas.ts'

const TAGS = ['webhooks']

export const toApiWebhook = (w: Webhook): TWebhook => ({
  id: w.id,
  url: w.url,
  description: w.description,
  eventTypes: w.eventTypes,
  enabled: w.enabled,
  disabledAt: isoOrNull(w.disabledAt),
  disabledReason: w.disabledReason,
  failingSince: isoOrNull(w.failingSince),
  previousSecretExpiresAt: isoOrNull(w.previousSecretExpiresAt),
  createdAt: iso(w.createdAt),
  updatedAt: iso(w.updatedAt),
})

export const toApiDelivery = ({ delivery: d, attempts }: DeliveryWithAttempts): TWebhookDelivery => ({
  id: d.id,
  webhookId: d.webhookId,
  webhookMessageId: messageId(d),
  eventId: d.eventId === null ? null : String(d.eventId),
  eventType: d.eventType,
  status: d.state,
  nextAttemptAt: d.state === 'pending' ? iso(d.nextAttemptAt) : null,
  lastStatusCode: d.lastStatusCode,
  deliveredAt: isoOrNull(d.deliveredAt),
  createdAt: iso(d.createdAt),
  attempts: attempts.map((a) => ({
    attemptedAt: iso(a.attemptedAt),
    durationMs: a.durationMs,
    statusCode: a.statusCode,
    error: a.error,
  })),
})

export const webhookRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { deps }) => {
  const manage = (request: Parameters<typeof requireRole>[0], doing: string) =>
    requireRole(request, OWNER_OR_ADMIN, doing)

  app.post(
    '/webhooks',
    {
      schema: {
        tags: TAGS,
        summary: 'Subscribe a URL to events (owner or admin); the signing secret is shown once',
        description:
          'Each matching event is POSTed as JSON `{type, timestamp, data}`, signed by the Standard Webhooks scheme (`webhook-id`, `webhook-timestamp`, `webhook-signature`), at least once, in event order, retried with backoff for 3 days.',
        security: AUTHENTICATED,
        body: ZCreateWebhookRequest,
        response: { 201: ZWebhookWithSecret, ...problems(400, 401, 403) },
      },
    },
    async (request, reply) => {
      const auth = manage(request, 'manage webhooks')
      const { webhook, secret } = await createWebhook(deps, auth, request.body)
      return reply.code(201).send({ ...toApiWebhook(webhook), secret })
    },
  )

  app.get(
    '/webhooks',
    {
      schema: {
        tags: TAGS,
        summary: 'Webhooks of the organization (owner or admin)',
        security: AUTHENTICATED,
        querystring: ZWebhookListQuery,
        response: { 200: ZListWebhooksResponse, ...problems(400, 401, 403) },
      },
    },
    async (request) => {
      const auth = manage(request, 'read webhooks')
      const page = await listWebhooks(deps.db, auth.organizationId, request.query)
      return { ...page, items: page.items.map(toApiWebhook) }
    },
  )

  app.get(
    '/webhooks/:id',
    {
      schema: {
        tags: TAGS,
        summary: 'One webhook (owner or admin)',
        security: AUTHENTICATED,
        params: ZIdParams,
        response: { 200: ZWebhook, ...problems(401, 403, 404) },
      },
    },
    async (request) =>
      toApiWebhook(
        await findWebhook(deps.db, manage(request, 'read webhooks').organizationId, request.params.id),
      ),
  )

  app.patch(
    '/webhooks/:id',
    {
      schema: {
        tags: TAGS,
        summary: 'Change a webhook, or enable it again (owner or admin)',
        security: AUTHENTICATED,
        params: ZIdParams,
        body: ZUpdateWebhookRequest,
        response: { 200: ZWebhook, ...problems(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const auth = manage(request, 'manage webhooks')
      return toApiWebhook(await updateWebhook(deps, auth.organizationId, request.params.id, request.body))
    },
  )

  app.delete(
    '/webhooks/:id',
    {
      schema: {
        tags: TAGS,
        summary: 'Delete a webhook and its delivery log (owner or admin)',
        security: AUTHENTICATED,
        params: ZIdParams,
        response: { 200: ZWebhook, ...problems(401, 403, 404) },
      },
    },
    async (request) => {
      const auth = manage(request, 'manage webhooks')
      return toApiWebhook(await deleteWebhook(deps.db, auth.organizationId, request.params.id))
    },
  )

  app.post(
    '/webhooks/:id/rotate-secret',
    {
      schema: {
        tags: TAGS,
        summary: 'A new signing secret, shown once; the previous one stays valid for 24 h',
        description:
          'For 24 h each delivery carries two signatures in `webhook-signature` (new and previous, space-separated), so a receiver can switch secrets without losing one.',
        security: AUTHENTICATED,
        params: ZIdParams,
        response: { 200: ZWebhookWithSecret, ...problems(401, 403, 404) },
      },
    },
    async (request) => {
      const auth = manage(request, 'manage webhooks')
      const { webhook, secret } = await rotateWebhookSecret(deps, auth.organizationId, request.params.id)
      return { ...toApiWebhook(webhook), secret }
    },
  )

  app.get(
    '/webhooks/:id/deliveries',
    {
      schema: {
        tags: TAGS,
        summary: 'The delivery log, newest first, each delivery with every attempt (owner or admin)',
        security: AUTHENTICATED,
        params: ZIdParams,
        querystring: ZWebhookListQuery,
        response: { 200: ZListDeliveriesResponse, ...problems(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const auth = manage(request, 'read webhooks')
      const page = await listDeliveries(deps.db, auth.organizationId, request.params.id, request.query)
      return { ...page, items: page.items.map(toApiDelivery) }
    },
  )

  app.post(
    '/webhooks/:id/deliveries/:deliveryId/retry',
    {
      schema: {
        tags: TAGS,
        summary: 'Send a delivery again, at once (owner or admin)',
        security: AUTHENTICATED,
        params: ZDeliveryParams,
        response: { 202: ZWebhookDelivery, ...problems(401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const auth = manage(request, 'manage webhooks')
      const retried = await retryDelivery(
        deps.db,
        deps.clock.now(),
        auth.organizationId,
        request.params.id,
        request.params.deliveryId,
      )
      return reply.code(202).send(toApiDelivery(retried))
    },
  )

  app.post(
    '/webhooks/:id/test',
    {
      schema: {
        tags: TAGS,
        summary: 'Send a `webhook.test` event to this webhook (owner or admin)',
        security: AUTHENTICATED,
        params: ZIdParams,
        response: { 202: ZWebhookDelivery, ...problems(401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const auth = manage(request, 'manage webhooks')
      const sent = await sendTestEvent(deps.db, deps.clock.now(), auth.organizationId, request.params.id)
      return reply.code(202).send(toApiDelivery(sent))
    },
  )
}
