import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SESSION_TTL_MS } from '../accounts/sessions.ts'
import { buildTestApp, signupOwner, TEST_EPOCH, type TestApp } from '../testing.ts'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const TOKEN = /^lks_[A-Za-z0-9_-]{43}$/

let t: TestApp
beforeAll(async () => {
  t = await buildTestApp()
})
afterAll(() => t.close())

describe('POST /auth/signup', () => {
  it('creates an organization with its owner, signed in by token and cookie', async () => {
    const response = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/signup',
      payload: {
        email: '  Dana@Example.TEST ',
        password: 'correct horse battery',
        organizationName: 'Harbour Flats',
      },
    })
    expect(response.statusCode).toBe(201)
    const body = response.json()
    expect(Object.keys(body).sort()).toEqual(['organizationId', 'token', 'userId'])
    expect(body.userId).toMatch(UUID)
    expect(body.organizationId).toMatch(UUID)
    expect(body.token).toMatch(TOKEN)
    expect(response.headers['set-cookie']).toBe(
      `latchkey_session=${body.token}; Max-Age=2592000; Path=/; HttpOnly; SameSite=Lax`,
    )
    const me = await t.app.inject({
      method: 'GET',
      url: '/api/v1/me',
      headers: { authorization: `Bearer ${body.token}` },
    })
    expect(me.json()).toEqual({
      userId: body.userId,
      email: 'dana@example.test',
      name: null,
      organizationId: body.organizationId,
      organizationName: 'Harbour Flats',
      role: 'owner',
      via: 'session',
      organizations: [{ id: body.organizationId, name: 'Harbour Flats', role: 'owner' }],
    })
  })

  it('refuses an email that already has an account, whatever its case', async () => {
    await signupOwner(t.app, { email: 'taken@example.test' })
    const response = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/signup',
      payload: { email: 'TAKEN@example.test', password: 'another password', organizationName: 'Second' },
    })
    expect(response.statusCode).toBe(409)
    expect(response.headers['content-type']).toBe('application/problem+json; charset=utf-8')
    expect(response.json()).toEqual({
      type: 'urn:latchkey:error:email_taken',
      title: 'Email taken',
      status: 409,
      code: 'email_taken',
      detail: 'an account with the email taken@example.test already exists',
    })
  })

  it('lists every invalid field', async () => {
    const response = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/signup',
      payload: { email: 'not-an-email', password: 'short', organizationName: '' },
    })
    expect(response.statusCode).toBe(400)
    expect(response.json()).toEqual({
      type: 'urn:latchkey:error:validation_failed',
      title: 'Validation failed',
      status: 400,
      code: 'validation_failed',
      detail: 'invalid email, password, organizationName',
      errors: [
        { in: 'body', field: 'email', message: 'Invalid email address' },
        { in: 'body', field: 'password', message: 'at least 8 characters' },
        {
          in: 'body',
          field: 'organizationName',
          message: 'Too small: expected string to have >=1 characters',
        },
      ],
    })
  })

  it('refuses unknown fields and a body that is not JSON', async () => {
    const extra = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/signup',
      payload: { email: 'x@example.test', password: 'long enough', organizationName: 'X', role: 'admin' },
    })
    expect(extra.statusCode).toBe(400)
    expect(extra.json().errors).toEqual([{ in: 'body', field: '', message: 'Unrecognized key: "role"' }])

    const garbled = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/signup',
      headers: { 'content-type': 'application/json' },
      payload: '{"email":',
    })
    expect(garbled.statusCode).toBe(400)
    expect(garbled.json()).toEqual({
      type: 'urn:latchkey:error:validation_failed',
      title: 'Validation failed',
      status: 400,
      code: 'validation_failed',
      detail: "Body is not valid JSON but content-type is set to 'application/json'",
    })
  })
})

