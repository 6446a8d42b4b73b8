/**
 * Webhooks through the API and the worker, against a real HTTP receiver on loopback: signatures
 * checked with the standardwebhooks library's own verifier, retries driven by the server's stopped
 * clock (no real waiting), the order of events per webhook, rotation, disabling, the outbound rule.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { Webhook } from 'standardwebhooks'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import {
  addMemberAndLogin,
  buildTestApp,
  METRICS_HEADERS,
  signupOwner,
  type TestAccount,
  type TestApp,
} from '../testing.ts'
import { type Receiver, startReceiver } from './testing.ts'
import { startWebhookWorker, type WebhookWorker, type WebhookWorkerOptions } from './worker.ts'

const MINUTE = 60_000
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR

let t: TestApp
let owner: TestAccount
let receiver: Receiver | null = null
let worker: WebhookWorker | null = null

// a store, a stopped clock and a metrics registry of its own for each test
beforeEach(async () => {
  t = await buildTestApp()
  owner = await signupOwner(t.app)
})
afterEach(async () => {
  await worker?.stop()
  worker = null
  await receiver?.close()
  receiver = null
  vi.unstubAllEnvs()
  await t.close()
})

const call = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: object, who = owner) =>
  t.app.inject({ method, url: `/api/v1${url}`, headers: who.headers, ...(payload ? { payload } : {}) })

/** A worker on the test app's store and clock: it sends only when the test calls runOnce. */
function startWorker(options: WebhookWorkerOptions = {}): WebhookWorker {
  worker = startWebhookWorker(t.app.deps, {
    tickMs: 3_600_000,
    allowPrivate: true,
    random: () => 0.5,
    ...options,
  })
  return worker
}

async function createWebhook(body: object): Promise<{ id: string; secret: string }> {
  const response = await call('POST', '/webhooks', body)
  expect(response.statusCode, response.body).toBe(201)
  return response.json()
}

/** Registers locks through the API: each records a `lock.created` event. */
async function createLocks(names: string[]): Promise<void> {
  for (const name of names) {
    const response = await call('POST', '/locks', { name, timezone: 'UTC' })
    expect(response.statusCode, response.body).toBe(201)
  }
}

async function eventIds(type: string): Promise<string[]> {
  const response = await call('GET', `/events?type=${type}&order=asc&limit=100`)
  return (response.json().items as Array<{ id: string }>).map((e) => e.id)
}

const deliveryOf = (request: { body: string }) =>
  JSON.parse(request.body) as { type: string; data: { id: string } }

/** Runs the worker, moving the server's clock on an hour between rounds, until `done` (at most `rounds`). */
async function deliverUntil(done: () => boolean, rounds = 48): Promise<void> {
  for (let round = 0; round < rounds && !done(); round++) {
    await worker!.runOnce()
    if (!done()) t.clock.advance(HOUR)
  }
}

describe('webhook routes', () => {
  it('creates with a secret shown once, lists, changes and deletes; only owners and admins', async () => {
    vi.stubEnv('LATCHKEY_WEBHOOK_ALLOW_PRIVATE', '1')
    const created = await createWebhook({ url: 'http://127.0.0.1:9/hooks', eventTypes: ['lock.*'] })
    expect(created.secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/)
    const got = (await call('GET', `/webhooks/${created.id}`)).json()
    expect(got).toMatchObject({ id: created.id, url: 'http://127.0.0.1:9/hooks', eventTypes: ['lock.*'] })
    expect(got.secret).toBeUndefined()
    expect((await call('GET', '/webhooks')).json().items.map((w: { id: string }) => w.id)).toEqual([
      created.id,
    ])
    const changed = await call('PATCH', `/webhooks/${created.id}`, { eventTypes: null, description: 'CRM' })
    expect(changed.json()).toMatchObject({ eventTypes: null, description: 'CRM', enabled: true })

    const member = await addMemberAndLogin(t.app, owner, 'member')
    const refused = await call('GET', '/webhooks', undefined, member)
    expect(refused.statusCode).toBe(403)
    expect(refused.json().detail).toBe('only owner or admin can read webhooks')

    const other = await signupOwner(t.app)
    expect((await call('GET', `/webhooks/${created.id}`, undefined, other)).statusCode).toBe(404)
    expect((await call('DELETE', `/webhooks/${created.id}`)).statusCode).toBe(200)
    expect((await call('GET', `/webhooks/${created.id}`)).statusCode).toBe(404)
  })

  it('refuses a bad URL or event type with words', async () => {
    const ftp = await call('POST', '/webhooks', { url: 'ftp://example.com/x' })
    expect(ftp.statusCode).toBe(400)
    expect(ftp.json().code).toBe('validation_failed')
    const type = await call('POST', '/webhooks', { url: 'http://127.0.0.1:9/', eventTypes: ['unlock'] })
    expect(type.statusCode).toBe(400)
    expect(JSON.stringify(type.json())).toContain('an event type such as lock.unlocked')
  })
})

