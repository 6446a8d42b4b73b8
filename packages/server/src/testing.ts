/**
 * Test harness shared by the server's suites.
 *
 * `buildTestApp()` gives the HTTP application on such a store with a stopped SimulatedClock
 * (TEST_EPOCH) and a fixed master key; `signupOwner()` / `addMemberAndLogin()` (by invitation) make accounts.
 *
 * `openTestStore()` gives a fresh, migrated, empty store:
 * - by default PGlite in a temporary directory (copied from a migrated template, since a fresh
 *   PGlite takes seconds to initialise; the template is rebuilt when the migrations change);
 * - with `LATCHKEY_TEST_SERVICES=1`, a new database on the PostgreSQL server
 *   (`LATCHKEY_TEST_DATABASE_URL`, default postgres://postgres@127.0.0.1:5432/test), dropped on close,
 *   so concurrent runs never collide.
 */
import { createHash, randomBytes } from 'node:crypto'
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SimulatedClock } from '@latchkey/core'
import type { FastifyInstance } from 'fastify'
import pg from 'pg'
import { type BuildAppOptions, buildApp } from './app.ts'
import { createSecrets, type Secrets } from './secrets.ts'
import { MIGRATIONS_FOLDER } from './store/migrate.ts'
import { openStore, type Store } from './store/open-store.ts'
import type { Role } from './store/schema.ts'

export const DEFAULT_TEST_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/test'

export function usingTestServices(): boolean {
  return process.env.LATCHKEY_TEST_SERVICES === '1'
}

export interface TestStore extends Store {
  /** The URL of the per-run database (PostgreSQL only). */
  readonly databaseUrl: string | null
}

export async function openTestStore(options: { services?: boolean } = {}): Promise<TestStore> {
  return (options.services ?? usingTestServices()) ? openPostgresTestStore() : openPgliteTestStore()
}

/** A temporary data directory holding an already migrated PGlite database (the caller removes it). */
export async function makeTestDataDir(): Promise<string> {
  const template = await pgliteTemplate()
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-test-'))
  cpSync(join(template, 'pglite'), join(dir, 'pglite'), { recursive: true })
  return dir
}

