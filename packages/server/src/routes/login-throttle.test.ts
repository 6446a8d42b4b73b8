import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { beginAttempt } from '../accounts/throttle.ts'
import { buildTestApp, signupOwner, type TestApp } from '../testing.ts'

const RATE_LIMITED = (seconds: number) => ({
  type: 'urn:latchkey:error:rate_limited',
  title: 'Rate limited',
  status: 429,
  code: 'rate_limited',
  detail: `too many attempts; try again in ${seconds} s`,
})

let t: TestApp
beforeAll(async () => {
  t = await buildTestApp()
})
afterAll(() => t.close())

const login = (app: TestApp['app'], email: string, password: string, remoteAddress = '198.51.100.7') =>
  app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email, password }, remoteAddress })

describe('login throttling', () => {
  it('refuses an email from one address after 10 failures in 15 minutes, even with the right password, until the window passes', async () => {
    const owner = await signupOwner(t.app)
    for (let i = 0; i < 10; i++) {
      expect((await login(t.app, owner.email, 'wrong password', '192.0.2.1')).statusCode).toBe(401)
    }
    const refused = await login(t.app, owner.email, owner.password, '192.0.2.1')
    expect(refused.statusCode).toBe(429)
    expect(refused.headers['retry-after']).toBe('900')
    expect(refused.json()).toEqual(RATE_LIMITED(900))
    // the owner, elsewhere, is not locked out by someone who knows the email
    expect((await login(t.app, owner.email, owner.password, '192.0.2.2')).statusCode).toBe(200)

    t.clock.advance(10 * 60_000)
    const later = await login(t.app, owner.email, owner.password, '192.0.2.1')
    expect(later.headers['retry-after']).toBe('300')

    t.clock.advance(5 * 60_000)
    expect((await login(t.app, owner.email, owner.password, '192.0.2.1')).statusCode).toBe(200)
  })

  it('counts one IPv6 /64 as one client network', async () => {
    const owner = await signupOwner(t.app)
    for (let i = 0; i < 10; i++) {
      const address = `2001:db8:7:1::${(i + 1).toString(16)}`
      expect((await login(t.app, owner.email, 'wrong password', address)).statusCode).toBe(401)
    }
    expect((await login(t.app, owner.email, owner.password, '2001:db8:7:1::ff')).statusCode).toBe(429)
    expect((await login(t.app, owner.email, owner.password, '2001:db8:7:2::1')).statusCode).toBe(200)
  })

  it('holds a looser limit per email over every address', async () => {
    const loose = {
      perEmailAddress: { limit: 10, windowMs: 15 * 60_000 },
      perEmail: { limit: 12, windowMs: 15 * 60_000 },
      perAddress: { limit: 50, windowMs: 15 * 60_000 },
    }
    const app = await buildTestApp({ store: t.store, loginThrottle: loose })
    try {
      const owner = await signupOwner(app.app)
      for (let i = 0; i < 12; i++)
        expect((await login(app.app, owner.email, 'wrong password', `192.0.2.${100 + i}`)).statusCode).toBe(
          401,
        )
      expect((await login(app.app, owner.email, owner.password, '192.0.2.200')).statusCode).toBe(429)
    } finally {
      await app.app.close()
    }
  })

  it('forgets an email’s failures from an address after a successful login there', async () => {
    const owner = await signupOwner(t.app)
    for (let i = 0; i < 9; i++) await login(t.app, owner.email, 'wrong password', '203.0.113.9')
    expect((await login(t.app, owner.email, owner.password, '203.0.113.9')).statusCode).toBe(200)
    for (let i = 0; i < 10; i++) {
      expect((await login(t.app, owner.email, 'wrong password', '203.0.113.9')).statusCode).toBe(401)
    }
    expect((await login(t.app, owner.email, owner.password, '203.0.113.9')).statusCode).toBe(429)
  })

  it('refuses a client address that tries many emails, and holds across server processes on one database', async () => {
    const throttle = {
      perEmailAddress: { limit: 10, windowMs: 15 * 60_000 },
      perEmail: { limit: 100, windowMs: 15 * 60_000 },
      perAddress: { limit: 3, windowMs: 60_000 },
    }
    const first = await buildTestApp({ store: t.store, loginThrottle: throttle })
    const second = await buildTestApp({ store: t.store, loginThrottle: throttle })
    try {
      const owner = await signupOwner(first.app)
      expect((await login(first.app, 'a@example.test', 'x', '198.51.100.200')).statusCode).toBe(401)
      expect((await login(second.app, 'b@example.test', 'x', '198.51.100.200')).statusCode).toBe(401)
      expect((await login(first.app, 'c@example.test', 'x', '198.51.100.200')).statusCode).toBe(401)
      const refused = await login(second.app, owner.email, owner.password, '198.51.100.200')
      expect(refused.statusCode).toBe(429)
      expect(refused.json()).toEqual(RATE_LIMITED(60))
      // another address is not affected
      expect((await login(second.app, owner.email, owner.password, '198.51.100.201')).statusCode).toBe(200)
    } finally {
      await first.close()
      await second.close()
    }
  })

  it('lets exactly `limit` of many simultaneous attempts through', async () => {
    const rule = { limit: 5, windowMs: 60_000 }
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, () =>
        beginAttempt(t.store.db, t.clock.now(), [{ scope: 'test', key: 'burst', rule }]),
      ),
    )
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(5)
    expect(
      results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason.code),
    ).toEqual(Array.from({ length: 15 }, () => 'rate_limited'))
  })
})

describe('behind a reverse proxy (--trust-proxy)', () => {
  const throttle = {
    perEmailAddress: { limit: 10, windowMs: 15 * 60_000 },
    perEmail: { limit: 100, windowMs: 15 * 60_000 },
    perAddress: { limit: 3, windowMs: 60_000 },
  }
  const PROXY = '10.0.0.5'
  const viaProxy = (app: TestApp['app'], email: string, client: string) =>
    app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email, password: 'wrong password' },
      remoteAddress: PROXY,
      headers: { 'x-forwarded-for': client },
    })

  it('with one trusted hop, throttles each client by its own address, not the proxy’s', async () => {
    const behind = await buildTestApp({ store: t.store, loginThrottle: throttle, trustProxy: 1 })
    try {
      for (let i = 0; i < 3; i++)
        expect((await viaProxy(behind.app, `proxy-a${i}@example.test`, '198.51.100.21')).statusCode).toBe(401)
      expect((await viaProxy(behind.app, 'proxy-a9@example.test', '198.51.100.21')).statusCode).toBe(429)
      // another client behind the same proxy is not locked out
      expect((await viaProxy(behind.app, 'proxy-b0@example.test', '198.51.100.22')).statusCode).toBe(401)
      // a forged header is only believed one hop deep: the proxy appends the real client last
      const forged = await behind.app.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        payload: { email: 'proxy-c0@example.test', password: 'wrong password' },
        remoteAddress: PROXY,
        headers: { 'x-forwarded-for': '198.51.100.22, 198.51.100.21' },
      })
      expect(forged.statusCode).toBe(429)
    } finally {
      await behind.app.close()
    }
  })

  it('without it, every client behind the proxy shares the proxy’s address', async () => {
    const plain = await buildTestApp({ store: t.store, loginThrottle: throttle })
    try {
      for (let i = 0; i < 3; i++)
        expect((await viaProxy(plain.app, `plain-a${i}@example.test`, '198.51.100.31')).statusCode).toBe(401)
      expect((await viaProxy(plain.app, 'plain-b0@example.test', '198.51.100.32')).statusCode).toBe(429)
    } finally {
      await plain.app.close()
    }
  })
})
