/**
 * Bad input never gets a 500: a fuzz of EVERY operation of the OpenAPI document, generated from the
 * document itself. For each operation it walks the path, query and body schemas and sends what a
 * careless client or an attacker would: values that fit the schema next to wrong types, missing
 * required fields, extra and `__proto__` fields, huge strings, deep nesting, numbers out of range,
 * dates and time zones that do not exist, ids that are not ids (invalid UUIDs, path traversal,
 * another resource's id), bodies that are not JSON, wrong content types and hostile headers; as the
 * owner of a seeded organization (the end user's app routes with an app token), without a token and
 * with a bad one. Every answer must be below 500, and every refusal a problem+json document with a
 * code of the closed set (ERROR_CODES). fast-check drives it with a fixed seed, so a run is
 * repeatable; the number of requests is bounded per operation and in time, and printed.
 */
import { ERROR_CODES } from '@latchkey/core'
import fc from 'fast-check'
import type { InjectOptions } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  buildTestApp,
  seedOrganization,
  signupOwner,
  TEST_EPOCH,
  type TestAccount,
  type TestApp,
} from '../testing.ts'

/** The fixed seed; LATCHKEY_FUZZ_SEED tries another. */
const SEED = Number(process.env.LATCHKEY_FUZZ_SEED ?? 14_022_026)
/** Requests per operation: a base, and more for each field and parameter it takes; a bound in time. */
const RUNS_PER_OPERATION = 20
const RUNS_PER_INPUT = 16
const TIME_LIMIT_MS = 240_000

interface Schema {
  $ref?: string
  type?: string | string[]
  enum?: unknown[]
  const?: unknown
  format?: string
  minLength?: number
  maxLength?: number
  minimum?: number
  maximum?: number
  minItems?: number
  maxItems?: number
  items?: Schema
  properties?: Record<string, Schema>
  required?: string[]
  anyOf?: Schema[]
  oneOf?: Schema[]
  allOf?: Schema[]
  examples?: unknown[]
  pattern?: string
}
interface Parameter {
  in: 'path' | 'query' | 'header' | 'cookie'
  name: string
  required?: boolean
  schema?: Schema
}
interface Operation {
  parameters?: Parameter[]
  requestBody?: { required?: boolean; content: Record<string, { schema?: Schema }> }
}
interface OpenApiDocument {
  paths: Record<string, Record<string, Operation>>
  components: { schemas: Record<string, Schema> }
}

let t: TestApp
let owner: TestAccount
let ids: Record<string, string> = {}
let appToken: string
let doc: OpenApiDocument
let streamBase: string

beforeAll(async () => {
  t = await buildTestApp()
  owner = await signupOwner(t.app, { organizationName: 'Hostile Client Ltd' })
  const seeded = await seedOrganization(t.app, owner, 'Hostile')
  ids = seeded.ids
  const login = await t.app.inject({
    method: 'POST',
    url: '/api/v1/app/code-login',
    payload: { code: seeded.uniqueCode, deviceId: 'fuzz-device' },
  })
  expect(login.statusCode).toBe(200)
  appToken = login.json().token
  doc = (await t.app.inject({ method: 'GET', url: '/api/openapi.json' })).json() as OpenApiDocument
  // the event stream answers as it goes: it is sent over a socket and cut once its head is read
  streamBase = await t.app.listen({ port: 0, host: '127.0.0.1' })
})
afterAll(() => t.close())

// ---------------------------------------------------------------- values from the document

function resolve(schema: Schema): Schema {
  if (schema.$ref === undefined) return schema
  const name = schema.$ref.replace('#/components/schemas/', '')
  const target = doc.components.schemas[name]
  if (target === undefined) throw new Error(`unresolved ${schema.$ref}`)
  return resolve(target)
}

/** Every enum value, const and example the document names: the words a client would send. */
function documentWords(): string[] {
  const words = new Set<string>()
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const item of node) visit(item)
      return
    }
    if (node === null || typeof node !== 'object') return
    const record = node as Record<string, unknown>
    for (const key of ['enum', 'examples']) {
      const values = record[key]
      if (Array.isArray(values)) for (const v of values) if (typeof v === 'string') words.add(v)
    }
    if (typeof record.const === 'string') words.add(record.const)
    for (const value of Object.values(record)) visit(value)
  }
  visit(doc)
  return [...words].sort()
}

