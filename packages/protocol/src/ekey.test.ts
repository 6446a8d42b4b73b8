import { createPrivateKey, sign } from 'node:crypto'
import { isLatchkeyError } from '@latchkey/core'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  type EKeyClaims,
  generateServerKeyPair,
  publicKeyFromPrivatePem,
  signEKey,
  verifyEKey,
} from './ekey.ts'
import { arbId, arbInstant, arbSchedule } from './test-arbitraries.ts'

// RFC 8032 §7.1 test 1: a fixed Ed25519 key, so the exact credential can be pinned.
const RFC_SEED = '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60'
const RFC_PUBLIC = 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a'
const rfcPrivatePem = createPrivateKey({
  key: {
    kty: 'OKP',
    crv: 'Ed25519',
    d: Buffer.from(RFC_SEED, 'hex').toString('base64url'),
    x: Buffer.from(RFC_PUBLIC, 'hex').toString('base64url'),
  },
  format: 'jwk',
})
  .export({ format: 'pem', type: 'pkcs8' })
  .toString()
const rfcPublic = Buffer.from(RFC_PUBLIC, 'hex').toString('base64')

const claims: EKeyClaims = {
  keyId: 'ek_01',
  shareId: 'share_01',
  lockId: 'lock_front_door',
  level: 'restricted',
  notBefore: Date.UTC(2026, 0, 1),
  notAfter: Date.UTC(2026, 6, 1),
}

function errorCode(fn: () => unknown): string {
  try {
    fn()
  } catch (error) {
    if (isLatchkeyError(error)) return error.code
    throw error
  }
  return 'accepted'
}

describe('server key pair', () => {
  it('gives a raw 32-byte public key in base64 and a PKCS#8 PEM private key that belong together', () => {
    const pair = generateServerKeyPair()
    expect(Buffer.from(pair.publicKey, 'base64')).toHaveLength(32)
    expect(pair.privateKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n[\s\S]+\n-----END PRIVATE KEY-----\n$/)
    expect(publicKeyFromPrivatePem(pair.privateKeyPem)).toBe(pair.publicKey)
    expect(verifyEKey(pair.publicKey, signEKey(pair.privateKeyPem, claims))).toEqual(claims)
  })

  it('converts raw keys exactly (RFC 8032 test key)', () => {
    expect(publicKeyFromPrivatePem(rfcPrivatePem)).toBe(rfcPublic)
  })
})

