/** Who may sign up (LATCHKEY_SIGNUP), the throttle per client network, and no hashing before both pass. */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { parseSignupMode } from '../accounts/index.ts'
import * as credentials from '../credentials.ts'
import { organizations } from '../store/index.ts'
import { buildTestApp, openTestStore, type TestApp, type TestStore } from '../testing.ts'

vi.mock('../credentials.ts', async (original) => {
  const real = await original<typeof import('../credentials.ts')>()
  // the real argon2id, counted
  return { ...real, hashPassword: vi.fn(real.hashPassword) }
})
const hashed = vi.mocked(credentials.hashPassword)

const CLOSED = {
  type: 'urn:latchkey:error:forbidden',
  title: 'Forbidden',
  status: 403,
  code: 'forbidden',
  detail: 'sign-up is closed on this server: ask an owner or admin of your organization for an invitation',
}

let accounts = 0
const signUp = (app: TestApp['app'], remoteAddress: string, email = `person${++accounts}@example.test`) =>
  app.inject({
    method: 'POST',
    url: '/api/v1/auth/signup',
    remoteAddress,
    payload: { email, password: 'correct horse battery', organizationName: 'Harbour Flats' },
  })
const allowed = async (app: TestApp['app']) =>
  (await app.inject({ method: 'GET', url: '/api/v1/auth/signup' })).json()

let store: TestStore
beforeAll(async () => {
  store = await openTestStore()
})
afterAll(() => store.close())
afterEach(() => hashed.mockClear())

async function withApp(options: Parameters<typeof buildTestApp>[0], run: (t: TestApp) => Promise<void>) {
  const t = await buildTestApp(options)
  try {
    await run(t)
  } finally {
    await t.close()
  }
}

describe('LATCHKEY_SIGNUP', () => {
  it('first (the default): the first organization only, then closed for every e-mail alike', async () => {
    await withApp({ signup: undefined }, async (t) => {
      // buildApp's own default, not the test harness's
      expect(t.app.deps.signup.mode).toBe('first')
      expect(await allowed(t.app)).toEqual({ allowed: true })
      const first = await signUp(t.app, '192.0.2.10', 'first@example.test')
      expect(first.statusCode).toBe(201)
      expect(await allowed(t.app)).toEqual({ allowed: false })
      hashed.mockClear()

      const taken = await signUp(t.app, '192.0.2.11', 'first@example.test')
      const fresh = await signUp(t.app, '192.0.2.11', 'fresh@example.test')
      expect(taken.statusCode).toBe(403)
      expect(taken.json()).toEqual(CLOSED)
      expect(fresh.statusCode).toBe(403)
      expect(fresh.json()).toEqual(CLOSED)
      expect(hashed).not.toHaveBeenCalled()
    })
  })

  it('first: two sign-ups racing on an empty server make one organization', async () => {
    const empty = await openTestStore()
    try {
      await withApp({ store: empty, signup: 'first' }, async (t) => {
        const answers = await Promise.all([
          signUp(t.app, '192.0.2.20', 'one@example.test'),
          signUp(t.app, '192.0.2.21', 'two@example.test'),
        ])
        expect(answers.map((a) => a.statusCode).sort()).toEqual([201, 403])
        expect(await empty.db.$count(organizations)).toBe(1)
      })
    } finally {
      await empty.close()
    }
  })

  it('closed: nobody signs up, not even on an empty server, and nothing is hashed', async () => {
    const empty = await openTestStore()
    try {
      await withApp({ store: empty, signup: 'closed' }, async (t) => {
        expect(await allowed(t.app)).toEqual({ allowed: false })
        const refused = await signUp(t.app, '192.0.2.30')
        expect(refused.statusCode).toBe(403)
        expect(refused.json()).toEqual(CLOSED)
        expect(hashed).not.toHaveBeenCalled()
      })
    } finally {
      await empty.close()
    }
  })

  it('open: anyone, as many organizations as they like', async () => {
    await withApp({ store, signup: 'open' }, async (t) => {
      expect(await allowed(t.app)).toEqual({ allowed: true })
      expect((await signUp(t.app, '192.0.2.40')).statusCode).toBe(201)
      expect((await signUp(t.app, '192.0.2.41')).statusCode).toBe(201)
      expect(await allowed(t.app)).toEqual({ allowed: true })
    })
  })

  it('reads first, open and closed, blank as first, and refuses anything else', () => {
    expect(['first', ' Open ', 'closed', '', undefined].map(parseSignupMode)).toEqual([
      'first',
      'open',
      'closed',
      'first',
      'first',
    ])
    expect(() => parseSignupMode('yes')).toThrow(
      'the sign-up mode “yes” is not one: give first, open or closed',
    )
  })
})