const DEEP = 3_000
const HUGE = 200_000

/** Strings no field of any route means. */
const HOSTILE_STRINGS = [
  '',
  ' ',
  'x'.repeat(HUGE),
  'Cleaner\u0000Tuesday',
  '\uD800',
  '\u202Eroot\u202C',
  'ключ-🔑-鍵',
  '../../../../etc/passwd',
  '..%2F..%2Fetc%2Fpasswd',
  "1'; drop table locks;--",
  '<script>alert(1)</script>',
  '{{7*7}}$' + '{7*7}',
  'not-a-uuid',
  '00000000-0000-0000-0000-000000000000',
  'ffffffff-ffff-ffff-ffff-ffffffffffff',
  '0000000g-0000-0000-0000-000000000000',
  // dates and times that are not, or mean nothing
  '2030-02-30T10:00:00Z',
  '2030-13-45T99:99:99Z',
  '2030-01-15T10:00:00+25:00',
  '2030-01-15T10:00:00-00:60',
  '2030-01-15T10:00:00[Mars/Olympus]',
  '+275760-09-13T00:00:00.001Z',
  '-271821-04-19T00:00:00Z',
  '0000-01-01T00:00:00Z',
  '9999-12-31T23:59:59.999999999Z',
  '2026-04-05T02:30',
  '2026-10-04T02:30',
  '2030-01-15',
  '24:01',
  '99:99',
  '-1:00',
  'yesterday',
  '1e400',
  // time zones that are not
  'Mars/Olympus',
  'UTC+99',
  'Etc/GMT+99',
  'Europe/Berlin\u0000',
  'europe/berlin',
  // numbers as strings
  '-1',
  '0',
  '9'.repeat(40),
  'NaN',
  'Infinity',
  '0x10',
  '%00',
]

const HOSTILE_NUMBERS = [
  -1,
  0,
  -0,
  0.5,
  -1.5,
  1e308,
  -1e308,
  2 ** 31,
  2 ** 53 + 2,
  -(2 ** 63),
  Number.MAX_SAFE_INTEGER,
]

/** A value nested far deeper than any schema goes, as raw JSON text. */
function deepJson(levels: number, open: string, close: string, inner = '1'): string {
  return open.repeat(levels) + inner + close.repeat(levels)
}

/** JSON that no schema of any route takes as a value of the kind it asks for. */
const arbWrongValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<unknown>(null, true, false, [], {}, [null], { nested: [1, { deeper: null }] }),
  fc.constantFrom(...HOSTILE_NUMBERS),
  fc.constantFrom(...HOSTILE_STRINGS),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.jsonValue({ maxDepth: 4 }),
)

function arbNear(schema: Schema, name: string, depth: number): fc.Arbitrary<unknown> {
  const s = resolve(schema)
  const alternatives = s.anyOf ?? s.oneOf
  if (alternatives !== undefined) return fc.oneof(...alternatives.map((a) => arbNear(a, name, depth)))
  if (s.allOf !== undefined) return arbNear(s.allOf[0]!, name, depth)
  if (s.const !== undefined) return fc.constant(s.const)
  if (s.enum !== undefined) return fc.constantFrom(...s.enum)
  if (Array.isArray(s.type)) {
    return fc.oneof(...s.type.map((type) => arbNear({ ...s, type }, name, depth)))
  }
  switch (s.type) {
    case 'null':
      return fc.constant(null)
    case 'boolean':
      return fc.boolean()
    case 'integer':
      return fc.integer({
        min: Math.max(s.minimum ?? -1_000, -1_000_000),
        max: Math.min(s.maximum ?? 1_000, 1_000_000),
      })
    case 'number':
      return fc.double({ min: s.minimum ?? -1_000, max: s.maximum ?? 1_000, noNaN: true })
    case 'array':
      return fc.array(arbNear(s.items ?? {}, name, depth + 1), {
        minLength: s.minItems ?? 0,
        maxLength: Math.max(s.minItems ?? 0, Math.min(s.maxItems ?? 3, 3)),
      })
    case 'object':
      return arbObject(s, depth)
    case 'string':
      return arbNearString(s, name)
    default:
      return fc.jsonValue({ maxDepth: 2 })
  }
}

