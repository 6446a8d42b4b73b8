/**
 * The webhook worker, one loop per server process (SPEC §13). Deliveries are rows written with
 * their event (events/record.ts); the worker claims due ones with a lease (`for update skip locked`,
 * then `claimed_by`/`claimed_until`), so two processes never send one delivery at the same time, and
 * one killed mid-send leaves a lease that runs out and another process (or itself, restarted) sends
 * it again: at least once. Per webhook only the oldest pending event is due, so events arrive in
 * event-id order while earlier ones are pending. A failed attempt is retried with exponential
 * backoff and jitter for 3 days; a webhook failing for 5 days is disabled (`webhook.disabled`).
 *
 * Every request goes through the outbound rule (http/outbound-address.ts): resolved, each address
 * checked, then connected to the checked address, so a refused target is refused before any socket.
 */
import { randomBytes } from 'node:crypto'
import { setMaxListeners } from 'node:events'
import { hostname } from 'node:os'
import { type Clock, systemClock } from '@latchkey/core'
import { and, eq, isNotNull, sql } from 'drizzle-orm'
import { Webhook as Signer } from 'standardwebhooks'
import { apiEvent, recordEvent } from '../events/index.ts'
import { type MetricsRegistry, OutboundRefused, outboundRequest, type Resolve } from '../http/index.ts'
import type { Secrets } from '../secrets.ts'
import type { Db, EventRow, WebhookDelivery } from '../store/index.ts'
import { events, webhookAttempts, webhookDeliveries, webhooks } from '../store/index.ts'
import { useSettings } from './settings.ts'
import { signingSecrets } from './webhooks.ts'

const SECOND_MS = 1_000
const HOUR_MS = 3_600_000
const DAY_MS = 24 * HOUR_MS
/** Retries stop this long after the event. */
export const RETRY_FOR_MS = 3 * DAY_MS
/** A webhook failing this long is disabled. */
export const DISABLE_AFTER_MS = 5 * DAY_MS
/** An attempt with no whole answer within this is a failure. */
export const ATTEMPT_TIMEOUT_MS = 10 * SECOND_MS
const FIRST_RETRY_MS = 30 * SECOND_MS
const LONGEST_RETRY_MS = 6 * HOUR_MS

/**
 * When attempt `attempts + 1` follows a failed attempt `attempts` (1-based): 30 s doubled each time up to
 * 6 h, each wait taken between half and all of it (jitter, so receivers coming back are not hit at once).
 */
export function retryDelayMs(attempts: number, random: () => number = Math.random): number {
  const full = Math.min(FIRST_RETRY_MS * 2 ** Math.min(attempts - 1, 20), LONGEST_RETRY_MS)
  return Math.round(full / 2 + (full / 2) * random())
}

export interface WebhookWorkerDeps {
  readonly db: Db
  readonly secrets: Secrets
  /** The server's clock: when deliveries are due, retried, given up. */
  readonly clock: Clock
  readonly metrics: MetricsRegistry
}

export interface WebhookWorkerOptions {
  /** Real-time period of the loop (default 1 s). */
  tickMs?: number
  /** LATCHKEY_WEBHOOK_ALLOW_PRIVATE=1: targets on this machine or a private network are allowed. */
  allowPrivate?: boolean
  /** Name resolution (default the system's). */
  resolve?: Resolve
  /**
   * The wall clock the `webhook-timestamp` is taken from (default the system's): receivers compare it
   * with their own clock, whatever time the server's clock simulates.
   */
  wallClock?: Clock
  /** How long a claim holds, on the server's clock (default 60 s; longer than an attempt). */
  leaseMs?: number
  timeoutMs?: number
  /** Deliveries sent at once (default 8). */
  batch?: number
  random?: () => number
  /**
   * Frees every lease at start: right when no other process can hold one (PGlite, whose data
   * directory one process owns), so what a killed process was sending goes out at once.
   */
  releaseLeasesAtStart?: boolean
  onError?: (error: unknown) => void
}

