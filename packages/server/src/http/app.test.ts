import { LatchkeyError } from '@latchkey/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, METRICS_HEADERS, TEST_METRICS_TOKEN, type TestApp } from '../testing.ts'

let t: TestApp
beforeAll(async () => {
  t = await buildTestApp()
})
afterAll(() => t.close())

describe('errors', () => {
  it('answers an unknown route with 404 not_found as problem+json', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/api/v1/nothing-here?x=1' })
    expect(response.statusCode).toBe(404)
    expect(response.headers['content-type']).toBe('application/problem+json; charset=utf-8')
    expect(response.json()).toEqual({
      type: 'urn:latchkey:error:not_found',
      title: 'Not found',
      status: 404,
      code: 'not_found',
      detail: 'no route GET /api/v1/nothing-here',
    })
  })

  it('hides the internals of an unexpected error, and maps a LatchkeyError through its code', async () => {
    const { app, close } = await buildTestAppWithRoutes()
    try {
      const boom = await app.inject({ method: 'GET', url: '/boom' })
      expect(boom.statusCode).toBe(500)
      expect(boom.json()).toEqual({
        type: 'urn:latchkey:error:internal',
        title: 'Internal',
        status: 500,
        code: 'internal',
        detail: 'An internal error occurred (request req-1).',
      })
      expect(boom.body).not.toContain('s3cret')

      const full = await app.inject({ method: 'GET', url: '/full' })
      expect(full.statusCode).toBe(409)
      expect(full.json()).toEqual({
        type: 'urn:latchkey:error:lock_full',
        title: 'Lock full',
        status: 409,
        code: 'lock_full',
        detail: 'The lock has no free slot.',
      })

      const issues = await app.inject({ method: 'GET', url: '/issues' })
      expect(issues.statusCode).toBe(400)
      expect(issues.json().errors).toEqual([{ field: 'rule.kind', message: 'unknown kind' }])

      const decrypt = await app.inject({ method: 'GET', url: '/decrypt' })
      expect(decrypt.statusCode).toBe(500)
      expect(decrypt.body).not.toContain('lock:42')
    } finally {
      await close()
    }
  })
})

async function buildTestAppWithRoutes() {
  const { buildApp } = await import('../app.ts')
  const app = buildApp({ store: t.store, secrets: t.secrets, clock: t.clock })
  app.get('/boom', () => {
    throw new Error('connection to postgres://admin:s3cret@db failed')
  })
  app.get('/full', () => {
    throw new LatchkeyError('lock_full', 'lock 7 holds 250 of 250 codes', {
      userMessage: 'The lock has no free slot.',
    })
  })
  app.get('/issues', () => {
    throw new LatchkeyError('validation_failed', 'bad rule', {
      details: [{ path: ['rule', 'kind'], message: 'unknown kind' }],
    })
  })
  app.get('/decrypt', () => {
    throw new LatchkeyError('internal', 'cannot decrypt the value of lock:42')
  })
  await app.ready()
  return { app, close: () => app.close() }
}