/** A string the schema takes: its examples, the document's words, ids, instants and zones, or any text. */
function arbNearString(s: Schema, name: string): fc.Arbitrary<unknown> {
  const min = s.minLength ?? 0
  const max = s.maxLength ?? 10_000
  const fits = (v: string) => v.length >= min && v.length <= max
  const generic: fc.Arbitrary<string>[] = [
    fc.string({ minLength: min, maxLength: Math.max(min, Math.min(max, 24)) }),
  ]
  const known = words.filter(fits)
  if (known.length > 0) generic.push(fc.constantFrom(...known))
  // what the document says of this field, and what its name says it holds
  const choices: fc.Arbitrary<string>[] = []
  const examples = (s.examples ?? []).filter((v): v is string => typeof v === 'string')
  if (examples.length > 0) choices.push(fc.constantFrom(...examples))
  if (s.pattern !== undefined) choices.push(fc.stringMatching(new RegExp(s.pattern)))
  if (s.format === 'uuid' || /Ids?$|^id$/.test(name)) {
    choices.push(fc.constantFrom(...idPool()), fc.constantFrom(...idPool()), fc.uuid())
  }
  const instant = fc
    .integer({ min: -400, max: 4_000 })
    .map((hours) => new Date(TEST_EPOCH + hours * 3_600_000).toISOString())
  if (s.format === 'date-time') choices.push(instant)
  else if (/At$|^from$|^to$/.test(name))
    choices.push(
      instant,
      instant.map((v) => v.slice(0, 16)),
    )
  else if (/On$|^check(In|Out)$/.test(name)) choices.push(instant.map((v) => v.slice(0, 10)))
  if (/time_?zone/i.test(name))
    choices.push(fc.constantFrom('Australia/Sydney', 'Europe/Berlin', 'UTC', 'America/New_York'))
  if (/^(start|end)$/.test(name)) {
    choices.push(
      fc
        .tuple(fc.integer({ min: 0, max: 24 }), fc.constantFrom(0, 30))
        .map(([h, m]) => `${String(h).padStart(2, '0')}:${m === 0 ? '00' : '30'}`),
    )
  }
  if (/^(code|pin)$/.test(name)) choices.push(fc.stringMatching(/^\d{4,10}$/))
  if (/email/i.test(name)) choices.push(fc.nat(99).map((n) => `guest${n}@example.test`))
  if (s.format === 'uri' || /url$/i.test(name)) {
    choices.push(fc.constantFrom('http://127.0.0.1:9/hook', 'https://calendar.invalid/a.ics'))
  }
  if (choices.length === 0) return fc.oneof(...generic).filter(fits)
  return fc
    .oneof({ weight: 8, arbitrary: fc.oneof(...choices) }, { weight: 1, arbitrary: fc.oneof(...generic) })
    .filter(fits)
}

function arbObject(s: Schema, depth: number): fc.Arbitrary<unknown> {
  const properties = s.properties ?? {}
  if (depth > 4) return fc.constant({})
  const arbs: Record<string, fc.Arbitrary<unknown>> = {}
  for (const [key, property] of Object.entries(properties)) arbs[key] = arbNear(property, key, depth + 1)
  return fc.record(arbs, { requiredKeys: (s.required ?? []).filter((k) => k in arbs) })
}

/** The values at and past the edges of what a field's schema takes. */
function arbEdge(schema: Schema, name: string): fc.Arbitrary<unknown> {
  const s = resolve(schema)
  const edges: unknown[] = []
  const { minimum, maximum, minLength, maxLength } = s
  if (minimum !== undefined) edges.push(minimum, minimum - 1, minimum - 0.5)
  if (maximum !== undefined) edges.push(maximum, maximum + 1, maximum + 0.5)
  if (minLength !== undefined && minLength > 0) edges.push('7'.repeat(minLength - 1))
  if (maxLength !== undefined)
    edges.push('7'.repeat(maxLength), '7'.repeat(maxLength + 1), 'é'.repeat(maxLength))
  if (s.minItems !== undefined) edges.push([])
  if (s.maxItems !== undefined) edges.push(Array.from({ length: s.maxItems + 1 }, () => null))
  if (s.format === 'date-time' || /At$|On$|^from$|^to$|^check(In|Out)$/.test(name)) edges.push(...EDGE_TIMES)
  if (edges.length === 0) return arbWrongValue
  return fc.constantFrom(...edges)
}