describe('POST /auth/login', () => {
  it('answers a token and sets the session cookie; the cookie alone authenticates', async () => {
    const owner = await signupOwner(t.app, { email: 'lena@example.test' })
    const response = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email: 'LENA@example.test', password: owner.password },
    })
    expect(response.statusCode).toBe(200)
    const body = response.json()
    expect(body).toEqual({
      token: expect.stringMatching(TOKEN),
      expiresAt: new Date(TEST_EPOCH + SESSION_TTL_MS).toISOString(),
      userId: owner.userId,
      organizationId: owner.organizationId,
    })
    expect(body.token).not.toBe(owner.token)
    expect(response.headers['set-cookie']).toBe(
      `latchkey_session=${body.token}; Max-Age=2592000; Path=/; HttpOnly; SameSite=Lax`,
    )
    const me = await t.app.inject({
      method: 'GET',
      url: '/api/v1/me',
      cookies: { latchkey_session: body.token },
    })
    expect(me.statusCode).toBe(200)
    expect(me.json().email).toBe('lena@example.test')
  })

  it('answers the same 401 for a wrong password and for an unknown email', async () => {
    const owner = await signupOwner(t.app)
    const expected = {
      type: 'urn:latchkey:error:invalid_credentials',
      title: 'Invalid credentials',
      status: 401,
      code: 'invalid_credentials',
      detail: 'the email or the password is wrong',
    }
    const wrong = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email: owner.email, password: 'not the password' },
    })
    const unknown = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email: 'nobody@example.test', password: 'not the password' },
    })
    expect(wrong.statusCode).toBe(401)
    expect(wrong.json()).toEqual(expected)
    expect(unknown.statusCode).toBe(401)
    expect(unknown.json()).toEqual(expected)
    expect(wrong.headers['set-cookie']).toBeUndefined()
  })

  it('expires sessions after 30 days', async () => {
    const { app, clock, close } = await buildTestApp({ store: t.store })
    try {
      const owner = await signupOwner(app)
      clock.advance(SESSION_TTL_MS - 1)
      expect(
        (await app.inject({ method: 'GET', url: '/api/v1/me', headers: owner.headers })).statusCode,
      ).toBe(200)
      clock.advance(1)
      const expired = await app.inject({ method: 'GET', url: '/api/v1/me', headers: owner.headers })
      expect(expired.statusCode).toBe(401)
      expect(expired.json().detail).toBe('the credential is not valid (unknown, revoked or expired)')
    } finally {
      await close()
    }
  })
})

describe('POST /auth/logout', () => {
  it('ends the session and clears the cookie', async () => {
    const owner = await signupOwner(t.app)
    const response = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/logout',
      headers: owner.headers,
    })
    expect(response.statusCode).toBe(204)
    expect(response.body).toBe('')
    expect(response.headers['set-cookie']).toBe(
      'latchkey_session=; Max-Age=0; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Lax',
    )
    const me = await t.app.inject({ method: 'GET', url: '/api/v1/me', headers: owner.headers })
    expect(me.statusCode).toBe(401)
  })

  it('also ends a session presented by cookie, and succeeds without one', async () => {
    const owner = await signupOwner(t.app)
    const byCookie = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/logout',
      cookies: { latchkey_session: owner.token },
    })
    expect(byCookie.statusCode).toBe(204)
    expect(
      (await t.app.inject({ method: 'GET', url: '/api/v1/me', headers: owner.headers })).statusCode,
    ).toBe(401)
    expect((await t.app.inject({ method: 'POST', url: '/api/v1/auth/logout' })).statusCode).toBe(204)
  })
})

describe('authentication', () => {
  it('refuses a request without a credential, with an unknown one, or with a malformed header', async () => {
    const none = await t.app.inject({ method: 'GET', url: '/api/v1/me' })
    expect(none.statusCode).toBe(401)
    expect(none.headers['www-authenticate']).toBe('Bearer')
    expect(none.json()).toEqual({
      type: 'urn:latchkey:error:unauthorized',
      title: 'Unauthorized',
      status: 401,
      code: 'unauthorized',
      detail: 'authentication required',
    })
    for (const token of ['lks_unknown', 'lk_unknown', 'something-else']) {
      const unknown = await t.app.inject({
        method: 'GET',
        url: '/api/v1/me',
        headers: { authorization: `Bearer ${token}` },
      })
      expect(unknown.statusCode).toBe(401)
      expect(unknown.json().detail).toBe('the credential is not valid (unknown, revoked or expired)')
    }
    const basic = await t.app.inject({
      method: 'GET',
      url: '/api/v1/me',
      headers: { authorization: 'Basic YTpi' },
    })
    expect(basic.statusCode).toBe(401)
    expect(basic.json().detail).toBe('the Authorization header must be `Bearer <token>`')
  })

  it('authenticates before it validates: an anonymous invalid body is 401, not 400', async () => {
    const response = await t.app.inject({ method: 'POST', url: '/api/v1/api-keys', payload: { name: 42 } })
    expect(response.statusCode).toBe(401)
  })
})