export interface WebhookWorker {
  /** Sends what is due now, round after round while sending unblocks more (bounded); answers how many were attempted. */
  runOnce(): Promise<number>
  stop(): Promise<void>
}

interface Metrics {
  outcomes: ReturnType<MetricsRegistry['counter']>
  queue: { ageSeconds: number; pending: number }
}

const registered = new WeakMap<MetricsRegistry, Metrics>()

/** `webhook_deliveries_total{outcome}` and the queue gauges, registered once per registry. */
function metricsOf(registry: MetricsRegistry): Metrics {
  let metrics = registered.get(registry)
  if (metrics !== undefined) return metrics
  const queue = { ageSeconds: 0, pending: 0 }
  metrics = {
    outcomes: registry.counter(
      'webhook_deliveries_total',
      'Webhook delivery attempts by outcome: delivered, failed (retried later), refused (outbound address rule; retried later), gave_up (3 days of failure).',
    ),
    queue,
  }
  registry.gauge(
    'webhook_queue_age_seconds',
    'Age of the oldest webhook delivery still pending (0 when none), on the server clock.',
    () => queue.ageSeconds,
  )
  registry.gauge('webhook_deliveries_pending', 'Webhook deliveries still pending.', () => queue.pending)
  registered.set(registry, metrics)
  return metrics
}

/**
 * Claims up to `limit` due deliveries: the oldest pending event of each enabled webhook, and test
 * events. An event is due only once every transaction older than its own has ended (as the events
 * cursor does, docs/EVENTS.md), so one that commits late with an earlier id is not overtaken.
 */
export async function claimDueDeliveries(
  db: Db,
  owner: string,
  nowMs: number,
  leaseMs: number,
  limit: number,
): Promise<string[]> {
  const now = new Date(nowMs).toISOString()
  const until = new Date(nowMs + leaseMs).toISOString()
  // a materialized CTE runs the locking select once: as `id in (subquery)` PostgreSQL may rescan it
  // and claim more than `limit` rows
  const result = await db.execute<{ id: string }>(sql`
    with due as materialized (
      select d.id from webhook_deliveries d join webhooks w on w.id = d.webhook_id
      where d.state = 'pending' and w.enabled and d.next_attempt_at <= ${now}
        and (d.claimed_until is null or d.claimed_until < ${now})
        and (d.event_id is null or (not exists (
          select 1 from webhook_deliveries p
          where p.webhook_id = d.webhook_id and p.state = 'pending' and p.event_id < d.event_id)
          -- settled: older than every transaction still open, which may yet commit an earlier event
          and exists (
            select 1 from events e
            where e.id = d.event_id and e.tx < pg_snapshot_xmin(pg_current_snapshot()))))
      order by d.event_id nulls first, d.created_at
      limit ${limit}
      for update of d skip locked)
    update webhook_deliveries set claimed_by = ${owner}, claimed_until = ${until}
    from due
    where webhook_deliveries.id = due.id and webhook_deliveries.state = 'pending'
      and (webhook_deliveries.claimed_until is null or webhook_deliveries.claimed_until < ${now})
    returning webhook_deliveries.id`)
  return result.rows.map((row) => row.id)
}

/** The body of a delivery: Standard Webhooks' `{type, timestamp, data}`, data as `GET /events` shows the event. */
export function eventPayload(event: EventRow): Record<string, unknown> {
  return {
    type: event.type,
    timestamp: event.occurredAt.toISOString(),
    data: apiEvent(event),
  }
}

/** The `webhook-id` of a delivery: the same on every attempt, so a receiver drops a repeat by it. */
export const messageId = (delivery: { id: string }) => `msg_${delivery.id}`

interface AttemptResult {
  statusCode: number | null
  error: string | null
  refused: boolean
}

const answerWords = (status: number) => `the receiver answered HTTP ${status}`

