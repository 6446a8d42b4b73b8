/**
 * Webhooks of an organization (SPEC §13): a URL, the event types it receives (default all) and a
 * signing secret (`whsec_…`, shown once, encrypted at rest with the master key like every other
 * secret). Rotating the secret keeps the previous one signing beside the new one for 24 h.
 */
import { randomBytes, randomUUID } from 'node:crypto'
import { LatchkeyError } from '@latchkey/core'
import { and, asc, eq, gt } from 'drizzle-orm'
import { checkedAddress, OutboundRefused, outboundUrl } from '../http/index.ts'
import type { Secrets } from '../secrets.ts'
import type { Db, Webhook } from '../store/index.ts'
import { isUuid, webhooks } from '../store/index.ts'
import { workerSettings } from './settings.ts'

export const PREVIOUS_SECRET_VALID_MS = 24 * 3_600_000

/** What webhook operations work with. */
export interface WebhookDeps {
  readonly db: Db
  readonly secrets: Secrets
  readonly clock: { now(): number }
}

const secretContext = (id: string) => `webhook:${id}`
const previousContext = (id: string) => `webhook:${id}:previous`

/** A new signing secret in the Standard Webhooks form: `whsec_` and 24 random bytes in base64. */
function newSecret(): string {
  return `whsec_${randomBytes(24).toString('base64')}`
}

/**
 * The outbound rule at the time a URL is given: http(s) only, and unless private targets are allowed,
 * the name must resolve to public addresses only (checked again at each delivery, after DNS).
 */
export async function checkWebhookTarget(db: Db, url: string): Promise<void> {
  const { allowPrivate, resolve } = workerSettings(db)
  try {
    const target = outboundUrl(url)
    if (target.username !== '' || target.password !== '') {
      throw new OutboundRefused('put no user name or password in the URL; verify the signature instead')
    }
    if (!allowPrivate) await checkedAddress(target.hostname, false, resolve)
  } catch (cause) {
    const reason =
      cause instanceof OutboundRefused ? cause.message : `${new URL(url).hostname} does not resolve`
    throw new LatchkeyError('validation_failed', `the webhook URL is refused: ${reason}`, {
      details: [{ path: 'url', message: reason }],
      cause,
    })
  }
}

export interface WebhookInput {
  url: string
  eventTypes?: string[] | null | undefined
  description?: string | null | undefined
}

export async function createWebhook(
  deps: WebhookDeps,
  actor: { organizationId: string; userId: string | null },
  input: WebhookInput,
): Promise<{ webhook: Webhook; secret: string }> {
  await checkWebhookTarget(deps.db, input.url)
  const id = randomUUID()
  const secret = newSecret()
  const now = new Date(deps.clock.now())
  const [row] = await deps.db
    .insert(webhooks)
    .values({
      id,
      organizationId: actor.organizationId,
      url: input.url,
      description: input.description ?? null,
      eventTypes: input.eventTypes ?? null,
      secretCiphertext: deps.secrets.encrypt(secret, secretContext(id)),
      createdBy: actor.userId,
      createdAt: now,
      updatedAt: now,
    })
    .returning()
  return { webhook: row!, secret }
}

export async function findWebhook(db: Db, organizationId: string, id: string): Promise<Webhook> {
  const [row] = isUuid(id)
    ? await db
        .select()
        .from(webhooks)
        .where(and(eq(webhooks.id, id), eq(webhooks.organizationId, organizationId)))
    : []
  if (row === undefined) throw new LatchkeyError('not_found', 'no such webhook')
  return row
}

export async function listWebhooks(
  db: Db,
  organizationId: string,
  query: { limit: number; cursor?: string | undefined },
): Promise<{ items: Webhook[]; nextCursor?: string }> {
  if (query.cursor !== undefined && !isUuid(query.cursor)) {
    throw new LatchkeyError('validation_failed', 'cursor is the nextCursor of an earlier page')
  }
  const rows = await db
    .select()
    .from(webhooks)
    .where(
      and(
        eq(webhooks.organizationId, organizationId),
        query.cursor === undefined ? undefined : gt(webhooks.id, query.cursor),
      ),
    )
    .orderBy(asc(webhooks.id))
    .limit(query.limit + 1)
  const items = rows.slice(0, query.limit)
  return rows.length > query.limit ? { items, nextCursor: items.at(-1)!.id } : { items }
}

export interface WebhookChange {
  url?: string | undefined
  eventTypes?: string[] | null | undefined
  description?: string | null | undefined
  /** `true` enables a webhook that was disabled after failing (its failure count starts anew). */
  enabled?: boolean | undefined
}

export async function updateWebhook(
  deps: WebhookDeps,
  organizationId: string,
  id: string,
  change: WebhookChange,
): Promise<Webhook> {
  const webhook = await findWebhook(deps.db, organizationId, id)
  if (change.url !== undefined) await checkWebhookTarget(deps.db, change.url)
  const now = new Date(deps.clock.now())
  const enabling = change.enabled === true && !webhook.enabled
  const disabling = change.enabled === false && webhook.enabled
  const [row] = await deps.db
    .update(webhooks)
    .set({
      ...(change.url === undefined ? {} : { url: change.url }),
      ...(change.eventTypes === undefined ? {} : { eventTypes: change.eventTypes }),
      ...(change.description === undefined ? {} : { description: change.description }),
      ...(enabling ? { enabled: true, disabledAt: null, disabledReason: null, failingSince: null } : {}),
      ...(disabling ? { enabled: false, disabledAt: now, disabledReason: 'disabled by hand' } : {}),
      updatedAt: now,
    })
    .where(eq(webhooks.id, webhook.id))
    .returning()
  return row!
}

/** Deleting a webhook drops its deliveries and their log with it. */
export async function deleteWebhook(db: Db, organizationId: string, id: string): Promise<Webhook> {
  const webhook = await findWebhook(db, organizationId, id)
  await db.delete(webhooks).where(eq(webhooks.id, webhook.id))
  return webhook
}

/** A new secret; the current one keeps signing beside it for 24 h (a previous one still valid is dropped). */
export async function rotateWebhookSecret(
  deps: WebhookDeps,
  organizationId: string,
  id: string,
): Promise<{ webhook: Webhook; secret: string }> {
  const webhook = await findWebhook(deps.db, organizationId, id)
  const current = deps.secrets.decryptText(webhook.secretCiphertext, secretContext(webhook.id))
  const secret = newSecret()
  const nowMs = deps.clock.now()
  const [row] = await deps.db
    .update(webhooks)
    .set({
      secretCiphertext: deps.secrets.encrypt(secret, secretContext(webhook.id)),
      previousSecretCiphertext: deps.secrets.encrypt(current, previousContext(webhook.id)),
      previousSecretExpiresAt: new Date(nowMs + PREVIOUS_SECRET_VALID_MS),
      updatedAt: new Date(nowMs),
    })
    .where(eq(webhooks.id, webhook.id))
    .returning()
  return { webhook: row!, secret }
}

/** The secrets a delivery is signed with now: the current one, and the previous one within its 24 h. */
export function signingSecrets(secrets: Secrets, webhook: Webhook, nowMs: number): string[] {
  const current = secrets.decryptText(webhook.secretCiphertext, secretContext(webhook.id))
  const previousValid =
    webhook.previousSecretCiphertext !== null &&
    webhook.previousSecretExpiresAt !== null &&
    webhook.previousSecretExpiresAt.getTime() > nowMs
  return previousValid
    ? [current, secrets.decryptText(webhook.previousSecretCiphertext!, previousContext(webhook.id))]
    : [current]
}
