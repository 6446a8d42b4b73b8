/**
 * The diagnoses against real simulated locks (the demo composition: server, gateway, three locks,
 * /sim routes, simulated time), over HTTP as a user calls them.
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RunningDemo, startDemo } from './demo.ts'

const HOUR = 3_600_000
const dataDir = mkdtempSync(join(tmpdir(), 'latchkey-diagnosis-test-'))
let demo: RunningDemo
let token: string
const lockIds: Record<string, string> = {}

// biome-ignore lint/suspicious/noExplicitAny: answers are checked field by field
type Json = any

async function call(method: string, path: string, body?: unknown): Promise<{ status: number; json: Json }> {
  const response = await fetch(`${demo.server.url}${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  const text = await response.text()
  return { status: response.status, json: text ? JSON.parse(text) : null }
}
const api = (method: string, path: string, body?: unknown) => call(method, `/api/v1${path}`, body)
const keypad = async (lock: string, digits: string) =>
  (await call('POST', `/sim/locks/${lockIds[lock]}/keypad`, { digits })).json

async function eventually<T>(what: string, check: () => Promise<T | undefined | null | false>): Promise<T> {
  let last: unknown
  for (let i = 0; i < 600; i++) {
    try {
      const value = await check()
      if (value) return value
    } catch (error) {
      last = error
    }
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`timed out waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`)
}

const now = async (): Promise<number> => (await call('GET', '/sim/clock')).json.nowMs
const status = async (id: string) => (await api('GET', `/access-codes/${id}`)).json.status
const check = async (id: string, name: string) =>
  (await api('GET', `/access-codes/${id}/diagnosis`)).json.checks.find((c: Json) => c.check === name)

async function createCode(lock: string, body: Record<string, unknown>): Promise<Json> {
  const created = await api('POST', `/locks/${lockIds[lock]}/access-codes`, body)
  expect(created.status).toBe(201)
  await eventually(`${body.name} on the lock`, async () => (await status(created.json.id)) === 'set')
  return created.json
}

beforeAll(async () => {
  demo = await startDemo({
    port: 0,
    host: '127.0.0.1',
    dataDir,
    mqttPort: 0,
    logger: false,
    env: {
      LATCHKEY_MASTER_KEY: randomBytes(32).toString('base64'),
      LATCHKEY_DEMO_TIMEZONE: 'Australia/Sydney',
    },
  })
  const login = await api('POST', '/auth/login', {
    email: demo.data.owner.email,
    password: demo.data.owner.password,
  })
  token = login.json.token
  for (const lock of demo.data.locks) lockIds[lock.name] = lock.id
}, 180_000)
afterAll(async () => {
  await demo?.close()
  rmSync(dataDir, { recursive: true, force: true })
})

describe('refusals of codes that no longer open', () => {
  it('names a deleted code typed after all, and a timed code typed after its window: “the cleaner came late”', async () => {
    const gardener = await createCode('Front door', { name: 'Gardener', kind: 'permanent', code: '482913' })
    expect(await keypad('Front door', '482913')).toEqual({ result: 'unlocked' })
    await api('DELETE', `/access-codes/${gardener.id}`)
    await eventually(
      'the gardener’s code off the lock',
      async () => (await status(gardener.id)) === 'removed',
    )
    expect(await keypad('Front door', '482913')).toEqual({ result: 'denied', reason: 'unknown_code' })

    const start = await now()
    const cleaner = await createCode('Front door', {
      name: 'Cleaner – Tuesday',
      kind: 'timed',
      code: '739164',
      startsAt: new Date(start).toISOString(),
      endsAt: new Date(start + HOUR).toISOString(),
    })
    await call('POST', '/sim/clock', { advanceMs: 2 * HOUR })
    await eventually('the cleaner’s code off the lock', async () => (await status(cleaner.id)) === 'removed')
    expect(await keypad('Front door', '739164')).toEqual({ result: 'denied', reason: 'unknown_code' })

    const refusals = await eventually('both refusals in the audit', async () => {
      const items = (await api('GET', `/events?lockId=${lockIds['Front door']}&type=lock.access_denied`)).json
        .items
      return items.length >= 2 ? items : null
    })
    expect(
      refusals.map((e: Json) => ({
        accessCodeId: e.accessCodeId,
        reason: e.data.reason,
        lockReason: e.data.lockReason,
        label: e.data.label,
      })),
    ).toEqual([
      { accessCodeId: cleaner.id, reason: 'expired', lockReason: 'unknown_code', label: 'Cleaner – Tuesday' },
      { accessCodeId: gardener.id, reason: 'revoked', lockReason: 'unknown_code', label: 'Gardener' },
    ])
    expect((await check(cleaner.id, 'denials')).message).toMatch(
      /^The lock refused this code recently \(latest first\) — .*: its window had ended\.$/,
    )
  }, 120_000)
})

describe('the right lock', () => {
  it('says a code was typed at another lock of the organization, naming it', async () => {
    const plumber = await createCode('Front door', { name: 'Plumber', kind: 'permanent', code: '318275' })
    expect(await check(plumber.id, 'lock')).toEqual({
      check: 'lock',
      result: 'pass',
      message: 'The code is for the lock “Front door” only; it does not open other locks.',
    })
    expect(await keypad('Back door', '318275')).toEqual({ result: 'denied', reason: 'unknown_code' })
    const wrong = await eventually('the refusal at the back door seen', async () => {
      const c = await check(plumber.id, 'lock')
      return c.result === 'fail' ? c : null
    })
    expect(wrong.message).toMatch(
      /^The code was typed at the lock “Back door” on .+, which refused it: it opens only “Front door”\.$/,
    )
  }, 120_000)
})

describe('the lock’s clock as it is now', () => {
  it('spots a lock 3 h slow from its events, and trusts the sync that corrects it', async () => {
    const start = await now()
    const code = await createCode('Garage', {
      name: 'Painter',
      kind: 'timed',
      code: '604718',
      startsAt: new Date(start).toISOString(),
      endsAt: new Date(start + 2 * HOUR).toISOString(),
    })
    await call('POST', `/sim/locks/${lockIds.Garage}/clock`, { advanceMs: -3 * HOUR })
    expect(await keypad('Garage', '604718')).toEqual({ result: 'denied', reason: 'outside_schedule' })
    const clock = await eventually('the slow clock spotted', async () => {
      const c = await check(code.id, 'clock')
      return c.result === 'fail' ? c : null
    })
    expect(clock.message).toMatch(
      /^The lock’s clock is 3 h slow \(from its events, the latest on .+\): it judges windows by its own time, so this code opens and closes 3 h late\. A time sync \(POST \/locks\/\{id\}\/sync-time\) sets it right\.$/,
    )
    expect((await check(code.id, 'window')).message).toMatch(/so it does not open now and opens next on/)

    const synced = await api('POST', `/locks/${lockIds.Garage}/sync-time`)
    expect(synced.status).toBe(200)
    const after = await eventually('the sync taken', async () => {
      const c = await check(code.id, 'clock')
      return c.result === 'pass' ? c : null
    })
    expect(after.message).toMatch(
      /^The lock’s clock was 3 h slow and was set right when synced on .+; attempts before then were judged by the wrong time\.$/,
    )
    expect(await check(code.id, 'window')).toMatchObject({ result: 'pass' })
    expect(await keypad('Garage', '604718')).toEqual({ result: 'unlocked' })
  }, 120_000)
})

describe('GET /locks/{id}/diagnosis', () => {
  it('checks the radio link, then the gateway', async () => {
    const diagnose = async () => (await api('GET', `/locks/${lockIds['Back door']}/diagnosis`)).json
    const healthy = await diagnose()
    expect(healthy.checks.map((c: Json) => c.check)).toEqual([
      'link',
      'clock',
      'battery',
      'capacity',
      'lockout',
      'denials',
      'commands',
    ])
    expect(healthy.checks[0]).toMatchObject({ check: 'link', result: 'pass' })

    await call('POST', `/sim/locks/${lockIds['Back door']}/radio`, { inRange: false })
    const out = await eventually('the lock out of range', async () => {
      const d = await diagnose()
      return d.checks[0].result === 'fail' ? d.checks[0] : null
    })
    expect(out.message).toMatch(/^The gateway “.+” is online, but the lock is out of its radio range/)
    await call('POST', `/sim/locks/${lockIds['Back door']}/radio`, { inRange: true })
    await call('POST', '/sim/gateway/link', { online: false })
    const offline = await eventually('the gateway offline', async () => {
      const d = await diagnose()
      return /is offline/.test(d.checks[0].message) ? d.checks[0] : null
    })
    expect(offline).toMatchObject({ check: 'link', result: 'fail' })
    await call('POST', '/sim/gateway/link', { online: true })
  }, 120_000)
})
