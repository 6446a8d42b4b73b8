/** Webhooks (SPEC §13): subscriptions, their signed deliveries and the worker that sends them. */
export {
  type DeliveryWithAttempts,
  findDelivery,
  listDeliveries,
  retryDelivery,
  sendTestEvent,
} from './deliveries.ts'
export {
  createWebhook,
  deleteWebhook,
  findWebhook,
  listWebhooks,
  PREVIOUS_SECRET_VALID_MS,
  rotateWebhookSecret,
  updateWebhook,
} from './webhooks.ts'
export {
  messageId,
  retryDelayMs,
  startWebhookWorker,
  type WebhookWorker,
  type WebhookWorkerOptions,
} from './worker.ts'
