import { verifyEKey } from '@latchkey/protocol'
import { eq } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { revokedShares } from '../app-users/revocations.ts'
import { localTime } from '../local-time.ts'
import { events, lockSync, locks, permissions, uniqueCodes } from '../store/schema.ts'
import {
  addMemberAndLogin,
  buildTestApp,
  METRICS_HEADERS,
  signupOwner,
  TEST_EPOCH,
  type TestAccount,
  type TestApp,
} from '../testing.ts'
import {
  type CreatedCode,
  caller,
  createCode,
  createLock,
  enableUniqueCodes,
  problemBody,
  share,
} from '../unique-codes/test-fixtures.ts'

let t: TestApp
let call: ReturnType<typeof caller>
let owner: TestAccount
let other: TestAccount
let front: string
let back: string
beforeAll(async () => {
  t = await buildTestApp()
  call = caller(t.app)
  owner = await signupOwner(t.app)
  other = await signupOwner(t.app)
  await enableUniqueCodes(t.app, owner)
  front = await createLock(t.app, owner, 'Front door', 'Europe/Berlin')
  back = await createLock(t.app, owner, 'Back door')
})
afterAll(() => t.close())

const HOUR = 3_600_000
const DAY = 24 * HOUR
const iso = (ms: number) => new Date(ms).toISOString()
const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } })

let addresses = 0
/** A fresh client address per test, so the per-address throttle of one test does not reach another. */
const nextAddress = () => `198.51.100.${++addresses}`

const login = (code: string, deviceId: string, remoteAddress: string) =>
  t.app.inject({ method: 'POST', url: '/api/v1/app/code-login', payload: { code, deviceId }, remoteAddress })

const INVALID_CODE = problemBody(
  401,
  'invalid_code',
  'Invalid code',
  'this code is not valid: check it and try again',
)

/** Gives a created code a known value, so that look-alike characters can be typed. */
async function setCode(id: string, canonical: string): Promise<void> {
  await t.store.db
    .update(uniqueCodes)
    .set({
      codeEncrypted: t.secrets.encrypt(canonical, `unique_code:${id}`),
      codeHash: t.secrets.lookupHash('unique_code', canonical),
    })
    .where(eq(uniqueCodes.id, id))
}

const auditOf = async (uniqueCodeId: string) =>
  (await t.store.db.select().from(events).where(eq(events.uniqueCodeId, uniqueCodeId))).map((e) => ({
    type: e.type,
    data: e.data,
  }))

