/**
 * Tenants are isolated (SPEC §2): this walks EVERY route of the OpenAPI document with a second
 * organization's credentials against the first organization's resources. A route with a path
 * parameter must answer 404 not_found and change nothing; a list must not show any of the first
 * organization's ids or names. Ids passed in a request body (every `…Id` / `…Ids` field of the
 * OpenAPI document) are walked too, and so is every `/app/*` route with an end user's session of
 * the second organization. A new route with a parameter, or a new id field in a body, that this walk
 * does not know fails the test, so it cannot be added without being walked.
 */
import type { InjectOptions } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, seedOrganization, signupOwner, type TestAccount, type TestApp } from '../testing.ts'

let t: TestApp
let a: TestAccount
let b: TestAccount
/** The first organization's resources, by the path parameter that names them. */
const ids: Record<string, string> = {}
/** Strings of the first organization that must never appear in an answer to the second. */
let secrets: string[] = []
/** The second organization's own resources, for bodies that must be valid but for one foreign id. */
const own: Record<string, string> = {}
let ownUniqueCode = ''

async function call(account: TestAccount, method: string, url: string, payload?: unknown) {
  const options: InjectOptions = {
    method: method.toUpperCase() as InjectOptions['method'],
    url,
    headers: account.headers,
  }
  if (payload !== undefined) options.payload = payload as object
  return t.app.inject(options)
}

beforeAll(async () => {
  t = await buildTestApp()
  a = await signupOwner(t.app, { organizationName: 'Harbour Flats' })
  b = await signupOwner(t.app, { organizationName: 'Intruder Ltd' })
  const seeded = await seedOrganization(t.app, a, 'Harbour')
  Object.assign(ids, seeded.ids)
  secrets = [
    ...Object.values(ids),
    a.organizationId,
    a.userId,
    'Harbour',
    'harbour.test',
    seeded.pin,
    seeded.uniqueCode,
  ]
  const intruder = await seedOrganization(t.app, b, 'Intruder')
  Object.assign(own, intruder.ids)
  ownUniqueCode = intruder.uniqueCode
})
afterAll(() => t.close())

/** A valid body for each route that takes one, so validation cannot stand in for the ownership check. */
const BODIES: Record<string, unknown> = {
  'patch /locks/{id}': { name: 'Taken over' },
  'patch /access-codes/{id}': { name: 'Taken over' },
  'patch /unique-codes/{id}': { description: 'Taken over' },
  'patch /members/{userId}': { role: 'owner' },
  'post /locks/{lockId}/access-codes': { name: 'Intruder', kind: 'permanent', delivery: 'synced' },
  'post /locks/{lockId}/access-codes/import': {
    rows: [{ name: 'Intruder', kind: 'permanent', delivery: 'synced' }],
  },
  'patch /properties/{id}': { name: 'Taken over' },
  'patch /stays/{id}': { guestName: 'Taken over' },
  'post /properties/{id}/calendars': { url: 'https://calendar.example/feed.ics' },
  'patch /webhooks/{id}': { description: 'Taken over' },
}