/** Times at the edges of the calendar, the store and the offsets. */
const EDGE_TIMES = [
  '0000-01-01T00:00:00Z',
  '0000-01-01T00:00',
  '0000-01-01',
  '0001-01-01T00:00:00Z',
  '1969-12-31T23:59:59.999Z',
  '1970-01-01T00:00',
  '9999-12-31T23:59:59.999Z',
  '9999-12-31T23:30-10:00',
  '9999-12-31T23:30',
  '9999-12-31',
  '2030-01-15T10:00:00+23:59',
  '2030-01-15T10:00:00.123456789-23:59',
  '2028-02-29T00:00:00Z',
  '2030-02-29T00:00:00Z',
]

/** How a body that fits the schema is made not to. */
const MUTATIONS = [
  'none',
  'drop-required',
  'wrong-field',
  'edge-field',
  'extra-field',
  'proto',
  'whole-wrong',
] as const

function arbBodyValue(schema: Schema): fc.Arbitrary<{ value: unknown; proto: boolean }> {
  const s = resolve(schema)
  const fields = Object.keys(s.properties ?? {})
  const required = s.required ?? []
  return fc
    .tuple(
      arbNear(s, '', 0),
      fc.oneof(
        { weight: 3, arbitrary: fc.constant('none' as const) },
        { weight: 2, arbitrary: fc.constant('edge-field' as const) },
        { weight: 6, arbitrary: fc.constantFrom(...MUTATIONS) },
      ),
      fc.constantFrom(...(fields.length > 0 ? fields : ['name'])),
      fc.constantFrom(...(required.length > 0 ? required : ['name'])),
      arbWrongValue,
      fc
        .constantFrom(...(fields.length > 0 ? fields : ['name']))
        .chain((field) => arbEdge(s.properties?.[field] ?? {}, field).map((edge) => [field, edge] as const)),
    )
    .map(([near, mutation, field, requiredField, wrong, [edgeField, edge]]) => {
      if (near === null || typeof near !== 'object' || Array.isArray(near))
        return { value: near, proto: false }
      const body = { ...(near as Record<string, unknown>) }
      switch (mutation) {
        case 'drop-required':
          delete body[requiredField]
          break
        case 'wrong-field':
          body[field] = wrong
          break
        case 'edge-field':
          body[edgeField] = edge
          break
        case 'extra-field':
          body.isAdmin = true
          body.organizationId = '00000000-0000-0000-0000-000000000000'
          break
        case 'whole-wrong':
          return { value: wrong, proto: false }
      }
      return { value: body, proto: mutation === 'proto' }
    })
}

/** Raw bodies that are not a JSON document, or are one no route can read. */
const RAW_BODIES = [
  '{"name":',
  '{name: "x"}',
  "{'name':'x'}",
  '[]',
  'null',
  '42',
  '"text"',
  '\uFEFF{}',
  '{"a":1,"a":2}',
  'name=x&kind=permanent',
  '<?xml version="1.0"?><a/>',
  '{"a":'.repeat(5_000),
  deepJson(DEEP, '[', ']'),
  deepJson(DEEP, '{"a":', '}'),
  `{"name":"${'x'.repeat(HUGE)}"}`,
  '\u0000\u0001\u0002',
]

const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=utf-16',
  'application/problem+json',
  'text/plain',
  'text/html',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=xyz',
  'application/xml',
  'application/octet-stream',
  '*/*',
  'application/json; boundary=',
  'garbage',
]

const HOSTILE_IDS = [
  'not-a-uuid',
  '00000000-0000-0000-0000-000000000000',
  'ffffffff-ffff-ffff-ffff-ffffffffffff',
  '6f1c2a4e-1b7d-4e8a-9b3c-2d4e5f6a7b8c',
  'x'.repeat(2_000),
  '%E0%A4%A',
  '%00',
  '..',
  '..%2F..%2Fadmin',
  '%2e%2e%2f%2e%2e%2f',
  '....//....//etc',
  encodeURIComponent('../../etc/passwd'),
  encodeURIComponent("1'; drop table locks;--"),
  encodeURIComponent('ключ🔑'),
  '-1',
  '1e999',
  'null',
  '%20',
]