export function startWebhookWorker(
  deps: WebhookWorkerDeps,
  options: WebhookWorkerOptions = {},
): WebhookWorker {
  const owner = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`
  const allowPrivate = options.allowPrivate ?? false
  const wallClock = options.wallClock ?? systemClock
  const leaseMs = options.leaseMs ?? 60 * SECOND_MS
  const timeoutMs = options.timeoutMs ?? ATTEMPT_TIMEOUT_MS
  const batch = options.batch ?? 8
  const random = options.random ?? Math.random
  const onError = options.onError ?? (() => {})
  const metrics = metricsOf(deps.metrics)
  const stopping = new AbortController()
  // every request in flight listens for the stop
  setMaxListeners(Math.max(10, batch * 2), stopping.signal)
  const forget = useSettings(deps.db, { allowPrivate, resolve: options.resolve })
  let started: Promise<void> = Promise.resolve()
  if (options.releaseLeasesAtStart) {
    started = deps.db
      .update(webhookDeliveries)
      .set({ claimedBy: null, claimedUntil: null })
      .where(isNotNull(webhookDeliveries.claimedBy))
      .then(() => undefined, onError)
  }

  const send = async (delivery: WebhookDelivery): Promise<AttemptResult> => {
    const [webhook] = await deps.db.select().from(webhooks).where(eq(webhooks.id, delivery.webhookId))
    if (webhook === undefined) return { statusCode: null, error: 'the webhook was deleted', refused: false }
    let payload = delivery.payload
    if (delivery.eventId !== null) {
      const [event] = await deps.db.select().from(events).where(eq(events.id, delivery.eventId))
      if (event === undefined) return { statusCode: null, error: 'the event is gone', refused: false }
      payload = eventPayload(event)
    }
    const body = JSON.stringify(payload)
    const sentAt = new Date(wallClock.now())
    const id = messageId(delivery)
    const signature = signingSecrets(deps.secrets, webhook, deps.clock.now())
      .map((secret) => new Signer(secret).sign(id, sentAt, body))
      .join(' ')
    try {
      const answer = await outboundRequest(webhook.url, {
        allowPrivate,
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'webhook-id': id,
          'webhook-timestamp': String(Math.floor(sentAt.getTime() / 1000)),
          'webhook-signature': signature,
        },
        body,
        timeoutMs,
        maxBytes: 64 * 1024,
        signal: stopping.signal,
        ...(options.resolve === undefined ? {} : { resolve: options.resolve }),
      })
      const ok = answer.status >= 200 && answer.status < 300
      return { statusCode: answer.status, error: ok ? null : answerWords(answer.status), refused: false }
    } catch (error) {
      if (stopping.signal.aborted) throw error
      const refused = error instanceof OutboundRefused
      return { statusCode: null, error: error instanceof Error ? error.message : String(error), refused }
    }
  }

  /** Writes the attempt and what follows from it in one transaction. */
  const settle = async (
    delivery: WebhookDelivery,
    result: AttemptResult,
    started: { ms: number; perf: number },
  ) => {
    const startedMs = started.ms
    const nowMs = deps.clock.now()
    const now = new Date(nowMs)
    const delivered = result.error === null
    const attempts = delivery.attempts + 1
    const retryAt = nowMs + retryDelayMs(attempts, random)
    const givingUp = !delivered && retryAt > delivery.createdAt.getTime() + RETRY_FOR_MS
    await deps.db.transaction(async (tx) => {
      await tx.insert(webhookAttempts).values({
        deliveryId: delivery.id,
        attemptedAt: new Date(startedMs),
        durationMs: Math.max(0, Math.round(performance.now() - started.perf)),
        statusCode: result.statusCode,
        error: result.error,
        sentBy: owner,
      })
      const [kept] = await tx
        .update(webhookDeliveries)
        .set({
          attempts,
          state: delivered ? 'delivered' : givingUp ? 'failed' : 'pending',
          nextAttemptAt: delivered || givingUp ? delivery.nextAttemptAt : new Date(retryAt),
          deliveredAt: delivered ? now : null,
          lastAttemptAt: new Date(startedMs),
          lastStatusCode: result.statusCode,
          lastError: result.error,
          claimedBy: null,
          claimedUntil: null,
        })
        .where(
          and(
            eq(webhookDeliveries.id, delivery.id),
            eq(webhookDeliveries.claimedBy, owner),
            eq(webhookDeliveries.state, 'pending'),
          ),
        )
        .returning({ id: webhookDeliveries.id })
      if (kept === undefined) return // the lease ran out and another process took it over
      if (delivered) {
        await tx.update(webhooks).set({ failingSince: null }).where(eq(webhooks.id, delivery.webhookId))
        return
      }
      const [webhook] = await tx
        .update(webhooks)
        .set({ failingSince: sql`coalesce(${webhooks.failingSince}, ${now.toISOString()})` })
        .where(eq(webhooks.id, delivery.webhookId))
        .returning()
      if (
        webhook === undefined ||
        !webhook.enabled ||
        webhook.failingSince === null ||
        nowMs - webhook.failingSince.getTime() < DISABLE_AFTER_MS
      ) {
        return
      }
      const reason = `every delivery failed for 5 days (last: ${result.error})`
      await tx
        .update(webhooks)
        .set({ enabled: false, disabledAt: now, disabledReason: reason, updatedAt: now })
        .where(eq(webhooks.id, webhook.id))
      await recordEvent(tx, {
        organizationId: webhook.organizationId,
        type: 'webhook.disabled',
        occurredAt: now,
        label: webhook.description ?? webhook.url,
        data: {
          webhookId: webhook.id,
          url: webhook.url,
          failingSince: webhook.failingSince.toISOString(),
          reason,
        },
      })
    })
    metrics.outcomes.inc({
      outcome: delivered ? 'delivered' : givingUp ? 'gave_up' : result.refused ? 'refused' : 'failed',
    })
  }

  const attempt = async (id: string) => {
    const [delivery] = await deps.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.id, id))
    if (delivery === undefined) return
    const started = { ms: deps.clock.now(), perf: performance.now() }
    try {
      const result = await send(delivery)
      await settle(delivery, result, started)
    } catch (error) {
      // stopping: the delivery goes back untouched, to be sent by whichever process runs next
      await deps.db
        .update(webhookDeliveries)
        .set({ claimedBy: null, claimedUntil: null })
        .where(and(eq(webhookDeliveries.id, id), eq(webhookDeliveries.claimedBy, owner)))
        .catch(onError)
      if (!stopping.signal.aborted) throw error
    }
  }

  const measureQueue = async () => {
    const [row] = await deps.db
      .select({
        oldest: sql<string | Date | null>`min(${webhookDeliveries.createdAt})`,
        pending: sql<number | string>`count(*)`,
      })
      .from(webhookDeliveries)
      .innerJoin(webhooks, eq(webhooks.id, webhookDeliveries.webhookId))
      .where(and(eq(webhookDeliveries.state, 'pending'), eq(webhooks.enabled, true)))
    const oldest = row?.oldest == null ? null : new Date(row.oldest).getTime()
    metrics.queue.ageSeconds = oldest === null ? 0 : Math.max(0, (deps.clock.now() - oldest) / 1000)
    metrics.queue.pending = Number(row?.pending ?? 0)
  }

  const runOnce = async (): Promise<number> => {
    await started
    let attempted = 0
    // each round may unblock the next event of a webhook; bounded so one tick never runs forever
    for (let round = 0; round < 20 && !stopping.signal.aborted; round++) {
      const claimed = await claimDueDeliveries(deps.db, owner, deps.clock.now(), leaseMs, batch)
      if (claimed.length === 0) break
      const results = await Promise.allSettled(claimed.map(attempt))
      for (const result of results) if (result.status === 'rejected') onError(result.reason)
      attempted += claimed.length
    }
    await measureQueue()
    return attempted
  }

  let current: Promise<unknown> | null = null
  const timer = setInterval(() => {
    if (stopping.signal.aborted || current !== null) return
    current = runOnce()
      .catch(onError)
      .finally(() => {
        current = null
      })
  }, options.tickMs ?? SECOND_MS)
  timer.unref()

  return {
    runOnce,
    async stop() {
      clearInterval(timer)
      stopping.abort()
      forget()
      while (current !== null) await current
    },
  }
}
