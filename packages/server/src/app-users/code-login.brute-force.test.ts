/**
 * A guesser against Code Login: 10,000 wrong codes from one address, each from a new device id,
 * spread over a simulated day. The per-address throttle lets exactly 20 guesses an hour reach the
 * code check; everything else is refused before any code is looked up, and a person with a real code
 * on another address still logs in. docs/SECURITY.md takes its figures from here.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, signupOwner, type TestApp } from '../testing.ts'
import { caller, createCode, createLock, enableUniqueCodes, share } from '../unique-codes/test-fixtures.ts'
import { DEFAULT_CODE_LOGIN_THROTTLE } from './code-login-throttle.ts'

const ATTEMPTS = 10_000
const DAY_MS = 24 * 3_600_000
const STEP_MS = DAY_MS / ATTEMPTS
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'

let t: TestApp
beforeAll(async () => {
  t = await buildTestApp()
})
afterAll(() => t.close())

/** Deterministic guesses (a 32-bit LCG), so the run is the same every time. */
function guesses(seed: number) {
  let state = seed >>> 0
  return () => {
    let code = ''
    for (let i = 0; i < 10; i++) {
      state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0
      code += ALPHABET[state >>> 27]
    }
    return `${code.slice(0, 5)}-${code.slice(5)}`
  }
}

describe('guessing unique codes', () => {
  it('gets 20 guesses an hour from one address, whatever the device ids; a real user elsewhere logs in', async () => {
    const owner = await signupOwner(t.app)
    await enableUniqueCodes(t.app, owner)
    const lockId = await createLock(t.app, owner, 'Front door')
    const start = t.clock.now()
    const real = await createCode(t.app, owner, 'Real user', new Date(start + 30 * DAY_MS).toISOString())
    await share(t.app, owner, {
      lockIds: [lockId],
      grantee: { type: 'unique_code', uniqueCodeId: real.id },
      level: 'maintenance',
    })

    const next = guesses(20_300_115)
    const outcomes = new Map<number, number>()
    const checkedPerHour = new Array<number>(24).fill(0)
    let firstRetryAfter: string | undefined
    for (let i = 0; i < ATTEMPTS; i++) {
      const response = await t.app.inject({
        method: 'POST',
        url: '/api/v1/app/code-login',
        payload: { code: next(), deviceId: `attacker-device-${i}` },
        remoteAddress: '203.0.113.66',
      })
      outcomes.set(response.statusCode, (outcomes.get(response.statusCode) ?? 0) + 1)
      if (response.statusCode === 401) checkedPerHour[Math.floor((t.clock.now() - start) / 3_600_000)]! += 1
      if (response.statusCode === 429) firstRetryAfter ??= String(response.headers['retry-after'])
      if (i === ATTEMPTS / 2) {
        // halfway through, the real holder on another address and device logs in
        const login = await caller(t.app)(null, 'POST', '/app/code-login', {
          code: real.code.toLowerCase().replace('-', ''),
          deviceId: 'real-phone',
        })
        expect(login.statusCode).toBe(200)
        expect(login.json().locks.map((l: { id: string }) => l.id)).toEqual([lockId])
      }
      t.clock.advance(STEP_MS)
    }

    const checked = outcomes.get(401) ?? 0
    expect(DEFAULT_CODE_LOGIN_THROTTLE.perAddress).toEqual({ limit: 20, windowMs: 3_600_000 })
    // every attempt was a wrong code (401) or refused by the throttle (429), nothing else
    expect([...outcomes.keys()].sort()).toEqual([401, 429])
    expect(checked + (outcomes.get(429) ?? 0)).toBe(ATTEMPTS)
    // 20 guesses reach the code check in every hour of the day, no more
    expect(checkedPerHour).toEqual(new Array(24).fill(20))
    expect(checked).toBe(OBSERVED_GUESSES_PER_DAY)
    // the 21st attempt (at 172.8 s) waits until the first one leaves the hour
    expect(firstRetryAfter).toBe(String(Math.ceil((3_600_000 - 20 * STEP_MS) / 1000)))
  }, 600_000)
})

/** What the run above measured (the figure docs/SECURITY.md quotes). */
const OBSERVED_GUESSES_PER_DAY = 480
