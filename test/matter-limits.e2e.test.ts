/**
 * A Matter lock takes at most LATCHKEY_MATTER_COMMANDS_PER_HOUR commands in any hour (SPEC §12: a
 * battery lock is never asked again and again): what goes beyond waits, says why, and goes on by
 * itself once the hour has passed. The server and `latchkey sim-matter` as in matter.e2e.test.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SimulatedClock } from '@latchkey/core'
import { afterAll, beforeAll, expect, it } from 'vitest'
import {
  type ApiClient,
  commissionSimMatter,
  eventually,
  type SimMatterProcess,
  startSimMatter,
  startTestServer,
  type TestServer,
} from './harness.ts'

const PER_HOUR = 3

let server: TestServer
let clock: SimulatedClock
let owner: ApiClient
let sim: SimMatterProcess
let stateDir: string

interface Code {
  id: string
  status: string
  code: string
  warnings: { code: string; message: string }[]
}

beforeAll(async () => {
  clock = new SimulatedClock()
  server = await startTestServer({ clock, env: { LATCHKEY_MATTER_COMMANDS_PER_HOUR: String(PER_HOUR) } })
  ;({ api: owner } = await server.signup())
  stateDir = mkdtempSync(join(tmpdir(), 'latchkey-e2e-matter-limit-'))
  sim = await startSimMatter({ stateDir, passcode: 20202021, discriminator: 3853 })
})

afterAll(async () => {
  await server?.close()
  await sim?.stop()
  if (stateDir) rmSync(stateDir, { recursive: true, force: true })
})

it('takes its commands of an hour, holds the rest back with the reason, and goes on after the hour', async () => {
  const lock = await commissionSimMatter(owner, sim, 'Shed')
  const pins = ['284913', '395024', '406135', '517246', '628357']
  const codes: Code[] = []
  for (const [i, pin] of pins.entries())
    codes.push(
      await owner.expect<Code>(201, 'POST', `/api/v1/locks/${lock.id}/access-codes`, {
        name: `Guest ${i + 1}`,
        kind: 'permanent',
        code: pin,
      }),
    )
  const statuses = async () =>
    Promise.all(codes.map(async (c) => owner.expect<Code>(200, 'GET', `/api/v1/access-codes/${c.id}`)))

  // what the hour allows is set; the rest waits, the lock still online
  const waiting = await eventually('the hour spent', async () => {
    const now = await statuses()
    const set = now.filter((c) => c.status === 'set').length
    return set >= 1 && set + now.filter((c) => c.status === 'setting').length === codes.length ? now : null
  })
  await new Promise((r) => setTimeout(r, 3000))
  const after = await statuses()
  const set = after.filter((c) => c.status === 'set')
  expect(set.length).toBeGreaterThan(0)
  expect(set.length).toBeLessThanOrEqual(PER_HOUR)
  expect(after.filter((c) => c.status === 'setting').length).toBeGreaterThan(0)
  expect(waiting.length).toBe(codes.length)
  expect((await owner.expect(200, 'GET', `/api/v1/locks/${lock.id}`)).online).toBe(true)
  const heldBack = after.find((c) => c.status === 'setting')!
  expect(await keypad(pins[codes.findIndex((c) => c.id === heldBack.id)]!)).toMatchObject({
    result: 'denied',
  })

  // ten minutes on, the waiting codes say they are late and why
  clock.advance(11 * 60_000)
  const late = await eventually('a held-back code late', async () => {
    const code = await owner.expect<Code>(200, 'GET', `/api/v1/access-codes/${heldBack.id}`)
    return code.warnings.find((w) => w.code === 'delay_in_setting_on_lock') ?? null
  })
  expect(late.message).toMatch(/\(the lock has taken as many commands as it takes in an hour/)

  // each hour over, more goes on by itself, without being asked again
  const setCount = async () => (await statuses()).filter((c) => c.status === 'set').length
  for (let hour = 1; hour <= 4 && (await setCount()) < codes.length; hour++) {
    const before = await setCount()
    clock.advance(60 * 60_000)
    await eventually('more codes set', async () => (await setCount()) > before, {
      timeoutMs: 60_000,
      intervalMs: 250,
    })
  }
  expect(await setCount()).toBe(codes.length)
  // every PIN at once, so a refusal shows which PIN it was, why, and which user the lock matched
  const opened: { pin: string; result: string }[] = []
  for (const pin of pins) opened.push({ pin, ...(await keypad(pin)) })
  expect(opened).toEqual(pins.map((pin) => expect.objectContaining({ pin, result: 'unlocked' })))

  // a lock that is gone is removed all the same, without keeping the request waiting
  await sim.stop()
  await owner.expect(204, 'DELETE', `/api/v1/locks/${lock.id}`)
  await owner.expect(404, 'GET', `/api/v1/locks/${lock.id}`)
}, 300_000)

const keypad = (digits: string) => sim.api.expect(200, 'POST', '/sim/lock/keypad', { digits })
