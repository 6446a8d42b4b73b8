import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LatchkeyError } from '@latchkey/core'
import { signEKey, verifyEKey } from '@latchkey/protocol'
import fc from 'fast-check'
import { afterEach, describe, expect, it } from 'vitest'
import { createSecrets, loadSecrets } from './secrets.ts'

const KEY = Buffer.alloc(32, 7)
const dirs: string[] = []
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-secrets-'))
  dirs.push(dir)
  return dir
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

describe('master key', () => {
  it('is generated once into <dataDir>/master.key with mode 0600, and the log says so', () => {
    const dir = tempDir()
    const lines: string[] = []
    const first = loadSecrets({ env: {}, dataDir: dir, log: (line) => lines.push(line) })
    const path = join(dir, 'master.key')
    expect(first.source).toBe('generated')
    expect(statSync(path).mode & 0o777).toBe(0o600)
    expect(Buffer.from(readFileSync(path, 'utf8').trim(), 'base64')).toHaveLength(32)
    expect(lines).toEqual([
      `generated a new master key in ${path} (mode 0600); keep a copy: without it the lock secrets and PINs stored in this database cannot be read`,
    ])

    const second = loadSecrets({ env: {}, dataDir: dir, log: (line) => lines.push(line) })
    expect(second.source).toBe('file')
    expect(lines).toHaveLength(1)
    // the same key: what the first encrypted, the second reads
    expect(second.decryptText(first.encrypt('2580', 'access_code:a'), 'access_code:a')).toBe('2580')
  })

  it('prefers LATCHKEY_MASTER_KEY and writes no file', () => {
    const dir = tempDir()
    const secrets = loadSecrets({ env: { LATCHKEY_MASTER_KEY: KEY.toString('base64') }, dataDir: dir })
    expect(secrets.source).toBe('env')
    expect(() => statSync(join(dir, 'master.key'))).toThrow()
    expect(secrets.decryptText(createSecrets(KEY).encrypt('x', 'c'), 'c')).toBe('x')
  })

  it('refuses a key that is not 32 bytes of base64, and a start with no key and no data directory', () => {
    expect(() => loadSecrets({ env: { LATCHKEY_MASTER_KEY: 'c2hvcnQ=' } })).toThrow(
      new LatchkeyError(
        'service_unavailable',
        'LATCHKEY_MASTER_KEY must hold 32 random bytes in base64 (e.g. `openssl rand -base64 32`)',
      ),
    )
    expect(() => loadSecrets({ env: {} })).toThrow(
      'no master key: set LATCHKEY_MASTER_KEY (32 random bytes, base64) or give a data directory',
    )
    const dir = tempDir()
    writeFileSync(join(dir, 'master.key'), 'not a key\n')
    expect(() => loadSecrets({ env: {}, dataDir: dir })).toThrow(
      `${join(dir, 'master.key')} must hold 32 random bytes`,
    )
  })
})

describe('encryption at rest', () => {
  const secrets = createSecrets(KEY)

  it('round-trips any value, with a fresh IV each time', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), fc.string({ maxLength: 40 }), (value, context) => {
        const sealed = secrets.encrypt(value, context)
        expect(sealed.startsWith('v1:')).toBe(true)
        expect(new Uint8Array(secrets.decrypt(sealed, context))).toEqual(value)
      }),
      { numRuns: 200 },
    )
    expect(secrets.encrypt('1234', 'c')).not.toBe(secrets.encrypt('1234', 'c'))
  })

  it('refuses a ciphertext moved to another row, altered, or made with another master key', () => {
    const sealed = secrets.encrypt('lock secret', 'lock:1')
    expect(() => secrets.decrypt(sealed, 'lock:2')).toThrow(
      new LatchkeyError(
        'internal',
        'cannot decrypt the value of lock:2: altered, or made with another master key',
      ),
    )
    const raw = Buffer.from(sealed.slice(3), 'base64url')
    raw[14]! ^= 1
    expect(() => secrets.decrypt(`v1:${raw.toString('base64url')}`, 'lock:1')).toThrow('altered')
    expect(() => createSecrets(randomBytes(32)).decrypt(sealed, 'lock:1')).toThrow('altered')
    expect(() => secrets.decrypt('v0:abc', 'lock:1')).toThrow(
      'cannot decrypt the value of lock:1: unknown format',
    )
  })
})

describe('derived keys', () => {
  it('give stable look-up hashes, distinct per kind and per master key', () => {
    const a = createSecrets(KEY)
    const b = createSecrets(KEY)
    expect(a.lookupHash('pin', '482913')).toBe(b.lookupHash('pin', '482913'))
    expect(a.lookupHash('pin', '482913')).toMatch(/^[0-9a-f]{64}$/)
    expect(a.lookupHash('pin', '482913')).not.toBe(a.lookupHash('unique_code', '482913'))
    expect(a.lookupHash('pin', '482913')).not.toBe(createSecrets(randomBytes(32)).lookupHash('pin', '482913'))
    expect(a.deriveKey('command-channel')).toHaveLength(32)
    expect(a.deriveKey('command-channel')).not.toEqual(a.deriveKey('at-rest'))
  })

  it('give every process the same eKey signing key, which protocol verification accepts', () => {
    const one = createSecrets(KEY).serverKeyPair
    const two = createSecrets(KEY).serverKeyPair
    expect(two).toEqual(one)
    expect(Buffer.from(one.publicKey, 'base64')).toHaveLength(32)
    expect(createSecrets(randomBytes(32)).serverKeyPair.publicKey).not.toBe(one.publicKey)
    const claims = {
      keyId: 'k1',
      shareId: 's1',
      lockId: 'lock-1',
      level: 'restricted' as const,
      notBefore: 0,
      notAfter: 10_000,
    }
    const credential = signEKey(one.privateKeyPem, claims)
    expect(verifyEKey(one.publicKey, credential)).toEqual(claims)
  })
})
