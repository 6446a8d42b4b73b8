/**
 * Bad input never gets a 500: this walks EVERY route of the OpenAPI document as the owner of the
 * resources it names (and the end user's app routes with an app token), and sends each what a
 * careless client or an attacker would: ids that are not ids, bodies that are not JSON or not
 * objects, fields of the wrong type, oversized strings, query values that mean nothing. Every answer
 * must be below 500, and every refusal a problem+json document with a code of the closed set.
 */
import { ERROR_CODES } from '@latchkey/core'
import type { InjectOptions } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, seedOrganization, signupOwner, type TestAccount, type TestApp } from '../testing.ts'

let t: TestApp
let owner: TestAccount
let ids: Record<string, string> = {}
let appHeaders: { authorization: string }

beforeAll(async () => {
  t = await buildTestApp()
  owner = await signupOwner(t.app, { organizationName: 'Careless Client Ltd' })
  const seeded = await seedOrganization(t.app, owner, 'Careless')
  ids = seeded.ids
  const login = await t.app.inject({
    method: 'POST',
    url: '/api/v1/app/code-login',
    payload: { code: seeded.uniqueCode, deviceId: 'walk-device' },
  })
  expect(login.statusCode).toBe(200)
  appHeaders = { authorization: `Bearer ${login.json().token}` }
})
afterAll(() => t.close())

interface Operation {
  parameters?: Array<{ in: string; name: string }>
  requestBody?: { content: Record<string, { schema?: { properties?: Record<string, unknown> } }> }
}

/** Values that are not what a path parameter names. */
const BAD_IDS = [
  'not-a-uuid',
  '00000000-0000-0000-0000-000000000000',
  'x'.repeat(2_000),
  '%E0%A4%A',
  encodeURIComponent("1'; drop table locks;--"),
]

/** Raw bodies sent as application/json that are not a JSON object. */
const BAD_RAW_BODIES = ['{"name":', '[]', 'null', '42', '"text"', '{"a":'.repeat(5_000)]

/** Values of the wrong type for any field. */
const WRONG_VALUES: unknown[] = [
  { nested: [1, { deeper: null }] },
  -1.5,
  'x'.repeat(100_000),
  true,
  [],
  'Cleaner\u0000Tuesday',
]

/** Values for a query parameter that mean nothing. */
const BAD_QUERY_VALUES = ['garbage', '-1', '9'.repeat(40), '', '2030-13-45T99:99:99Z', '%00']

/** Long-lived answers (server-sent events): only their refusals are walked. */
const STREAMS = new Set(['/events/stream'])

interface Answer {
  route: string
  input: string
  status: number
  problem: boolean
  code: unknown
}

async function send(route: string, input: string, options: InjectOptions): Promise<Answer> {
  const response = await t.app.inject(options)
  let code: unknown = null
  let problem = false
  if (response.statusCode >= 400) {
    problem = String(response.headers['content-type']).startsWith('application/problem+json')
    code = problem ? response.json().code : response.body.slice(0, 200)
  }
  return { route, input, status: response.statusCode, problem, code }
}

/** Answers that were 500 or more, or a refusal that is not problem+json with a known code. */
const mishandled: Answer[] = []

function expectHandled(answer: Answer) {
  const refusedWell = answer.problem && ERROR_CODES.includes(answer.code as never)
  if (answer.status >= 500 || (answer.status >= 400 && !refusedWell)) mishandled.push(answer)
}

function headersFor(path: string): Record<string, string> {
  return path.startsWith('/app/') ? appHeaders : owner.headers
}

function fill(path: string, value?: string): string {
  return `/api/v1${path.replace(/\{[A-Za-z]+\}/g, (param) => {
    if (value !== undefined) return value
    // the end user's /app/locks/{id} names a lock too
    const resource = /^(\/[a-z-]+\/\{[A-Za-z]+\})/.exec(path.replace(/^\/app/, ''))?.[1]
    const id = resource === undefined ? undefined : ids[resource]
    if (id === undefined) throw new Error(`no id for ${param} in ${path}`)
    return id
  })}`
}

describe('every route, given bad input', () => {
  it('answers below 500, and refuses with problem+json and a stable code', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/api/openapi.json' })).json() as {
      paths: Record<string, Record<string, Operation>>
    }
    let sent = 0
    for (const [fullPath, operations] of Object.entries(doc.paths)) {
      if (!fullPath.startsWith('/api/v1')) continue
      const path = fullPath.replace('/api/v1', '')
      for (const [method, operation] of Object.entries(operations)) {
        const route = `${method} ${path}`
        const base = { method: method.toUpperCase() as InjectOptions['method'], headers: headersFor(path) }
        const hasBody = operation.requestBody !== undefined
        const validBody = hasBody ? {} : undefined

        if (path.includes('{')) {
          for (const bad of BAD_IDS) {
            const url = fill(path, bad)
            expectHandled(await send(route, `id ${bad.slice(0, 40)}`, { ...base, url, payload: validBody }))
            sent += 1
          }
        }
        if (STREAMS.has(path)) continue

        const url = fill(path)
        for (const param of (operation.parameters ?? []).filter((p) => p.in === 'query')) {
          for (const value of BAD_QUERY_VALUES) {
            const query = `${param.name}=${value}`
            expectHandled(await send(route, `query ${query}`, { ...base, url: `${url}?${query}` }))
            sent += 1
          }
        }
        if (!hasBody) continue
        for (const raw of BAD_RAW_BODIES) {
          const options: InjectOptions = {
            ...base,
            url,
            headers: { ...base.headers, 'content-type': 'application/json' },
            payload: raw,
          }
          expectHandled(await send(route, `body ${raw.slice(0, 20)}`, options))
          sent += 1
        }
        const fields = Object.keys(
          operation.requestBody!.content['application/json']?.schema?.properties ?? { name: null },
        )
        for (const field of fields) {
          for (const value of WRONG_VALUES) {
            const input = `field ${field}=${JSON.stringify(value).slice(0, 30)}`
            expectHandled(await send(route, input, { ...base, url, payload: { [field]: value } }))
            sent += 1
          }
        }
      }
    }
    expect(mishandled).toEqual([])
    expect(sent).toBeGreaterThan(300)
  })
})

describe('a NUL character', () => {
  it('in a name or a filter is refused as validation_failed naming the field, and nothing is stored', async () => {
    const lockUrl = `/api/v1/locks/${ids['/locks/{id}']}`
    const renamed = await t.app.inject({
      method: 'PATCH',
      url: lockUrl,
      headers: owner.headers,
      payload: { name: 'Front\u0000door' },
    })
    expect([renamed.statusCode, renamed.json()]).toEqual([
      400,
      {
        type: 'urn:latchkey:error:validation_failed',
        title: 'Validation failed',
        status: 400,
        code: 'validation_failed',
        detail: 'invalid name',
        errors: [{ in: 'body', field: 'name', message: 'must not contain the NUL character' }],
      },
    ])
    expect((await t.app.inject({ method: 'GET', url: lockUrl, headers: owner.headers })).json().name).toBe(
      'Careless front door',
    )
    const filtered = await t.app.inject({
      method: 'GET',
      url: '/api/v1/events?type=lock.unlocked%00',
      headers: owner.headers,
    })
    expect([filtered.statusCode, filtered.json().errors]).toEqual([
      400,
      [{ in: 'querystring', field: 'type', message: 'must not contain the NUL character' }],
    ])
  })
})