describe('sign-up throttling', () => {
  it('takes 10 sign-ups an hour from one client network, then 429 before any hashing; others are not held up', async () => {
    await withApp({ store, signup: 'open' }, async (t) => {
      for (let i = 0; i < 10; i++) expect((await signUp(t.app, '203.0.113.5')).statusCode).toBe(201)
      hashed.mockClear()
      const refused = await signUp(t.app, '203.0.113.5')
      expect(refused.statusCode).toBe(429)
      expect(refused.headers['retry-after']).toBe('3600')
      expect(refused.json().code).toBe('rate_limited')
      expect(hashed).not.toHaveBeenCalled()
      expect((await signUp(t.app, '203.0.113.6')).statusCode).toBe(201)
      t.clock.advance(60 * 60_000)
      expect((await signUp(t.app, '203.0.113.5')).statusCode).toBe(201)
    })
  })

  it('counts an IPv6 /64 as one network, and refused e-mails as attempts too', async () => {
    await withApp(
      { store, signup: 'open', signupThrottle: { limit: 2, windowMs: 60 * 60_000 } },
      async (t) => {
        expect((await signUp(t.app, '2001:db8:5:1::1', 'twice@example.test')).statusCode).toBe(201)
        expect((await signUp(t.app, '2001:db8:5:1::2', 'twice@example.test')).statusCode).toBe(409)
        expect((await signUp(t.app, '2001:db8:5:1::3')).statusCode).toBe(429)
        expect((await signUp(t.app, '2001:db8:5:2::1')).statusCode).toBe(201)
      },
    )
  })

  it('behind a trusted proxy, counts each client of the proxy on its own', async () => {
    const limit = { limit: 1, windowMs: 60 * 60_000 }
    await withApp({ store, signup: 'open', signupThrottle: limit, trustProxy: 1 }, async (t) => {
      const viaProxy = (client: string) =>
        t.app.inject({
          method: 'POST',
          url: '/api/v1/auth/signup',
          remoteAddress: '10.0.0.5',
          headers: { 'x-forwarded-for': client },
          payload: {
            email: `proxied${++accounts}@example.test`,
            password: 'correct horse battery',
            organizationName: 'P',
          },
        })
      expect((await viaProxy('198.51.100.1')).statusCode).toBe(201)
      expect((await viaProxy('198.51.100.2')).statusCode).toBe(201)
      expect((await viaProxy('198.51.100.1')).statusCode).toBe(429)
    })
  })

  it('checks the body before the mode, the throttle or any hashing', async () => {
    await withApp(
      { store, signup: 'open', signupThrottle: { limit: 1, windowMs: 60 * 60_000 } },
      async (t) => {
        const bad = await t.app.inject({
          method: 'POST',
          url: '/api/v1/auth/signup',
          remoteAddress: '203.0.113.50',
          payload: { email: 'not-an-email', password: 'short', organizationName: 'X' },
        })
        expect(bad.statusCode).toBe(400)
        expect(hashed).not.toHaveBeenCalled()
        // a refused body is no attempt: the one allowed sign-up is still there
        expect((await signUp(t.app, '203.0.113.50')).statusCode).toBe(201)
      },
    )
  })
})