/** Authentication as sent: the owner (most), none, or a credential that is not one. */
type Credential = 'owner' | 'none' | 'bad'
const BAD_AUTHORIZATIONS = [
  'Bearer garbage',
  'Bearer ',
  'Bearer',
  'Basic dXNlcjpwYXNz',
  `Bearer ${'x'.repeat(8_000)}`,
  'Bearer lk_0000000000000000000000000000000000000000',
  'bearer lowercase-scheme',
  'Bearer a.b.c',
]

const HOSTILE_HEADERS: Array<Record<string, string>> = [
  {},
  { 'x-forwarded-for': '999.999.999.999, ::ffff:bad' },
  { 'last-event-id': '-1' },
  { 'last-event-id': '9'.repeat(40) },
  { cookie: 'latchkey_session=garbage; latchkey_app=%00' },
  { cookie: `latchkey_session=${'x'.repeat(4_000)}` },
  { accept: 'text/html' },
  { accept: 'application/xml' },
  { 'accept-language': 'xx-YY;q=garbage' },
  { 'x-http-method-override': 'DELETE' },
  { origin: 'https://evil.invalid' },
  { 'idempotency-key': 'x'.repeat(1_000) },
  { 'if-none-match': '"*"' },
]

let words: string[] = []
function idPool(): string[] {
  return [...new Set(Object.values(ids))]
}

// ---------------------------------------------------------------- requests

interface Case {
  credential: Credential
  badAuthorization: string
  headers: Record<string, string>
  params: Record<string, string>
  query: string
  body:
    | { kind: 'none' }
    | { kind: 'json'; text: string; contentType: string }
    | { kind: 'raw'; text: string; contentType: string | null }
}

function idFor(path: string): string {
  // the end user's /app/locks/{id} names a lock too
  const resource = /^(\/[a-z-]+\/\{[A-Za-z]+\})/.exec(path.replace(/^\/app/, ''))?.[1]
  return (resource === undefined ? undefined : ids[resource]) ?? idPool()[0]!
}

/** Percent-encoded as a client would; a lone surrogate (which has no UTF-8) as the bytes of one. */
function encode(text: string): string {
  try {
    return encodeURIComponent(text)
  } catch {
    return encodeURIComponent(text.replace(/[\uD800-\uDFFF]/g, '')) + '%ED%A0%80'
  }
}

function encodeQueryValue(value: unknown): string {
  return encode(
    typeof value === 'string' ? value : typeof value === 'object' ? JSON.stringify(value) : String(value),
  )
}