describe('Code Login', () => {
  let code: CreatedCode
  const address = '203.0.113.10'
  beforeAll(async () => {
    code = await createCode(t.app, owner, 'Plumber', iso(TEST_EPOCH + 10 * DAY))
    await setCode(code.id, 'A0B1C1DEFG')
    await share(t.app, owner, {
      lockIds: [front, back],
      grantee: { type: 'unique_code', uniqueCodeId: code.id },
      level: 'maintenance',
    })
  })

  it('reads the code in any case, without dashes or spaces, O as 0 and I or L as 1; binds the device', async () => {
    const response = await login(' aob-ic lDEFg ', 'phone-1', address)
    expect(response.statusCode).toBe(200)
    const lock = (id: string, name: string, timezone: string, accessEndsAtLocal: string) => ({
      id,
      name,
      timezone,
      level: 'maintenance',
      startsAt: null,
      startsAtLocal: null,
      endsAt: null,
      endsAtLocal: null,
      schedule: null,
      accessEndsAt: iso(TEST_EPOCH + 10 * DAY),
      accessEndsAtLocal,
    })
    expect(response.json()).toEqual({
      token: expect.stringMatching(/^lka_[A-Za-z0-9_-]{43}$/),
      expiresAt: iso(TEST_EPOCH + 10 * DAY),
      // the end of access also as each lock's wall clock reads it (2030-01-25T10:00Z)
      locks: [
        lock(back, 'Back door', 'UTC', '2030-01-25T10:00+00:00'),
        lock(front, 'Front door', 'Europe/Berlin', '2030-01-25T11:00+01:00'),
      ],
    })
    expect(response.cookies).toEqual([
      expect.objectContaining({ name: 'latchkey_app_session', value: response.json().token, httpOnly: true }),
    ])
    const [row] = await t.store.db.select().from(uniqueCodes).where(eq(uniqueCodes.id, code.id))
    expect(row).toMatchObject({ boundDeviceId: 'phone-1', boundAt: new Date(TEST_EPOCH) })
    expect((await login('A0B1C-1DEFG', 'phone-1', address)).statusCode).toBe(200)
  })

  it('refuses another device until the binding is reset', async () => {
    const response = await login('A0B1C-1DEFG', 'phone-2', address)
    expect(response.statusCode).toBe(409)
    expect(response.json()).toEqual(
      problemBody(
        409,
        'code_bound_to_other_device',
        'Code bound to other device',
        'this code is already in use on another device; ask the person who gave it to you to reset it',
      ),
    )
  })

  it('answers a wrong, malformed, expired or deleted code with the same 401', async () => {
    const expiring = await createCode(t.app, owner, 'Expiring', iso(t.clock.now() + HOUR))
    const deleted = await createCode(t.app, owner, 'Deleted', iso(t.clock.now() + DAY))
    expect((await call(owner, 'DELETE', `/unique-codes/${deleted.id}`)).statusCode).toBe(204)
    t.clock.advance(HOUR)
    const from = nextAddress()
    const answers = await Promise.all(
      ['ZZZZZ-ZZZZZ', 'not a code', 'UUUUU-UUUUU', expiring.code, deleted.code].map((typed) =>
        login(typed, 'phone-9', from),
      ),
    )
    for (const answer of answers) {
      expect(answer.statusCode).toBe(401)
      expect(answer.json()).toEqual(INVALID_CODE)
      expect(answer.headers['www-authenticate']).toBe('Bearer')
    }
    expect(new Set(answers.map((a) => a.body)).size).toBe(1)
    expect(await auditOf(expiring.id)).toEqual([
      { type: 'unique_code.created', data: expect.any(Object) },
      {
        type: 'unique_code.login_failed',
        data: { label: 'Expiring', address: from, deviceId: 'phone-9', reason: 'expired' },
      },
    ])
    expect((await auditOf(deleted.id)).at(-1)).toEqual({
      type: 'unique_code.login_failed',
      data: { label: 'Deleted', address: from, deviceId: 'phone-9', reason: 'deleted' },
    })
  })

  it('audits every attempt on the code with the address and device, never what was typed', async () => {
    expect(await auditOf(code.id)).toEqual([
      { type: 'unique_code.created', data: { label: 'Plumber', expiresAt: iso(TEST_EPOCH + 10 * DAY) } },
      expect.objectContaining({ type: 'permission.granted' }),
      expect.objectContaining({ type: 'permission.granted' }),
      { type: 'unique_code.login', data: { label: 'Plumber', address, deviceId: 'phone-1' } },
      { type: 'unique_code.login', data: { label: 'Plumber', address, deviceId: 'phone-1' } },
      {
        type: 'unique_code.login_failed',
        data: { label: 'Plumber', address, deviceId: 'phone-2', reason: 'bound_to_other_device' },
      },
    ])
    const all = JSON.stringify(await t.store.db.select().from(events))
    for (const typed of ['A0B1C1DEFG', 'A0B1C-1DEFG', 'aob-ic', 'ZZZZZ']) expect(all).not.toContain(typed)
  })

  it('counts the attempts of a metric by outcome', async () => {
    const metrics = await t.app.inject({ method: 'GET', url: '/metrics', headers: METRICS_HEADERS })
    expect(metrics.body).toContain('code_logins_total{outcome="success"} 2')
    expect(metrics.body).toContain('code_logins_total{outcome="bound_to_other_device"} 1')
    expect(metrics.body).toContain('code_logins_total{outcome="unknown_code"} 1')
  })
})