describe('signEKey / verifyEKey', () => {
  it('produces the documented format: base64url(JSON claims) "." base64url(64-byte signature)', () => {
    const credential = signEKey(rfcPrivatePem, claims)
    const [payload, signature] = credential.split('.')
    expect(JSON.parse(Buffer.from(payload!, 'base64url').toString('utf8'))).toEqual(claims)
    expect(Buffer.from(signature!, 'base64url')).toHaveLength(64)
    // Ed25519 is deterministic: the same claims under the same key always give this credential.
    expect(credential).toBe(
      'eyJrZXlJZCI6ImVrXzAxIiwic2hhcmVJZCI6InNoYXJlXzAxIiwibG9ja0lkIjoibG9ja19mcm9udF9kb29yIiwibGV2ZWwiOiJyZXN0cmljdGVkIiwibm90QmVmb3JlIjoxNzY3MjI1NjAwMDAwLCJub3RBZnRlciI6MTc4Mjg2NDAwMDAwMH0' +
        '.kSiBBnP1MmqaQcrsUELLmgTmVJmKDxVWdMxbSXz6I25kjgYUL0AuooVUGkY7gXcQPKA-LDImGUZgZDSYdf0jAA',
    )
  })

  it('round-trips any claims', () => {
    const pair = generateServerKeyPair()
    const arbClaims = fc
      .record(
        {
          keyId: fc.string({ minLength: 1, maxLength: 40 }),
          shareId: fc.string({ minLength: 1, maxLength: 40 }),
          lockId: arbId,
          level: fc.constantFrom('owner', 'admin', 'maintenance', 'restricted', 'one_time'),
          notBefore: arbInstant,
          length: fc.integer({ min: 1, max: 400 * 86_400_000 }),
          oneTime: fc.boolean(),
          schedule: arbSchedule,
        },
        { requiredKeys: ['keyId', 'shareId', 'lockId', 'level', 'notBefore', 'length'] },
      )
      .map(({ length, ...rest }) => ({ ...rest, notAfter: rest.notBefore + length }) as EKeyClaims)
    fc.assert(
      fc.property(arbClaims, (c) => {
        expect(verifyEKey(pair.publicKey, signEKey(pair.privateKeyPem, c))).toEqual(c)
      }),
      { numRuns: 100 },
    )
  })

  it('refuses a credential signed by another server', () => {
    const other = generateServerKeyPair()
    expect(errorCode(() => verifyEKey(rfcPublic, signEKey(other.privateKeyPem, claims)))).toBe('unauthorized')
  })

  it('refuses claims changed after signing (another lock, a longer window, a higher level)', () => {
    const credential = signEKey(rfcPrivatePem, claims)
    const signature = credential.split('.')[1]!
    for (const change of [
      { lockId: 'lock_back_door' },
      { notAfter: Date.UTC(2030, 0, 1) },
      { level: 'owner' },
    ]) {
      const payload = Buffer.from(JSON.stringify({ ...claims, ...change })).toString('base64url')
      expect(errorCode(() => verifyEKey(rfcPublic, `${payload}.${signature}`))).toBe('unauthorized')
    }
  })

  it('refuses every single-character change of a credential', () => {
    const credential = signEKey(rfcPrivatePem, claims)
    for (let i = 0; i < credential.length; i++) {
      const replacement = credential[i] === 'A' ? 'B' : 'A'
      const changed = credential.slice(0, i) + replacement + credential.slice(i + 1)
      expect({ i, code: errorCode(() => verifyEKey(rfcPublic, changed)) }).toEqual({
        i,
        code: 'unauthorized',
      })
    }
  })

  it('refuses malformed credentials as unauthorized', () => {
    const credential = signEKey(rfcPrivatePem, claims)
    const [payload, signature] = credential.split('.') as [string, string]
    const malformed = [
      '',
      '.',
      payload,
      `${payload}.`,
      `.${signature}`,
      `${credential}.${signature}`,
      `${payload}.${signature}=`,
      ` ${credential}`,
      `${payload}.${signature.slice(0, -2)}`,
      `${payload}.${Buffer.from(signature, 'base64url').toString('base64')}`, // standard base64, padded
      'x'.repeat(10_000),
    ]
    for (const value of malformed) expect(errorCode(() => verifyEKey(rfcPublic, value))).toBe('unauthorized')
    // A signature spelled with other trailing bits decodes to the same bytes: still refused.
    const last = signature.at(-1)!
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
    const sibling = alphabet[alphabet.indexOf(last) ^ 1]!
    expect(errorCode(() => verifyEKey(rfcPublic, `${payload}.${signature.slice(0, -1)}${sibling}`))).toBe(
      'unauthorized',
    )
  })

  it('refuses signed claims that do not match the schema', () => {
    const payload = Buffer.from(JSON.stringify({ ...claims, level: 'superuser' })).toString('base64url')
    const signature = sign(null, Buffer.from(payload, 'ascii'), createPrivateKey(rfcPrivatePem)).toString(
      'base64url',
    )
    expect(errorCode(() => verifyEKey(rfcPublic, `${payload}.${signature}`))).toBe('unauthorized')
  })

  it('refuses to sign invalid claims', () => {
    expect(errorCode(() => signEKey(rfcPrivatePem, { ...claims, notAfter: claims.notBefore }))).toBe(
      'validation_failed',
    )
    expect(
      errorCode(() => signEKey(rfcPrivatePem, { ...claims, level: 'superuser' } as unknown as EKeyClaims)),
    ).toBe('validation_failed')
    expect(errorCode(() => signEKey(rfcPrivatePem, { ...claims, lockId: 'front door' }))).toBe(
      'validation_failed',
    )
  })

  it('refuses a server public key that is not 32 raw bytes in base64', () => {
    const credential = signEKey(rfcPrivatePem, claims)
    expect(errorCode(() => verifyEKey(Buffer.alloc(31).toString('base64'), credential))).toBe(
      'validation_failed',
    )
    expect(errorCode(() => verifyEKey('not base64!', credential))).toBe('validation_failed')
  })
})