function arbCase(path: string, operation: Operation): fc.Arbitrary<Case> {
  const parameters = operation.parameters ?? []
  const pathParams = parameters.filter((p) => p.in === 'path')
  const queryParams = parameters.filter((p) => p.in === 'query')
  const arbParams = fc.record(
    Object.fromEntries(
      pathParams.map((p) => [
        p.name,
        fc.oneof(
          { weight: 5, arbitrary: fc.constant(idFor(path)) },
          { weight: 2, arbitrary: fc.constantFrom(...HOSTILE_IDS) },
          { weight: 1, arbitrary: fc.constantFrom(...idPool()) },
        ),
      ]),
    ),
  ) as fc.Arbitrary<Record<string, string>>
  const arbQuery = fc
    .tuple(
      fc.tuple(
        ...queryParams.map((p) =>
          fc.option(arbNear(p.schema ?? {}, p.name, 0).map(encodeQueryValue), { freq: 2 }),
        ),
      ),
      fc
        .nat(Math.max(0, queryParams.length - 1))
        .chain((index) =>
          fc.tuple(
            fc.constant(index),
            arbEdge(queryParams[index]?.schema ?? {}, queryParams[index]?.name ?? '').map(encodeQueryValue),
          ),
        ),
      fc.oneof(
        { weight: 3, arbitrary: fc.constant(null) },
        { weight: 3, arbitrary: fc.constant('edge') },
        fc.constantFrom(...HOSTILE_STRINGS.filter((v) => v.length < 10_000)).map(encode),
        fc.constantFrom('%00', '%E0%A4%A', '%', '&&&', '=', '[]'),
      ),
      fc.oneof(
        { weight: 4, arbitrary: fc.constant('') },
        fc.constantFrom('&unknown=1', '&limit=1&limit=2', '&__proto__[x]=1', '&lockId[]=a&lockId[]=b'),
      ),
    )
    .map(([values, [index, edge], hostile, extra]) => {
      const pairs = queryParams.flatMap((p, i) => {
        const value = i === index && hostile !== null ? (hostile === 'edge' ? edge : hostile) : values[i]
        return value === null || value === undefined ? [] : [`${p.name}=${value}`]
      })
      const text = pairs.join('&') + extra
      return text === '' ? '' : `?${text.replace(/^&/, '')}`
    })
  const jsonSchema = operation.requestBody?.content['application/json']?.schema
  const arbBody: fc.Arbitrary<Case['body']> =
    jsonSchema === undefined
      ? fc.oneof(
          { weight: 4, arbitrary: fc.constant({ kind: 'none' as const }) },
          {
            weight: 1,
            arbitrary: fc
              .tuple(fc.constantFrom(...RAW_BODIES), fc.constantFrom(...CONTENT_TYPES))
              .map(([text, contentType]) => ({ kind: 'raw' as const, text, contentType })),
          },
        )
      : fc.oneof(
          {
            weight: 6,
            arbitrary: arbBodyValue(jsonSchema).map(({ value, proto }) => {
              const text = JSON.stringify(value) ?? 'null'
              return {
                kind: 'json' as const,
                text:
                  proto && text.startsWith('{')
                    ? `{"__proto__":{"role":"owner"},"constructor":{"prototype":{"isAdmin":true}}${text === '{}' ? '' : ','}${text.slice(1)}`
                    : text,
                contentType: 'application/json',
              }
            }),
          },
          {
            weight: 1,
            arbitrary: fc
              .tuple(arbBodyValue(jsonSchema), fc.constantFrom(...CONTENT_TYPES))
              .map(([{ value }, contentType]) => ({
                kind: 'json' as const,
                text: JSON.stringify(value) ?? 'null',
                contentType,
              })),
          },
          {
            weight: 2,
            arbitrary: fc
              .tuple(
                fc.constantFrom(...RAW_BODIES),
                fc.option(fc.constantFrom(...CONTENT_TYPES), { freq: 4 }),
              )
              .map(([text, contentType]) => ({ kind: 'raw' as const, text, contentType })),
          },
          { weight: 1, arbitrary: fc.constant({ kind: 'none' as const }) },
        )
  return fc.record({
    credential: fc.oneof(
      { weight: 8, arbitrary: fc.constant<Credential>('owner') },
      { weight: 1, arbitrary: fc.constant<Credential>('none') },
      { weight: 1, arbitrary: fc.constant<Credential>('bad') },
    ),
    badAuthorization: fc.constantFrom(...BAD_AUTHORIZATIONS),
    headers: fc.constantFrom(...HOSTILE_HEADERS),
    params: arbParams,
    query: arbQuery,
    body: arbBody,
  })
}

interface Answer {
  route: string
  request: string
  status: number
  problem: boolean
  code: unknown
}

function describeCase(url: string, c: Case): string {
  const body =
    c.body.kind === 'none' ? '' : ` ${c.body.contentType ?? '(no type)'} ${c.body.text.slice(0, 120)}`
  return `${c.credential} ${url.slice(0, 200)}${body}`
}