describe('the outbound address rule', () => {
  const sockets: unknown[] = []
  const onSocket = (message: unknown) => sockets.push(message)
  beforeEach(() => {
    sockets.length = 0
    subscribe('net.client.socket', onSocket)
    subscribe('http.client.request.start', onSocket)
  })
  afterEach(() => {
    unsubscribe('net.client.socket', onSocket)
    unsubscribe('http.client.request.start', onSocket)
  })

  it('refuses 10.0.0.1, 169.254.169.254 and localhost when the webhook is created', async () => {
    for (const [url, reason] of [
      ['http://10.0.0.1/hook', '10.0.0.1 is a private address'],
      ['http://169.254.169.254/latest/meta-data', '169.254.169.254 is a link-local address'],
      ['http://localhost:8080/hook', 'is a loopback address (this machine)'],
    ] as const) {
      const response = await call('POST', '/webhooks', { url })
      expect(response.statusCode, url).toBe(400)
      expect(response.json().code).toBe('validation_failed')
      expect(response.json().detail).toContain(reason)
    }
    expect((await call('GET', '/webhooks')).json().items).toEqual([])
    // a URL changed later is checked the same way
    vi.stubEnv('LATCHKEY_WEBHOOK_ALLOW_PRIVATE', '1')
    const { id } = await createWebhook({ url: 'http://127.0.0.1:9/hook' })
    vi.unstubAllEnvs()
    const moved = await call('PATCH', `/webhooks/${id}`, { url: 'http://169.254.169.254/hook' })
    expect(moved.statusCode).toBe(400)
    expect(moved.json().detail).toContain('169.254.169.254 is a link-local address')
    expect((await call('GET', `/webhooks/${id}`)).json().url).toBe('http://127.0.0.1:9/hook')
    expect(sockets).toEqual([])
  })

  it('refuses them again at delivery, after DNS, before any socket exists', async () => {
    // created while private targets were allowed; the worker runs without that setting
    vi.stubEnv('LATCHKEY_WEBHOOK_ALLOW_PRIVATE', '1')
    const literal = await createWebhook({ url: 'http://10.0.0.1/hook' })
    const named = await createWebhook({ url: 'http://metadata.example.test/hook' })
    vi.unstubAllEnvs()
    const asked: string[] = []
    startWorker({
      allowPrivate: false,
      resolve: async (host) => {
        asked.push(host)
        return [{ address: '169.254.169.254', family: 4 }]
      },
    })
    for (const id of [literal.id, named.id])
      expect((await call('POST', `/webhooks/${id}/test`)).statusCode).toBe(202)
    expect(await worker!.runOnce()).toBe(2)
    expect(asked).toEqual(['metadata.example.test'])
    expect(sockets).toEqual([])
    const attempt = async (id: string) => (await call('GET', `/webhooks/${id}/deliveries`)).json().items[0]
    expect(await attempt(literal.id)).toMatchObject({
      status: 'pending',
      attempts: [{ statusCode: null, error: expect.stringContaining('10.0.0.1 is a private address') }],
    })
    expect(await attempt(named.id)).toMatchObject({
      status: 'pending',
      attempts: [
        { statusCode: null, error: expect.stringContaining('169.254.169.254 is a link-local address') },
      ],
    })
    const metrics = (await t.app.inject({ method: 'GET', url: '/metrics', headers: METRICS_HEADERS })).body
    expect(metrics).toContain('webhook_deliveries_total{outcome="refused"} 2')
  })
})