describe('Code Login throttling', () => {
  it('refuses a device after 10 failures in an hour, even with the right code, whatever its address', async () => {
    const code = await createCode(t.app, owner, 'Throttled device', iso(t.clock.now() + 30 * DAY))
    for (let i = 0; i < 10; i++) {
      expect((await login('ZZZZZ-ZZZZ0', 'phone-t', nextAddress())).statusCode).toBe(401)
    }
    const refused = await login(code.code, 'phone-t', nextAddress())
    expect(refused.statusCode).toBe(429)
    expect(refused.headers['retry-after']).toBe('3600')
    expect(refused.json()).toEqual(
      problemBody(429, 'rate_limited', 'Rate limited', 'too many attempts; try again in 3600 s'),
    )
    // another device on another address is not affected
    expect((await login(code.code, 'phone-u', nextAddress())).statusCode).toBe(200)
    t.clock.advance(HOUR)
    expect((await login(code.code, 'phone-u', nextAddress())).statusCode).toBe(200)
  })

  it('refuses an address after 20 failures in an hour from any devices; a success does not clear them', async () => {
    const code = await createCode(t.app, owner, 'Throttled address', iso(t.clock.now() + 30 * DAY))
    const from = nextAddress()
    for (let i = 0; i < 19; i++) {
      expect((await login('ZZZZZ-ZZZZ1', `rotating-${i}`, from)).statusCode).toBe(401)
    }
    expect((await login(code.code, 'phone-v', from)).statusCode).toBe(200)
    expect((await login('ZZZZZ-ZZZZ1', 'rotating-19', from)).statusCode).toBe(401)
    const refused = await login(code.code, 'phone-v', from)
    expect(refused.statusCode).toBe(429)
    expect(refused.json().code).toBe('rate_limited')
    expect((await login(code.code, 'phone-v', nextAddress())).statusCode).toBe(200)
  })

  it('throttles an IPv6 client by its /64, and holds while password logins clear their own older attempts', async () => {
    const code = await createCode(t.app, owner, 'IPv6', iso(t.clock.now() + 30 * DAY))
    for (let i = 0; i < 20; i++) {
      expect(
        (await login('ZZZZZ-ZZZZ2', `v6-${i}`, `2001:db8:1:2::${(i + 1).toString(16)}`)).statusCode,
      ).toBe(401)
    }
    t.clock.advance(20 * 60_000)
    // a password login (15-minute windows) clears old attempts of its own kind only
    await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email: owner.email, password: 'wrong password' },
      remoteAddress: '192.0.2.200',
    })
    const refused = await login(code.code, 'v6-new', '2001:db8:1:2:ffff:ffff:ffff:ffff')
    expect(refused.statusCode).toBe(429)
    expect(refused.headers['retry-after']).toBe(String(40 * 60))
    expect((await login(code.code, 'v6-new', '2001:db8:1:3::1')).statusCode).toBe(200)
  })
})

