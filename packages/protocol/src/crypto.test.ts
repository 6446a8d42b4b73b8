import { isLatchkeyError } from '@latchkey/core'
import { describe, expect, it } from 'vitest'
import { constantTimeEqual, deriveLockKeys, hmacSha256, randomSecret } from './crypto.ts'

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex')
const fromHex = (value: string) => new Uint8Array(Buffer.from(value, 'hex'))

describe('hmacSha256', () => {
  it('matches RFC 4231 test cases 1 and 2', () => {
    const one = hmacSha256(new Uint8Array(20).fill(0x0b), new TextEncoder().encode('Hi There'))
    expect(one).toBeInstanceOf(Uint8Array)
    expect(hex(one)).toBe('b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7')
    const two = hmacSha256(
      new TextEncoder().encode('Jefe'),
      new TextEncoder().encode('what do ya want for nothing?'),
    )
    expect(hex(two)).toBe('5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843')
  })
})

describe('deriveLockKeys', () => {
  const secret = fromHex('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f')

  it('derives the same keys on every version (locks in the field depend on them)', () => {
    const keys = deriveLockKeys(secret)
    expect({ pin: hex(keys.pin), command: hex(keys.command) }).toEqual({
      pin: '79107dc4f5a20fd9ff370e814022fd551fdf225f5cecc3d337eef0753b55071c',
      command: '8ac44c9dcf8b2a2e3f0b426435934f30f9f732ac4749f3fee209cf409343044e',
    })
  })

  it('gives each purpose and each lock its own 32-byte key', () => {
    const a = deriveLockKeys(secret)
    const b = deriveLockKeys(randomSecret())
    expect([a.pin.length, a.command.length]).toEqual([32, 32])
    expect(new Set([hex(a.pin), hex(a.command), hex(b.pin), hex(b.command)]).size).toBe(4)
  })

  it('refuses a secret that is not 32 bytes', () => {
    for (const length of [0, 16, 31, 33]) {
      let code = 'no error'
      try {
        deriveLockKeys(new Uint8Array(length))
      } catch (error) {
        code = isLatchkeyError(error) ? error.code : 'other'
      }
      expect(code).toBe('validation_failed')
    }
  })
})

describe('randomSecret', () => {
  it('gives 32 fresh bytes each time', () => {
    const seen = new Set<string>()
    for (let i = 0; i < 100; i++) {
      const secret = randomSecret()
      expect(secret).toBeInstanceOf(Uint8Array)
      expect(secret.length).toBe(32)
      seen.add(hex(secret))
    }
    expect(seen.size).toBe(100)
  })
})

describe('constantTimeEqual', () => {
  it('is true only for identical bytes or strings, false on any length mismatch', () => {
    expect(constantTimeEqual(fromHex('00ff10'), fromHex('00ff10'))).toBe(true)
    expect(constantTimeEqual(fromHex('00ff10'), fromHex('00ff11'))).toBe(false)
    expect(constantTimeEqual(fromHex('00ff10'), fromHex('00ff'))).toBe(false)
    expect(constantTimeEqual(new Uint8Array(0), new Uint8Array(0))).toBe(true)
    expect(constantTimeEqual('lk_live_abc', 'lk_live_abc')).toBe(true)
    expect(constantTimeEqual('lk_live_abc', 'lk_live_abd')).toBe(false)
    expect(constantTimeEqual('é', 'e')).toBe(false)
    expect(constantTimeEqual('abc', fromHex('616263'))).toBe(true)
  })
})