describe('deliveries to a receiver on loopback', () => {
  it('signs with the Standard Webhooks scheme: the library verifies the test event and an event', async () => {
    receiver = await startReceiver()
    startWorker()
    const { id, secret } = await createWebhook({ url: receiver.url, eventTypes: ['lock.created'] })
    expect((await call('POST', `/webhooks/${id}/test`)).statusCode).toBe(202)
    await createLocks(['Front door'])
    await worker!.runOnce()
    expect(receiver.accepted()).toHaveLength(2)
    const verifier = new Webhook(secret)
    const [test, event] = receiver
      .accepted()
      .map((r) => verifier.verify(r.body, r.headers as Record<string, string>) as { type: string })
      .sort((a, b) => b.type.localeCompare(a.type))
    expect(test).toMatchObject({ type: 'webhook.test', data: { webhookId: id } })
    expect(event).toMatchObject({
      type: 'lock.created',
      data: {
        type: 'lock.created',
        id: (await eventIds('lock.created'))[0],
        data: { lockName: 'Front door' },
      },
    })
    // a body changed on the way fails the library's check
    const first = receiver.accepted().find((r) => deliveryOf(r).type === 'lock.created')!
    expect(() =>
      verifier.verify(first.body.replace('Front', 'Back'), first.headers as Record<string, string>),
    ).toThrow()
    const log = (await call('GET', `/webhooks/${id}/deliveries`)).json().items
    expect(log.map((d: { eventType: string; status: string }) => [d.eventType, d.status]).sort()).toEqual([
      ['lock.created', 'delivered'],
      ['webhook.test', 'delivered'],
    ])
    expect(log[0].attempts).toMatchObject([{ statusCode: 200, error: null }])
  })

  it('a receiver answering 500 three times, then well, gets every event once, in event order', async () => {
    receiver = await startReceiver({ answer: (n) => (n < 3 ? 500 : 200) })
    startWorker()
    const { id, secret } = await createWebhook({ url: receiver.url, eventTypes: ['lock.created'] })
    await createLocks(['L1', 'L2', 'L3', 'L4', 'L5'])
    const ids = await eventIds('lock.created')
    expect(ids).toHaveLength(5)

    await worker!.runOnce()
    // the first event failed; the later ones wait behind it, none was sent
    expect(receiver.requests.map((r) => [deliveryOf(r).data.id, r.status])).toEqual([[ids[0], 500]])
    t.clock.advance(10_000) // before the first retry (15–30 s)
    expect(await worker!.runOnce()).toBe(0)
    const queued = (await t.app.inject({ method: 'GET', url: '/metrics', headers: METRICS_HEADERS })).body
    expect(queued).toContain('webhook_queue_age_seconds 10')
    expect(queued).toContain('webhook_deliveries_pending 5')

    await deliverUntil(() => receiver!.accepted().length >= 5)
    const accepted = receiver.accepted()
    const verifier = new Webhook(secret)
    for (const r of accepted) verifier.verify(r.body, r.headers as Record<string, string>)
    expect(accepted.map((r) => deliveryOf(r).data.id)).toEqual(ids)
    const messageIds = accepted.map((r) => r.headers['webhook-id'])
    expect(new Set(messageIds).size).toBe(5)
    // each failed attempt carried the same webhook-id as the one that got through
    expect(receiver.requests.slice(0, 4).map((r) => r.headers['webhook-id'])).toEqual(
      Array(4).fill(messageIds[0]),
    )

    const log = (await call('GET', `/webhooks/${id}/deliveries`)).json().items as Array<{
      eventId: string
      status: string
      attempts: Array<{ statusCode: number; error: string | null }>
    }>
    const first = log.find((d) => d.eventId === ids[0])!
    expect(first.status).toBe('delivered')
    expect(first.attempts.map((a) => a.statusCode)).toEqual([500, 500, 500, 200])
    expect(first.attempts[0]!.error).toBe('the receiver answered HTTP 500')
    const metrics = (await t.app.inject({ method: 'GET', url: '/metrics', headers: METRICS_HEADERS })).body
    expect(metrics).toContain('webhook_deliveries_total{outcome="failed"} 3')
    expect(metrics).toContain('webhook_deliveries_total{outcome="delivered"} 5')
    expect(metrics).toContain('webhook_queue_age_seconds 0')
  })

  it('sends a delivery again by hand, with the same webhook-id', async () => {
    receiver = await startReceiver()
    startWorker()
    const { id } = await createWebhook({ url: receiver.url, eventTypes: ['lock.created'] })
    await createLocks(['Garage'])
    await worker!.runOnce()
    const [delivery] = (await call('GET', `/webhooks/${id}/deliveries`)).json().items
    const retried = await call('POST', `/webhooks/${id}/deliveries/${delivery.id}/retry`)
    expect(retried.statusCode).toBe(202)
    expect(retried.json()).toMatchObject({ status: 'pending', attempts: [{ statusCode: 200 }] })
    await worker!.runOnce()
    expect(receiver.accepted().map((r) => r.headers['webhook-id'])).toEqual([
      delivery.webhookMessageId,
      delivery.webhookMessageId,
    ])
    expect(
      (await call('POST', `/webhooks/${id}/deliveries/00000000-0000-4000-8000-000000000000/retry`))
        .statusCode,
    ).toBe(404)
  })

  it('after a rotation signs with both secrets for 24 h, then with the new one alone', async () => {
    receiver = await startReceiver()
    startWorker()
    const { id, secret: old } = await createWebhook({ url: receiver.url, eventTypes: ['webhook.test'] })
    const rotated = await call('POST', `/webhooks/${id}/rotate-secret`)
    expect(rotated.statusCode).toBe(200)
    const { secret: fresh, previousSecretExpiresAt } = rotated.json()
    expect(fresh).not.toBe(old)
    expect(previousSecretExpiresAt).toBe(new Date(t.clock.now() + DAY).toISOString())
    await call('POST', `/webhooks/${id}/test`)
    await worker!.runOnce()
    const during = receiver.accepted()[0]!
    expect(String(during.headers['webhook-signature']).split(' ')).toHaveLength(2)
    for (const secret of [fresh, old])
      new Webhook(secret).verify(during.body, during.headers as Record<string, string>)

    t.clock.advance(DAY + 1)
    await call('POST', `/webhooks/${id}/test`)
    await worker!.runOnce()
    const after = receiver.accepted()[1]!
    expect(String(after.headers['webhook-signature']).split(' ')).toHaveLength(1)
    new Webhook(fresh).verify(after.body, after.headers as Record<string, string>)
    expect(() => new Webhook(old).verify(after.body, after.headers as Record<string, string>)).toThrow()
  })

  it('gives a delivery up after 3 days; disables a webhook failing for 5 days, and an event says so', async () => {
    receiver = await startReceiver({ answer: () => 503 })
    startWorker()
    const { id } = await createWebhook({ url: receiver.url, eventTypes: ['lock.created'] })
    // a new event every 12 hours, each failing like the ones before it
    for (let half = 0; half < 12; half++) {
      await createLocks([`Door ${half}`])
      for (let hour = 0; hour < 12; hour++) {
        await worker!.runOnce()
        t.clock.advance(HOUR)
      }
    }
    const webhook = (await call('GET', `/webhooks/${id}`)).json()
    expect(webhook.enabled).toBe(false)
    expect(webhook.disabledReason).toBe(
      'every delivery failed for 5 days (last: the receiver answered HTTP 503)',
    )
    const disabled = (await call('GET', '/events?type=webhook.disabled')).json().items
    expect(disabled).toHaveLength(1)
    expect(disabled[0].data).toMatchObject({ webhookId: id, url: receiver.url })
    const log = (await call('GET', `/webhooks/${id}/deliveries?limit=100`)).json().items
    const oldest = log.at(-1)
    expect(oldest.status).toBe('failed')
    const lastTry = Date.parse(oldest.attempts.at(-1).attemptedAt)
    expect(lastTry - Date.parse(oldest.createdAt)).toBeLessThanOrEqual(3 * DAY)
    const metrics = (await t.app.inject({ method: 'GET', url: '/metrics', headers: METRICS_HEADERS })).body
    expect(metrics).toMatch(/webhook_deliveries_total\{outcome="gave_up"\} [1-9]/)

    // disabled: nothing more is sent; enabled again, it catches up
    const sent = receiver.requests.length
    await createLocks(['After'])
    await worker!.runOnce()
    expect(receiver.requests.length).toBe(sent)
    expect((await call('POST', `/webhooks/${id}/test`)).statusCode).toBe(409)
    const enabled = await call('PATCH', `/webhooks/${id}`, { enabled: true })
    expect(enabled.json()).toMatchObject({ enabled: true, disabledAt: null, failingSince: null })
  })

  it('stops cleanly: a delivery on its way goes back untouched and the next worker sends it', async () => {
    let answer = () => {}
    receiver = await startReceiver({ gate: new Promise<void>((resolve) => (answer = resolve)) })
    startWorker()
    const { id } = await createWebhook({ url: receiver.url, eventTypes: ['lock.created'] })
    await createLocks(['Shed'])
    const running = worker!.runOnce()
    for (let i = 0; i < 200 && receiver.inFlight() === 0; i++) await new Promise((r) => setTimeout(r, 10))
    expect(receiver.inFlight()).toBe(1)
    await worker!.stop()
    await running
    const [held] = (await call('GET', `/webhooks/${id}/deliveries`)).json().items
    expect(held).toMatchObject({ status: 'pending', attempts: [] })
    answer()
    startWorker()
    expect(await worker!.runOnce()).toBe(1)
    const [sent] = (await call('GET', `/webhooks/${id}/deliveries`)).json().items
    expect(sent).toMatchObject({ status: 'delivered', attempts: [{ statusCode: 200 }] })
  })
})
