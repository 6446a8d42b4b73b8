import { describe, expect, it } from 'vitest'
import {
  generateApiKey,
  generateSessionToken,
  hashPassword,
  hashToken,
  secretsEqual,
  verifyPassword,
} from './credentials.ts'

describe('credentials', () => {
  it('makes API keys `lk_` + 43 characters, listed by their first 11', () => {
    const { key, prefix } = generateApiKey()
    expect(key).toMatch(/^lk_[A-Za-z0-9_-]{43}$/)
    expect(prefix).toBe(key.slice(0, 11))
    expect(generateApiKey().key).not.toBe(key)
    expect(generateSessionToken()).toMatch(/^lks_[A-Za-z0-9_-]{43}$/)
  })

  it('stores only the SHA-256 of a token', () => {
    expect(hashToken('lk_abc')).toBe('45f7da3757385412af05fa3c8f1fcbe3209d09d922f858f58b1656e88bea7fff')
    expect(hashToken('lk_abc')).not.toBe(hashToken('lk_abd'))
  })

  it('compares secrets of any length', () => {
    expect(secretsEqual('same', 'same')).toBe(true)
    expect(secretsEqual('same', 'sama')).toBe(false)
    expect(secretsEqual('same', 'same!')).toBe(false)
    expect(secretsEqual('', '')).toBe(true)
  })

  it('hashes passwords with argon2id and verifies them', async () => {
    const stored = await hashPassword('correct horse battery')
    expect(stored.startsWith('$argon2id$')).toBe(true)
    expect(await verifyPassword(stored, 'correct horse battery')).toBe(true)
    expect(await verifyPassword(stored, 'correct horse batterY')).toBe(false)
    expect(await verifyPassword(null, 'correct horse battery')).toBe(false)
    expect(await verifyPassword('not a hash', 'x')).toBe(false)
  })
})