describe('the app', () => {
  let code: CreatedCode
  let token: string
  let restricted: string
  beforeAll(async () => {
    code = await createCode(t.app, owner, 'Cleaner', iso(t.clock.now() + 3 * DAY))
    const shared = await share(t.app, owner, {
      lockIds: [back],
      grantee: { type: 'unique_code', uniqueCodeId: code.id },
      level: 'restricted',
      startsAt: iso(t.clock.now() + 2 * HOUR),
      endsAt: iso(t.clock.now() + 5 * HOUR),
    })
    restricted = shared[0]!.id
    await share(t.app, owner, {
      lockIds: [front],
      grantee: { type: 'unique_code', uniqueCodeId: code.id },
      level: 'maintenance',
    })
    const response = await login(code.code.toLowerCase(), 'phone-app', nextAddress())
    expect(response.statusCode).toBe(200)
    token = response.json().token
  })

  it('lists the locks shared with the code with their level and window, in UTC and at each lock', async () => {
    expect(iso(t.clock.now())).toBe('2030-01-15T12:20:00.000Z')
    const response = await call(bearer(token), 'GET', '/app/locks')
    expect(response.statusCode).toBe(200)
    expect(response.json()).toEqual({
      items: [
        {
          id: back,
          name: 'Back door',
          timezone: 'UTC',
          level: 'restricted',
          startsAt: iso(t.clock.now() + 2 * HOUR),
          startsAtLocal: '2030-01-15T14:20+00:00',
          endsAt: iso(t.clock.now() + 5 * HOUR),
          endsAtLocal: '2030-01-15T17:20+00:00',
          schedule: null,
          accessEndsAt: iso(t.clock.now() + 5 * HOUR),
          accessEndsAtLocal: '2030-01-15T17:20+00:00',
        },
        {
          id: front,
          name: 'Front door',
          timezone: 'Europe/Berlin',
          level: 'maintenance',
          startsAt: null,
          startsAtLocal: null,
          endsAt: null,
          endsAtLocal: null,
          schedule: null,
          accessEndsAt: iso(t.clock.now() + 3 * DAY),
          accessEndsAtLocal: '2030-01-18T13:20+01:00',
        },
      ],
    })
  })

  it('takes no portal token that is not a user’s, and the app token opens no portal route', async () => {
    const none = await call(null, 'GET', '/app/locks')
    expect(none.statusCode).toBe(401)
    expect(none.json()).toEqual(problemBody(401, 'unauthorized', 'Unauthorized', 'authentication required'))
    const wrong = await call(bearer('lka_nothing'), 'GET', '/app/locks')
    expect(wrong.json().detail).toBe('the session is not valid (unknown, ended or expired)')
    expect((await call(bearer(token), 'GET', '/me')).statusCode).toBe(401)
    expect((await call(bearer(token), 'GET', '/unique-codes')).statusCode).toBe(401)
    // the owner has no shares of their own: nothing to open from the app
    expect((await call(owner, 'GET', '/app/locks')).json()).toEqual({ items: [] })
  })

  it('opens remotely only a reachable lock shared now: 404, 403 outside the window, 409 offline', async () => {
    const theirs = await createLock(t.app, other, 'Their door')
    const foreign = await call(bearer(token), 'POST', `/app/locks/${theirs}/unlock`)
    expect(foreign.statusCode).toBe(404)
    expect(foreign.json()).toEqual(
      problemBody(404, 'not_found', 'Not found', `no lock ${theirs} is shared with you`),
    )

    const early = await call(bearer(token), 'POST', `/app/locks/${back}/unlock`)
    expect(early.statusCode).toBe(403)
    // it says when the share opens next, on the lock's wall clock
    const [window] = await t.store.db.select().from(permissions).where(eq(permissions.id, restricted))
    const opensAt = window!.startsAt!.getTime()
    expect(early.json()).toEqual(
      problemBody(
        403,
        'forbidden',
        'Forbidden',
        `this share does not open the lock at this time; it opens next on ${localTime(opensAt, 'UTC')}`,
      ),
    )
    expect(localTime(opensAt, 'UTC')).toMatch(/^\w{3} \d{1,2} \w{3} 2030, \d{2}:\d{2} \(UTC\)$/)
    const denied = (await t.store.db.select().from(events).where(eq(events.type, 'lock.access_denied'))).at(
      -1,
    )
    expect(denied).toMatchObject({
      lockId: back,
      uniqueCodeId: code.id,
      data: {
        method: 'remote',
        reason: 'outside_schedule',
        lockName: 'Back door',
        permissionId: restricted,
        label: 'Cleaner',
        opensAt: new Date(opensAt).toISOString(),
      },
    })

    const offline = await call(bearer(token), 'POST', `/app/locks/${front}/unlock`)
    expect(offline.statusCode).toBe(409)
    expect(offline.json()).toEqual(
      problemBody(
        409,
        'lock_offline',
        'Lock offline',
        'Front door cannot be reached now; open it with an eKey near the lock',
      ),
    )
  })

  it('signs an eKey for the lock, valid until the share, the code or 24 hours end', async () => {
    const response = await call(bearer(token), 'POST', `/app/locks/${front}/ekey`)
    expect(response.statusCode).toBe(201)
    const body = response.json()
    expect(body).toEqual({
      credential: expect.any(String),
      keyId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      notBefore: iso(t.clock.now()),
      notAfter: iso(t.clock.now() + DAY),
    })
    const [shared] = (await call(owner, 'GET', `/permissions?lockId=${front}&uniqueCodeId=${code.id}`)).json()
      .items
    expect(verifyEKey(t.secrets.serverKeyPair.publicKey, body.credential)).toEqual({
      keyId: body.keyId,
      shareId: shared.id,
      lockId: front,
      level: 'maintenance',
      notBefore: t.clock.now(),
      notAfter: t.clock.now() + DAY,
    })
    // the restricted share opens in 2 h: its key starts then and ends with the window
    const later = (await call(bearer(token), 'POST', `/app/locks/${back}/ekey`)).json()
    expect(verifyEKey(t.secrets.serverKeyPair.publicKey, later.credential)).toMatchObject({
      level: 'restricted',
      notBefore: t.clock.now() + 2 * HOUR,
      notAfter: t.clock.now() + 5 * HOUR,
    })
    // two days on, the code's expiry comes first
    t.clock.advance(2 * DAY)
    const last = (await call(bearer(token), 'POST', `/app/locks/${front}/ekey`)).json()
    expect(last.notAfter).toBe(iso(t.clock.now() + DAY))
    expect((await call(bearer(token), 'POST', `/app/locks/${back}/ekey`)).statusCode).toBe(403)
    const issued = (await t.store.db.select().from(events).where(eq(events.type, 'ekey.issued'))).at(-1)
    expect(issued).toMatchObject({
      lockId: front,
      uniqueCodeId: code.id,
      data: { keyId: last.keyId, label: 'Cleaner' },
    })
  })

  it('revoking the share takes the lock away at once and puts its unexpired keys on the lock’s revocation list', async () => {
    const before = revokedShares(t.store.db, front, t.clock.now())
    expect(await before).toEqual([])
    const keys = (await t.store.db.select().from(events).where(eq(events.type, 'ekey.issued')))
      .filter((e) => e.lockId === front)
      .map((e) => e.data as { keyId: string; notAfter: string })
    const permission = (
      await call(owner, 'GET', `/permissions?lockId=${front}&uniqueCodeId=${code.id}`)
    ).json().items[0]
    expect((await call(owner, 'DELETE', `/permissions/${permission.id}`)).statusCode).toBe(204)

    // the first key (24 h from two days ago) has expired; the live one keeps its share on the list
    const live = keys.filter((k) => Date.parse(k.notAfter) > t.clock.now()).map((k) => k.keyId)
    expect(live).toHaveLength(1)
    expect(await revokedShares(t.store.db, front, t.clock.now())).toEqual([`share:${permission.id}`])
    expect(await revokedShares(t.store.db, front, t.clock.now() + DAY)).toEqual([])
    const [sync] = await t.store.db.select().from(lockSync).where(eq(lockSync.lockId, front))
    expect(sync?.dueAt).toEqual(new Date(t.clock.now()))

    expect(
      (await call(bearer(token), 'GET', '/app/locks')).json().items.map((l: { id: string }) => l.id),
    ).toEqual([])
    const unlock = await call(bearer(token), 'POST', `/app/locks/${front}/unlock`)
    expect(unlock.statusCode).toBe(404)
    expect((await call(bearer(token), 'POST', `/app/locks/${front}/ekey`)).statusCode).toBe(404)
  })

  it('ends the session when the code expires', async () => {
    expect((await call(bearer(token), 'GET', '/app/locks')).statusCode).toBe(200)
    t.clock.advance(DAY)
    const expired = await call(bearer(token), 'GET', '/app/locks')
    expect(expired.statusCode).toBe(401)
  })
})