describe('probes, metrics and documentation', () => {
  it('answers /healthz and /readyz while the store answers', async () => {
    expect((await t.app.inject({ method: 'GET', url: '/healthz' })).json()).toEqual({ status: 'ok' })
    const ready = await t.app.inject({ method: 'GET', url: '/readyz' })
    expect(ready.statusCode).toBe(200)
    expect(ready.json()).toEqual({ status: 'ok' })
  })

  it('answers /readyz with 503 when the store does not answer', async () => {
    const broken = await buildTestApp({
      store: { ...t.store, ping: () => Promise.reject(new Error('down')) },
    })
    try {
      const response = await broken.app.inject({ method: 'GET', url: '/readyz' })
      expect(response.statusCode).toBe(503)
      expect(response.json()).toEqual({
        type: 'urn:latchkey:error:service_unavailable',
        title: 'Service unavailable',
        status: 503,
        code: 'service_unavailable',
        detail: 'the database does not answer',
      })
    } finally {
      await broken.app.close()
    }
  })

  it('counts requests by route pattern and status in /metrics, with the process uptime', async () => {
    const scrape = async () =>
      (await t.app.inject({ method: 'GET', url: '/metrics', headers: METRICS_HEADERS })).body.split('\n')
    const value = (lines: string[], series: string) =>
      Number(lines.find((l) => l.startsWith(`${series} `))?.slice(series.length + 1) ?? 0)
    const deleted = 'http_requests_total{method="DELETE",route="/api/v1/api-keys/:id",status="401"}'
    const unmatched = 'http_requests_total{method="GET",route="unmatched",status="404"}'
    const before = await scrape()
    await t.app.inject({ method: 'DELETE', url: '/api/v1/api-keys/11111111-1111-4111-8111-111111111111' })
    await t.app.inject({ method: 'GET', url: '/api/v1/unknown/path' })
    await t.app.inject({ method: 'GET', url: '/api/v1/other/unknown/path' })
    const response = await t.app.inject({ method: 'GET', url: '/metrics', headers: METRICS_HEADERS })
    expect(response.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8')
    const lines = response.body.split('\n')
    expect(value(lines, deleted) - value(before, deleted)).toBe(1)
    expect(value(lines, unmatched) - value(before, unmatched)).toBe(2)
    expect(lines).toContain('# TYPE process_uptime_seconds gauge')
    expect(lines.find((l) => l.startsWith('process_uptime_seconds '))).toMatch(
      /^process_uptime_seconds \d+(\.\d+)?$/,
    )
  })

  it('answers /metrics only to the metrics token, and not at all without one', async () => {
    for (const headers of [
      {},
      { authorization: 'Bearer wrong' },
      { authorization: `Basic ${TEST_METRICS_TOKEN}` },
    ]) {
      const refused = await t.app.inject({ method: 'GET', url: '/metrics', headers })
      expect([refused.statusCode, refused.json().code]).toEqual([401, 'unauthorized'])
      expect(refused.body).not.toContain('http_requests_total')
    }
    const untokened = await buildTestApp({ store: t.store, metricsToken: undefined })
    try {
      const absent = await untokened.app.inject({ method: 'GET', url: '/metrics' })
      expect([absent.statusCode, absent.json().code]).toEqual([404, 'not_found'])
    } finally {
      await untokened.app.close()
    }
  })

  it('serves an OpenAPI 3.1 document generated from the route schemas, and the docs', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/api/openapi.json' })
    expect(response.statusCode).toBe(200)
    const doc = response.json()
    expect(doc.openapi).toBe('3.1.0')
    // Every route of the product contract (SPEC §8) is in the document, with its methods.
    const specRoutes: Record<string, string[]> = {
      '/auth/signup': ['get', 'post'],
      '/auth/login': ['post'],
      '/auth/accept-invitation': ['post'],
      '/auth/invitation': ['post'],
      '/api-keys': ['get', 'post'],
      '/api-keys/{id}': ['delete'],
      '/organization/settings': ['get', 'patch'],
      '/members': ['get'],
      '/members/{userId}': ['delete', 'patch'],
      '/invitations': ['get', 'post'],
      '/invitations/{id}': ['delete', 'get'],
      '/gateways': ['get', 'post'],
      '/gateways/{id}': ['delete', 'get'],
      '/gateways/{id}/rotate-token': ['post'],
      '/locks': ['get', 'post'],
      '/locks/{id}': ['delete', 'get', 'patch'],
      '/locks/{id}/unlock': ['post'],
      '/locks/{id}/sync-time': ['post'],
      '/locks/{id}/reconcile': ['post'],
      '/locks/{lockId}/access-codes': ['get', 'post'],
      '/access-codes/{id}': ['delete', 'get', 'patch'],
      '/access-codes/{id}/diagnosis': ['get'],
      '/unique-codes': ['get', 'post'],
      '/unique-codes/{id}': ['delete', 'get', 'patch'],
      '/unique-codes/{id}/reset-device': ['post'],
      '/permissions': ['get', 'post'],
      '/permissions/{id}': ['delete'],
      '/app/code-login': ['post'],
      '/app/locks': ['get'],
      '/app/locks/{id}/unlock': ['post'],
      '/app/locks/{id}/ekey': ['post'],
      '/events': ['get'],
      '/events.csv': ['get'],
      '/events/stream': ['get'],
    }
    const documented = Object.fromEntries(
      Object.entries(doc.paths as Record<string, Record<string, unknown>>).map(([path, ops]) => [
        path.replace('/api/v1', ''),
        Object.keys(ops).sort(),
      ]),
    )
    for (const [path, methods] of Object.entries(specRoutes)) {
      expect({ path, methods: documented[path] }).toEqual({ path, methods: expect.arrayContaining(methods) })
    }
    const signup = doc.paths['/api/v1/auth/signup'].post
    expect(signup.requestBody.content['application/json'].schema.required).toEqual([
      'email',
      'password',
      'organizationName',
    ])
    expect(signup.responses['409'].content['application/problem+json'].schema).toEqual({
      $ref: '#/components/schemas/Problem',
    })
    // a time in a request is documented with its formats (offsets and local times)
    const created = doc.paths['/api/v1/locks/{lockId}/access-codes'].post
    const startsAt = created.requestBody.content['application/json'].schema.properties.startsAt
    expect(startsAt.description).toContain('local date-time without offset (`2026-12-03T10:00`')
    expect(startsAt.examples).toEqual([
      '2026-12-03T10:00',
      '2026-12-03T10:00:00+11:00',
      '2026-12-02T23:00:00Z',
    ])
    // the simulator's routes belong to the demo only
    expect(Object.keys(doc.paths).filter((path) => path.startsWith('/sim'))).toEqual([])
    expect(doc.paths['/api/v1/me'].get.security).toEqual([{ bearerAuth: [] }, { sessionCookie: [] }])
    const docs = await t.app.inject({ method: 'GET', url: '/api/docs' })
    expect(docs.statusCode).toBe(200)
    expect(docs.headers['content-type']).toBe('text/html; charset=utf-8')
  })
})