async function openPgliteTestStore(): Promise<TestStore> {
  const dir = await makeTestDataDir()
  const store = await openStore({ dataDir: dir })
  return {
    ...store,
    databaseUrl: null,
    close: async () => {
      await store.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** A migrated, closed PGlite directory keyed by the migrations; built once per change, shared by workers. */
async function pgliteTemplate(): Promise<string> {
  const hash = createHash('sha256')
  for (const name of readdirSync(MIGRATIONS_FOLDER).sort()) {
    if (name.endsWith('.sql')) hash.update(name).update(readFileSync(join(MIGRATIONS_FOLDER, name)))
  }
  hash.update(readFileSync(join(MIGRATIONS_FOLDER, 'meta', '_journal.json')))
  const dir = join(tmpdir(), `latchkey-pglite-template-${hash.digest('hex').slice(0, 16)}`)
  if (existsSync(join(dir, 'pglite'))) return dir
  const building = mkdtempSync(join(tmpdir(), 'latchkey-pglite-building-'))
  const store = await openStore({ dataDir: building })
  await store.close()
  try {
    renameSync(building, dir)
  } catch {
    // another worker finished first: use theirs
    rmSync(building, { recursive: true, force: true })
  }
  removeOldTemplates(dir)
  return dir
}

/** Templates of earlier migrations (untouched for an hour) only take space. */
function removeOldTemplates(current: string): void {
  const hourAgo = Date.now() - 3_600_000
  for (const name of readdirSync(tmpdir())) {
    const path = join(tmpdir(), name)
    if (!name.startsWith('latchkey-pglite-template-') || path === current) continue
    try {
      if (statSync(path).mtimeMs < hourAgo) rmSync(path, { recursive: true, force: true })
    } catch {
      // removed by another worker meanwhile
    }
  }
}

async function openPostgresTestStore(): Promise<TestStore> {
  const adminUrl = process.env.LATCHKEY_TEST_DATABASE_URL ?? DEFAULT_TEST_DATABASE_URL
  const name = `latchkey_test_${process.pid}_${randomBytes(4).toString('hex')}`
  await adminQuery(adminUrl, `create database "${name}"`)
  const url = new URL(adminUrl)
  url.pathname = `/${name}`
  const databaseUrl = url.toString()
  let store: Store
  try {
    store = await openStore({ databaseUrl, poolSize: 4 })
  } catch (error) {
    await adminQuery(adminUrl, `drop database if exists "${name}"`)
    throw error
  }
  return {
    ...store,
    databaseUrl,
    close: async () => {
      await store.close()
      await adminQuery(adminUrl, `drop database if exists "${name}" with (force)`)
    },
  }
}

async function adminQuery(url: string, text: string): Promise<void> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    await client.query(text)
  } finally {
    await client.end()
  }
}

// ---------------------------------------------------------------- HTTP

/** 2030-01-15T10:00:00Z: tests start here on a stopped clock, so times in bodies are exact. */
export const TEST_EPOCH = Date.parse('2030-01-15T10:00:00.000Z')
export const TEST_MASTER_KEY = Buffer.alloc(32, 0x4c)

export interface TestApp {
  app: FastifyInstance
  store: TestStore
  clock: SimulatedClock
  secrets: Secrets
  close(): Promise<void>
}

/** The bearer the test app's `/metrics` answers to. */
export const TEST_METRICS_TOKEN = 'test-metrics-token'
export const METRICS_HEADERS = { authorization: `Bearer ${TEST_METRICS_TOKEN}` }

/** The whole HTTP application on a fresh test store, a stopped clock and a fixed master key. */
export async function buildTestApp(
  options: Partial<Omit<BuildAppOptions, 'store' | 'clock'>> & {
    store?: TestStore
    clock?: SimulatedClock
  } = {},
): Promise<TestApp> {
  const store = options.store ?? (await openTestStore())
  const clock = options.clock ?? new SimulatedClock({ frozenAt: TEST_EPOCH })
  const secrets = options.secrets ?? createSecrets(TEST_MASTER_KEY)
  // suites make many organizations: sign-up is open unless a test says otherwise
  const app = buildApp({
    metricsToken: TEST_METRICS_TOKEN,
    signup: 'open',
    ...options,
    store,
    clock,
    secrets,
  })
  await app.ready()
  return {
    app,
    store,
    clock,
    secrets,
    close: async () => {
      await app.close()
      if (options.store === undefined) await store.close()
    },
  }
}

export interface TestAccount {
  userId: string
  organizationId: string
  token: string
  email: string
  password: string
  /** `{ authorization: 'Bearer …' }` for inject(). */
  headers: { authorization: string }
}

let accounts = 0

/**
 * Signs up a new organization and its owner through the API, each from a client address of its own
 * (198.18.0.0/15, the benchmarking range), so the sign-up throttle never counts one test's owners.
 */
export async function signupOwner(
  app: FastifyInstance,
  overrides: { email?: string; password?: string; organizationName?: string } = {},
): Promise<TestAccount> {
  accounts += 1
  const email = overrides.email ?? `owner${accounts}-${process.pid}@example.test`
  const password = overrides.password ?? 'correct horse battery'
  const response = await app.inject({
    method: 'POST',
    url: '/api/v1/auth/signup',
    remoteAddress: `198.18.${(accounts >> 8) & 0xff}.${accounts & 0xff}`,
    payload: { email, password, organizationName: overrides.organizationName ?? `Organization ${accounts}` },
  })
  if (response.statusCode !== 201) throw new Error(`signup failed: ${response.statusCode} ${response.body}`)
  const body = response.json() as { userId: string; organizationId: string; token: string }
  return { ...body, email, password, headers: { authorization: `Bearer ${body.token}` } }
}

/** Invites a person with a role through the API; they accept with a new password and are signed in. */
export async function addMemberAndLogin(
  app: FastifyInstance,
  owner: TestAccount,
  role: Role,
  email = `${role}${++accounts}-${process.pid}@example.test`,
): Promise<TestAccount> {
  const password = 'member password 1'
  const invited = await app.inject({
    method: 'POST',
    url: '/api/v1/invitations',
    headers: owner.headers,
    payload: { email, role },
  })
  if (invited.statusCode !== 201) throw new Error(`inviting failed: ${invited.statusCode} ${invited.body}`)
  const accepted = await app.inject({
    method: 'POST',
    url: '/api/v1/auth/accept-invitation',
    payload: { token: (invited.json() as { token: string }).token, password },
  })
  if (accepted.statusCode !== 200)
    throw new Error(`accepting failed: ${accepted.statusCode} ${accepted.body}`)
  const { token, userId } = accepted.json() as { token: string; userId: string }
  return {
    userId,
    organizationId: owner.organizationId,
    token,
    email,
    password,
    headers: { authorization: `Bearer ${token}` },
  }
}

/** One of every resource of an organization, created through the API (the route walks use it). */
export interface SeededOrganization {
  /** Ids by the route that names the resource, e.g. `/locks/{id}`. */
  ids: Record<string, string>
  /** The custom PIN of the access code and the unique code, as an owner sees them. */
  pin: string
  uniqueCode: string
}

const SEEDED_PINS = ['583049', '694172', '720583', '836251']
let seededOrganizations = 0

export async function seedOrganization(
  app: FastifyInstance,
  owner: TestAccount,
  prefix: string,
): Promise<SeededOrganization> {
  const create = async (url: string, payload: unknown): Promise<Record<string, unknown>> => {
    const response = await app.inject({
      method: 'POST',
      url,
      headers: owner.headers,
      payload: payload as object,
    })
    if (response.statusCode !== 201) throw new Error(`${url}: ${response.statusCode} ${response.body}`)
    return response.json()
  }
  const slug = prefix.toLowerCase()
  const member = await addMemberAndLogin(app, owner, 'member', `cleaner-lead@${slug}.test`)
  const invitation = await create('/api/v1/invitations', { email: `bookkeeper@${slug}.test`, role: 'admin' })
  const gateway = await create('/api/v1/gateways', { name: `${prefix} hall gateway` })
  const lock = await create('/api/v1/locks', {
    name: `${prefix} front door`,
    timezone: 'Australia/Sydney',
    gatewayId: gateway.id,
  })
  // each seeded organization its own PIN, so one found in an answer is never the caller's own
  const pin = SEEDED_PINS[seededOrganizations++ % SEEDED_PINS.length]!
  const code = await create(`/api/v1/locks/${lock.id}/access-codes`, {
    name: `${prefix} cleaner – Tuesday`,
    kind: 'permanent',
    code: pin,
    delivery: 'synced',
  })
  const settings = await app.inject({
    method: 'PATCH',
    url: '/api/v1/organization/settings',
    headers: owner.headers,
    payload: { uniqueCodesEnabled: true },
  })
  if (settings.statusCode !== 200) throw new Error(`settings: ${settings.body}`)
  const uniqueCode = await create('/api/v1/unique-codes', {
    description: `${prefix} plumber`,
    expiresAt: new Date(TEST_EPOCH + 30 * 86_400_000).toISOString(),
  })
  const shares = await create('/api/v1/permissions', {
    lockIds: [lock.id],
    grantee: { type: 'unique_code', uniqueCodeId: uniqueCode.id },
    level: 'maintenance',
  })
  const apiKey = await create('/api/v1/api-keys', { name: `${prefix} booking sync` })
  const share = (shares.items as Array<{ id: string }>)[0]!
  const property = await create('/api/v1/properties', {
    name: `${prefix} flat`,
    timezone: 'Australia/Sydney',
    lockIds: [lock.id],
  })
  const stay = await create('/api/v1/stays', {
    propertyId: property.id,
    guestName: `${prefix} guest`,
    checkIn: new Date(TEST_EPOCH + 3 * 86_400_000).toISOString(),
    checkOut: new Date(TEST_EPOCH + 5 * 86_400_000).toISOString(),
  })
  // a feed on this machine: refused by the outbound rule, so the calendar says why and nothing is fetched
  const calendar = await create(`/api/v1/properties/${property.id}/calendars`, {
    url: 'http://127.0.0.1:9/calendar.ics',
  })
  // on this machine, allowed here as LATCHKEY_WEBHOOK_ALLOW_PRIVATE=1 allows it (nothing listens on port 9)
  const allowed = process.env.LATCHKEY_WEBHOOK_ALLOW_PRIVATE
  process.env.LATCHKEY_WEBHOOK_ALLOW_PRIVATE = '1'
  const webhook = await create('/api/v1/webhooks', { url: 'http://127.0.0.1:9/latchkey' }).finally(() => {
    if (allowed === undefined) delete process.env.LATCHKEY_WEBHOOK_ALLOW_PRIVATE
    else process.env.LATCHKEY_WEBHOOK_ALLOW_PRIVATE = allowed
  })
  return {
    ids: {
      '/gateways/{id}': String(gateway.id),
      '/locks/{id}': String(lock.id),
      '/locks/{lockId}': String(lock.id),
      '/access-codes/{id}': String(code.id),
      '/unique-codes/{id}': String(uniqueCode.id),
      '/permissions/{id}': share.id,
      '/api-keys/{id}': String(apiKey.id),
      '/members/{userId}': member.userId,
      '/invitations/{id}': String(invitation.id),
      '/properties/{id}': String(property.id),
      '/stays/{id}': String(stay.id),
      '/calendars/{id}': String(calendar.id),
      '/webhooks/{id}': String(webhook.id),
    },
    pin,
    uniqueCode: String(uniqueCode.code),
  }
}