describe('one-time shares and shares to users', () => {
  it('a one_time share gives one one-time eKey, after which it is used', async () => {
    const code = await createCode(t.app, owner, 'Courier', iso(t.clock.now() + DAY))
    await share(t.app, owner, {
      lockIds: [back],
      grantee: { type: 'unique_code', uniqueCodeId: code.id },
      level: 'one_time',
    })
    const token = (await login(code.code, 'phone-once', nextAddress())).json().token
    const first = (await call(bearer(token), 'POST', `/app/locks/${back}/ekey`)).json()
    expect(verifyEKey(t.secrets.serverKeyPair.publicKey, first.credential)).toMatchObject({
      level: 'one_time',
      oneTime: true,
      notAfter: t.clock.now() + DAY,
    })
    const second = await call(bearer(token), 'POST', `/app/locks/${back}/ekey`)
    expect(second.statusCode).toBe(403)
    expect(second.json().detail).toBe('this one-time share has already been used')
    expect((await call(bearer(token), 'POST', `/app/locks/${back}/unlock`)).json().detail).toBe(
      'this one-time share has already been used',
    )
    expect((await call(bearer(token), 'GET', '/app/locks')).json()).toEqual({ items: [] })
    expect((await call(owner, 'GET', `/permissions?uniqueCodeId=${code.id}`)).json().items[0].status).toBe(
      'used',
    )
  })

  it('a user opens the locks shared with them from the app with their own session', async () => {
    const member = await addMemberAndLogin(t.app, owner, 'member')
    await share(t.app, owner, {
      lockIds: [front],
      grantee: { type: 'user', email: member.email },
      level: 'admin',
    })
    expect((await call(member, 'GET', '/app/locks')).json().items).toEqual([
      expect.objectContaining({ id: front, level: 'admin', accessEndsAt: null }),
    ])
    const key = (await call(member, 'POST', `/app/locks/${front}/ekey`)).json()
    expect(verifyEKey(t.secrets.serverKeyPair.publicKey, key.credential)).toMatchObject({
      lockId: front,
      level: 'admin',
      notAfter: t.clock.now() + DAY,
    })
    expect((await call(member, 'POST', `/app/locks/${back}/ekey`)).statusCode).toBe(404)
  })

  it('throttles eKeys per person and lock: 429 with Retry-After after 20 an hour', async () => {
    const member = await addMemberAndLogin(t.app, owner, 'member')
    await share(t.app, owner, {
      lockIds: [front, back],
      grantee: { type: 'user', email: member.email },
      level: 'maintenance',
    })
    for (let i = 0; i < 20; i++) {
      expect((await call(member, 'POST', `/app/locks/${front}/ekey`)).statusCode).toBe(201)
    }
    const refused = await call(member, 'POST', `/app/locks/${front}/ekey`)
    expect(refused.statusCode).toBe(429)
    expect(refused.headers['content-type']).toContain('application/problem+json')
    expect(refused.json()).toMatchObject({ code: 'rate_limited', status: 429 })
    expect(Number(refused.headers['retry-after'])).toBe(3600)
    // another lock of the same person, and the same lock an hour on, are not held back
    expect((await call(member, 'POST', `/app/locks/${back}/ekey`)).statusCode).toBe(201)
    t.clock.advance(HOUR)
    expect((await call(member, 'POST', `/app/locks/${front}/ekey`)).statusCode).toBe(201)
  })

  it('refuses an eKey for a Matter lock, naming the driver; its codes go synced even while it is away', async () => {
    // A Matter lock as the store keeps it (commissioning one is test/matter.e2e.test.ts).
    const gate = await createLock(t.app, owner, 'Garden gate')
    await t.store.db
      .update(locks)
      .set({ driver: 'matter', gatewayId: null, matter: { nodeId: 'peer9', users: {} } })
      .where(eq(locks.id, gate))
    const member = await addMemberAndLogin(t.app, owner, 'member')
    await share(t.app, owner, {
      lockIds: [gate],
      grantee: { type: 'user', email: member.email },
      level: 'maintenance',
    })
    const refused = await call(member, 'POST', `/app/locks/${gate}/ekey`)
    expect(refused.statusCode).toBe(422)
    expect(refused.json()).toMatchObject({
      code: 'not_supported_by_driver',
      detail: 'a lock on the matter driver has no eKeys: eKeys are a feature of the latchkey driver',
    })
    const code = await call(owner, 'POST', `/locks/${gate}/access-codes`, {
      name: 'Gardener',
      kind: 'permanent',
    })
    expect(code.statusCode).toBe(201)
    expect(code.json()).toMatchObject({ delivery: 'synced', status: 'setting' })
  })

  it('deleting a code revokes the keys of all its shares and ends its sessions', async () => {
    const code = await createCode(t.app, owner, 'Gone', iso(t.clock.now() + 2 * DAY))
    await share(t.app, owner, {
      lockIds: [front, back],
      grantee: { type: 'unique_code', uniqueCodeId: code.id },
      level: 'maintenance',
    })
    const token = (await login(code.code, 'phone-gone', nextAddress())).json().token
    const a = (await call(bearer(token), 'POST', `/app/locks/${front}/ekey`)).json().credential
    const b = (await call(bearer(token), 'POST', `/app/locks/${back}/ekey`)).json().credential
    const shareOf = (credential: string) =>
      `share:${verifyEKey(t.secrets.serverKeyPair.publicKey, credential).shareId}`
    expect((await call(owner, 'DELETE', `/unique-codes/${code.id}`)).statusCode).toBe(204)
    expect(await revokedShares(t.store.db, front, t.clock.now())).toContain(shareOf(a))
    expect(await revokedShares(t.store.db, back, t.clock.now())).toEqual([shareOf(b)])
    expect((await call(bearer(token), 'GET', '/app/locks')).statusCode).toBe(401)
    expect((await call(bearer(token), 'POST', `/app/locks/${front}/unlock`)).statusCode).toBe(401)
  })

  it('logs out of Code Login', async () => {
    const code = await createCode(t.app, owner, 'Short visit', iso(t.clock.now() + DAY))
    const token = (await login(code.code, 'phone-out', nextAddress())).json().token
    const out = await call(bearer(token), 'POST', '/app/logout')
    expect(out.statusCode).toBe(204)
    expect((await call(bearer(token), 'GET', '/app/locks')).statusCode).toBe(401)
  })
})