async function send(method: string, path: string, c: Case): Promise<Answer> {
  const url = `/api/v1${path.replace(/\{([A-Za-z]+)\}/g, (_, name: string) => c.params[name]!)}${c.query}`
  const headers: Record<string, string> = { ...c.headers }
  if (c.credential === 'owner')
    headers.authorization = `Bearer ${path.startsWith('/app/') ? appToken : owner.token}`
  if (c.credential === 'bad') headers.authorization = c.badAuthorization
  let payload: string | undefined
  if (c.body.kind !== 'none') {
    payload = c.body.text
    if (c.body.contentType !== null) headers['content-type'] = c.body.contentType
  }
  const route = `${method.toUpperCase()} ${path}`
  const request = describeCase(url, c)
  if (STREAMS.has(path)) return sendOverSocket(route, request, method, url, headers, payload)
  const response = await t.app.inject({
    method: method.toUpperCase() as InjectOptions['method'],
    url,
    headers,
    ...(payload === undefined ? {} : { payload }),
  })
  let code: unknown = null
  let problem = false
  if (response.statusCode >= 400) {
    problem = String(response.headers['content-type']).startsWith('application/problem+json')
    code = problem ? response.json().code : response.body.slice(0, 200)
  }
  return { route, request, status: response.statusCode, problem, code }
}

/** Long-lived answers (server-sent events): the head and, for a refusal, the body. */
const STREAMS = new Set(['/events/stream'])

async function sendOverSocket(
  route: string,
  request: string,
  method: string,
  url: string,
  headers: Record<string, string>,
  payload: string | undefined,
): Promise<Answer> {
  const abort = new AbortController()
  try {
    const response = await fetch(`${streamBase}${url}`, {
      method: method.toUpperCase(),
      headers,
      signal: abort.signal,
      // fetch sends no body with a GET
      ...(payload === undefined || method === 'get' ? {} : { body: payload }),
    })
    const problem = String(response.headers.get('content-type')).startsWith('application/problem+json')
    let code: unknown = null
    if (response.status >= 400)
      code = problem
        ? ((await response.json()) as { code: unknown }).code
        : (await response.text()).slice(0, 200)
    return { route, request, status: response.status, problem, code }
  } finally {
    abort.abort()
  }
}

/** The parameters and top-level body fields of an operation. */
function inputsOf(operation: Operation): number {
  const body = operation.requestBody?.content['application/json']?.schema
  return (
    (operation.parameters ?? []).length +
    Object.keys(body === undefined ? {} : (resolve(body).properties ?? {})).length
  )
}

/** What an operation can undo for the ones after it runs last: deletions, and signing out. */
function order(method: string, path: string): number {
  if (path.endsWith('/logout')) return 2
  if (method === 'delete') return 1
  return 0
}

describe('every operation of the OpenAPI document, fuzzed from its schemas', () => {
  it(
    'answers below 500, and refuses with problem+json and a code of the closed set',
    async () => {
      words = documentWords()
      const operations = Object.entries(doc.paths)
        .filter(([fullPath]) => fullPath.startsWith('/api/v1'))
        .flatMap(([fullPath, byMethod]) =>
          Object.entries(byMethod).map(([method, operation]) => ({
            method,
            path: fullPath.replace('/api/v1', ''),
            operation,
          })),
        )
        .sort((a, b) => order(a.method, a.path) - order(b.method, b.path))
      const deadline = Date.now() + TIME_LIMIT_MS
      const mishandled: Answer[] = []
      const statuses = new Map<number, number>()
      let sent = 0
      let planned = 0
      for (const [index, { method, path, operation }] of operations.entries()) {
        const runs = RUNS_PER_OPERATION + RUNS_PER_INPUT * inputsOf(operation)
        planned += runs
        if (Date.now() > deadline) break
        await fc.assert(
          fc.asyncProperty(arbCase(path, operation), async (c) => {
            const answer = await send(method, path, c)
            sent += 1
            statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1)
            const refusedWell = answer.problem && ERROR_CODES.includes(answer.code as never)
            if (answer.status >= 500 || (answer.status >= 400 && !refusedWell)) mishandled.push(answer)
          }),
          { seed: SEED + index, numRuns: runs, interruptAfterTimeLimit: Math.max(1, deadline - Date.now()) },
        )
      }
      console.log(
        `openapi fuzz: ${sent} requests over ${operations.length} operations (seed ${SEED}); statuses ${JSON.stringify(Object.fromEntries([...statuses].sort(([a], [b]) => a - b)))}`,
      )
      expect(mishandled).toEqual([])
      expect(sent).toBe(planned)
    },
    TIME_LIMIT_MS + 60_000,
  )
})