/** Routes outside an organization's data: sign-up and login, the end user's app (own tokens), the broker. */
const OUTSIDE = [/^\/auth\//, /^\/app\//, /^\/broker$/]

interface OpenApi {
  paths: Record<string, Record<string, { requestBody?: { content?: Record<string, { schema?: unknown }> } }>>
  components?: { schemas?: Record<string, unknown> }
}

/** Every `…Id` / `…Ids` field of every request body, as `method path field.path`. */
function bodyIdFields(doc: OpenApi): string[] {
  const fields: string[] = []
  const walk = (schema: unknown, prefix: string, route: string, depth: number) => {
    if (typeof schema !== 'object' || schema === null || depth > 8) return
    let node = schema as Record<string, unknown>
    if (typeof node.$ref === 'string')
      node = (doc.components?.schemas?.[node.$ref.split('/').pop()!] ?? {}) as Record<string, unknown>
    for (const [name, value] of Object.entries((node.properties ?? {}) as Record<string, unknown>)) {
      if (/Ids?$/.test(name)) fields.push(`${route} ${prefix}${name}`)
      walk(value, `${prefix}${name}.`, route, depth + 1)
    }
    for (const key of ['oneOf', 'anyOf', 'allOf'])
      for (const option of (node[key] ?? []) as unknown[]) walk(option, prefix, route, depth + 1)
    walk(node.items, prefix, route, depth + 1)
  }
  for (const [fullPath, operations] of Object.entries(doc.paths))
    for (const [method, operation] of Object.entries(operations))
      walk(
        operation.requestBody?.content?.['application/json']?.schema,
        '',
        `${method} ${fullPath.replace('/api/v1', '')}`,
        0,
      )
  return [...new Set(fields)]
}

function resourceOf(path: string): string | null {
  const match = /^(\/[a-z-]+\/\{[A-Za-z]+\})/.exec(path)
  return match ? match[1]! : null
}

/** `known`: what the caller itself sent (a 404 may name the id it was asked for). */
function expectNothingOf(body: string, what: string, known?: string) {
  for (const secret of secrets.filter((s) => s !== known))
    expect({ what, leaked: body.includes(secret) ? secret : null }).toEqual({ what, leaked: null })
}

describe('a second organization', () => {
  it('is refused every route that names a resource of the first, and sees none of it in lists', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/api/openapi.json' })).json() as {
      paths: Record<string, Record<string, unknown>>
    }
    const walked: string[] = []
    for (const [fullPath, operations] of Object.entries(doc.paths)) {
      const path = fullPath.replace('/api/v1', '')
      if (OUTSIDE.some((re) => re.test(path)) || !fullPath.startsWith('/api/v1') || path === '/events/stream')
        continue
      for (const method of Object.keys(operations)) {
        const resource = resourceOf(path)
        walked.push(`${method} ${path}`)
        if (resource === null) {
          if (method !== 'get') continue
          const response = await call(b, method, `/api/v1${path}`)
          expect({ route: `${method} ${path}`, status: response.statusCode }).toEqual({
            route: `${method} ${path}`,
            status: 200,
          })
          expectNothingOf(response.body, `${method} ${path}`)
          continue
        }
        const id = ids[resource]
        expect({ route: `${method} ${path}`, known: id !== undefined }).toEqual({
          route: `${method} ${path}`,
          known: true,
        })
        const url = `/api/v1${path.replace(/\{[A-Za-z]+\}/, id!)}`
        const response = await call(b, method, url, BODIES[`${method} ${path}`])
        expect({
          route: `${method} ${path}`,
          status: response.statusCode,
          code: response.json().code,
        }).toEqual({
          route: `${method} ${path}`,
          status: 404,
          code: 'not_found',
        })
        expectNothingOf(response.body, `${method} ${path}`, id)
      }
    }
    expect(walked.length).toBeGreaterThanOrEqual(25)
  })

  it('is refused every id of the first passed in a request body', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/api/openapi.json' })).json() as OpenApi
    // Each id field of a body: the route (own resources in the path) and a body valid but for that field.
    const cases: Record<string, { url: string; body: () => unknown }> = {
      'post /locks gatewayId': {
        url: '/locks',
        body: () => ({
          name: 'Intruder side door',
          timezone: 'Europe/Berlin',
          gatewayId: ids['/gateways/{id}'],
        }),
      },
      'patch /locks/{id} gatewayId': {
        url: `/locks/${own['/locks/{id}']}`,
        body: () => ({ gatewayId: ids['/gateways/{id}'] }),
      },
      'patch /properties/{id} lockIds': {
        url: `/properties/${own['/properties/{id}']}`,
        body: () => ({ lockIds: [ids['/locks/{id}']] }),
      },
      'post /properties lockIds': {
        url: '/properties',
        body: () => ({ name: 'Taken over', timezone: 'Europe/Berlin', lockIds: [ids['/locks/{id}']] }),
      },
      'post /stays propertyId': {
        url: '/stays',
        body: () => ({
          propertyId: ids['/properties/{id}'],
          guestName: 'Intruder',
          checkIn: '2030-02-01',
          checkOut: '2030-02-03',
        }),
      },
      'post /permissions lockIds': {
        url: '/permissions',
        body: () => ({
          lockIds: [ids['/locks/{id}']],
          grantee: { type: 'unique_code', uniqueCodeId: own['/unique-codes/{id}'] },
          level: 'maintenance',
        }),
      },
      'post /permissions grantee.uniqueCodeId': {
        url: '/permissions',
        body: () => ({
          lockIds: [own['/locks/{id}']],
          grantee: { type: 'unique_code', uniqueCodeId: ids['/unique-codes/{id}'] },
          level: 'maintenance',
        }),
      },
    }
    // the device id of a Code Login is the caller's own name for its phone, not a resource
    const found = bodyIdFields(doc).filter((key) => key !== 'post /app/code-login deviceId')
    expect(found.sort()).toEqual([...Object.keys(cases), 'post /auth/login organizationId'].sort())
    // Logging in with one's own password into the first organization opens nothing of it.
    const login = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email: b.email, password: b.password, organizationId: a.organizationId },
      remoteAddress: '203.0.113.78',
    })
    expect([login.statusCode, login.json().code, login.json().token]).toEqual([403, 'forbidden', undefined])
    for (const [key, { url, body }] of Object.entries(cases)) {
      const method = key.split(' ')[0]!
      const response = await call(b, method, `/api/v1${url}`, body())
      expect({ route: key, status: response.statusCode, code: response.json().code }).toEqual({
        route: key,
        status: 404,
        code: 'not_found',
      })
      // a 404 may name the id it was sent
      const sent = Object.values(ids).find((id) => JSON.stringify(body()).includes(id))
      expectNothingOf(response.body, key, sent)
    }
  })

  it('walks every /app route with an end user of the second organization', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/api/openapi.json' })).json() as OpenApi
    const login = await t.app.inject({
      method: 'POST',
      url: '/api/v1/app/code-login',
      payload: { code: ownUniqueCode, deviceId: 'intruder-phone' },
      remoteAddress: '203.0.113.77',
    })
    expect(login.statusCode).toBe(200)
    const app: TestAccount = { ...b, headers: { authorization: `Bearer ${login.json().token}` } }
    const lists = (await call(app, 'GET', '/api/v1/app/locks')).json() as { items: Array<{ id: string }> }
    expect(lists.items.map((lock) => lock.id)).toEqual([own['/locks/{id}']])
    const walked: string[] = []
    for (const [fullPath, operations] of Object.entries(doc.paths)) {
      if (!fullPath.startsWith('/api/v1/app/')) continue
      const path = fullPath.replace('/api/v1', '')
      for (const method of Object.keys(operations)) {
        const route = `${method} ${path}`
        walked.push(route)
        if (route === 'post /app/code-login' || route === 'post /app/logout') continue
        if (!path.includes('{')) {
          const response = await call(app, method, fullPath)
          expect({ route, status: response.statusCode }).toEqual({ route, status: 200 })
          expectNothingOf(response.body, route)
          continue
        }
        expect({ route, param: path.replace(/\{[A-Za-z]+\}/, '{lock}') }).toEqual({
          route,
          param: `/app/locks/{lock}${path.slice(path.indexOf('}') + 1)}`,
        })
        const response = await call(
          app,
          method,
          `/api/v1${path.replace(/\{[A-Za-z]+\}/, ids['/locks/{id}']!)}`,
          {},
        )
        expect({ route, status: response.statusCode, code: response.json().code }).toEqual({
          route,
          status: 404,
          code: 'not_found',
        })
        expectNothingOf(response.body, route, ids['/locks/{id}'])
      }
    }
    expect(walked.sort()).toEqual([
      'get /app/locks',
      'post /app/code-login',
      'post /app/locks/{id}/ekey',
      'post /app/locks/{id}/unlock',
      'post /app/logout',
    ])
  })

  it('finds nothing of the first through filters', async () => {
    const filters = [
      `/api/v1/events?lockId=${ids['/locks/{id}']}`,
      `/api/v1/events?accessCodeId=${ids['/access-codes/{id}']}`,
      `/api/v1/events?uniqueCodeId=${ids['/unique-codes/{id}']}`,
      `/api/v1/events.csv?lockId=${ids['/locks/{id}']}`,
      `/api/v1/events?propertyId=${ids['/properties/{id}']}`,
      `/api/v1/events.csv?propertyId=${ids['/properties/{id}']}`,
      `/api/v1/access-codes?propertyId=${ids['/properties/{id}']}`,
      `/api/v1/permissions?lockId=${ids['/locks/{id}']}`,
      `/api/v1/permissions?uniqueCodeId=${ids['/unique-codes/{id}']}`,
    ]
    for (const url of filters) {
      const response = await call(b, 'GET', url)
      expect([200, 404]).toContain(response.statusCode)
      expectNothingOf(response.body, url)
    }
  })

  it('cannot share the first organization’s lock or unique code', async () => {
    const ownLockCode = await call(b, 'POST', '/api/v1/permissions', {
      lockIds: [ids['/locks/{id}']],
      grantee: { type: 'user', email: b.email },
      level: 'maintenance',
    })
    expect(ownLockCode.statusCode).toBe(404)
    expect(ownLockCode.json().code).toBe('not_found')
  })

  it('reads none of the first organization’s events on the event stream', async () => {
    const address = await t.app.listen({ host: '127.0.0.1', port: 0 })
    const response = await fetch(`${address}/api/v1/events/stream?after=0`, {
      headers: b.headers,
      signal: AbortSignal.timeout(2_500),
    })
    expect(response.status).toBe(200)
    let body = ''
    const decoder = new TextDecoder()
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        body += decoder.decode(chunk, { stream: true })
      }
    } catch (error) {
      expect((error as Error).name).toMatch(/TimeoutError|AbortError/)
    }
    // the stream did replay the second organization's own history, and nothing else
    expect(body).toContain('retry:')
    expectNothingOf(body, 'events/stream')
  })

  it('left every resource of the first organization as it was', async () => {
    const lock = (await call(a, 'GET', `/api/v1/locks/${ids['/locks/{id}']}`)).json()
    expect(lock.name).toBe('Harbour front door')
    const code = await call(a, 'GET', `/api/v1/access-codes/${ids['/access-codes/{id}']}`)
    expect(code.statusCode).toBe(200)
    expect(code.json()).toMatchObject({ name: 'Harbour cleaner – Tuesday', code: '583049', deletedAt: null })
    const shares = (await call(a, 'GET', '/api/v1/permissions')).json()
    expect(shares.items.map((s: { id: string }) => s.id)).toContain(ids['/permissions/{id}'])
    const keys = (await call(a, 'GET', '/api/v1/api-keys')).json()
    expect(keys.items.map((k: { id: string }) => k.id)).toContain(ids['/api-keys/{id}'])
    const members = (await call(a, 'GET', '/api/v1/members')).json()
    expect(members.items.map((m: { userId: string }) => m.userId)).toContain(ids['/members/{userId}'])
    expect(members.items.map((m: { role: string }) => m.role).sort()).toEqual(['member', 'owner'])
    const invitations = (await call(a, 'GET', '/api/v1/invitations')).json()
    expect(invitations.items.map((i: { id: string }) => i.id)).toEqual([ids['/invitations/{id}']])
    const uniqueCodes = (await call(a, 'GET', '/api/v1/unique-codes')).json()
    expect(uniqueCodes.items.map((u: { id: string }) => u.id)).toContain(ids['/unique-codes/{id}'])
  })
})
