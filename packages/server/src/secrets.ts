/**
 * The server's master key and what is derived from it (SPEC §2).
 *
 * The master key (32 bytes) comes from `LATCHKEY_MASTER_KEY` (base64) or, for a single host, from
 * `<dataDir>/master.key` (generated on first start, mode 0600). It is never used directly: each
 * purpose gets its own key by HKDF-SHA256:
 * - 'at-rest': AES-256-GCM for lock secrets, PINs and unique codes stored in the database;
 * - 'lookup:<kind>': HMAC-SHA256 keyed hashes to find a PIN or unique code without decrypting;
 * - 'ekey-signing': the seed of the server's Ed25519 key that signs app credentials (eKeys);
 * - anything else through `deriveKey(purpose)`.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  createPrivateKey,
  createPublicKey,
  hkdfSync,
  randomBytes,
} from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { LatchkeyError } from '@latchkey/core'
import type { ServerKeyPair } from '@latchkey/protocol'

export const MASTER_KEY_BYTES = 32
const CIPHERTEXT_VERSION = 'v1'
const IV_BYTES = 12
const TAG_BYTES = 16

/** What a keyed look-up hash is for; each kind has its own key, so hashes never compare across kinds. */
export type LookupKind = 'pin' | 'unique_code'

export interface Secrets {
  /** Where the master key came from. */
  readonly source: 'env' | 'file' | 'generated'
  /**
   * AES-256-GCM with the at-rest key. `context` names the row the value belongs to (e.g.
   * `lock:<id>`) and is bound as associated data: a ciphertext moved to another row does not decrypt.
   * Returns `v1:<base64url(iv ‖ ciphertext ‖ tag)>`.
   */
  encrypt(plaintext: Uint8Array | string, context: string): string
  /** Throws LatchkeyError 'internal' when the value was altered, moved or made with another key. */
  decrypt(ciphertext: string, context: string): Buffer
  decryptText(ciphertext: string, context: string): string
  /** HMAC-SHA256 (hex) with the look-up key of `kind`; the same value always gives the same hash. */
  lookupHash(kind: LookupKind, value: string): string
  /** A key for a purpose of its own (HKDF-SHA256 of the master key, info `latchkey:<purpose>`). */
  deriveKey(purpose: string, length?: number): Buffer
  /**
   * The server's Ed25519 key that signs eKeys (for @latchkey/protocol `signEKey`); its public key
   * goes into provisioning bundles. Derived from the master key, so every server process has the same.
   */
  readonly serverKeyPair: ServerKeyPair
}

export interface LoadSecretsOptions {
  env?: Record<string, string | undefined>
  /** Where `master.key` is kept when the environment gives no key. */
  dataDir?: string
  log?: (message: string) => void
}

/** The master key from the environment, else from (or generated into) `<dataDir>/master.key`. */
export function loadSecrets(options: LoadSecretsOptions = {}): Secrets {
  const env = options.env ?? process.env
  const fromEnv = env.LATCHKEY_MASTER_KEY
  if (fromEnv !== undefined && fromEnv.trim() !== '') {
    return createSecrets(parseMasterKey(fromEnv, 'LATCHKEY_MASTER_KEY'), 'env')
  }
  if (options.dataDir === undefined) {
    throw new LatchkeyError(
      'service_unavailable',
      'no master key: set LATCHKEY_MASTER_KEY (32 random bytes, base64) or give a data directory',
    )
  }
  const dir = resolve(options.dataDir)
  const path = join(dir, 'master.key')
  const existing = readKeyFile(path)
  if (existing !== null) return createSecrets(parseMasterKey(existing, path), 'file')
  mkdirSync(dir, { recursive: true })
  const key = randomBytes(MASTER_KEY_BYTES)
  try {
    writeFileSync(path, `${key.toString('base64')}\n`, { mode: 0o600, flag: 'wx' })
  } catch (error) {
    // another process created it first: use theirs
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    return createSecrets(parseMasterKey(readKeyFile(path) ?? '', path), 'file')
  }
  options.log?.(
    `generated a new master key in ${path} (mode 0600); keep a copy: without it the lock secrets and PINs stored in this database cannot be read`,
  )
  return createSecrets(key, 'generated')
}

export function createSecrets(masterKey: Uint8Array, source: Secrets['source'] = 'env'): Secrets {
  if (masterKey.byteLength !== MASTER_KEY_BYTES) {
    throw new LatchkeyError('service_unavailable', `the master key must be ${MASTER_KEY_BYTES} bytes`)
  }
  const master = Buffer.from(masterKey)
  const deriveKey = (purpose: string, length = 32): Buffer =>
    Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), `latchkey:${purpose}`, length))
  const atRest = deriveKey('at-rest')
  const lookupKeys = new Map<LookupKind, Buffer>()
  const serverKeyPair = ed25519FromSeed(deriveKey('ekey-signing'))

  const decrypt = (ciphertext: string, context: string): Buffer => {
    const [version, body] = ciphertext.split(':', 2)
    const raw = body === undefined ? Buffer.alloc(0) : Buffer.from(body, 'base64url')
    if (version !== CIPHERTEXT_VERSION || raw.byteLength < IV_BYTES + TAG_BYTES) {
      throw new LatchkeyError('internal', `cannot decrypt the value of ${context}: unknown format`)
    }
    const decipher = createDecipheriv('aes-256-gcm', atRest, raw.subarray(0, IV_BYTES))
    decipher.setAAD(Buffer.from(context, 'utf8'))
    decipher.setAuthTag(raw.subarray(raw.byteLength - TAG_BYTES))
    try {
      return Buffer.concat([
        decipher.update(raw.subarray(IV_BYTES, raw.byteLength - TAG_BYTES)),
        decipher.final(),
      ])
    } catch (cause) {
      throw new LatchkeyError(
        'internal',
        `cannot decrypt the value of ${context}: altered, or made with another master key`,
        { cause },
      )
    }
  }

  return {
    source,
    encrypt(plaintext, context) {
      const iv = randomBytes(IV_BYTES)
      const cipher = createCipheriv('aes-256-gcm', atRest, iv)
      cipher.setAAD(Buffer.from(context, 'utf8'))
      const data = typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext
      const body = Buffer.concat([iv, cipher.update(data), cipher.final(), cipher.getAuthTag()])
      return `${CIPHERTEXT_VERSION}:${body.toString('base64url')}`
    },
    decrypt,
    decryptText: (ciphertext, context) => decrypt(ciphertext, context).toString('utf8'),
    lookupHash(kind, value) {
      let key = lookupKeys.get(kind)
      if (key === undefined) {
        key = deriveKey(`lookup:${kind}`)
        lookupKeys.set(kind, key)
      }
      return createHmac('sha256', key).update(value, 'utf8').digest('hex')
    },
    deriveKey,
    serverKeyPair,
  }
}

/** Parses a base64 (or base64url) master key of exactly 32 bytes. */
export function parseMasterKey(text: string, where: string): Buffer {
  const trimmed = text.trim()
  const key = Buffer.from(trimmed, trimmed.includes('-') || trimmed.includes('_') ? 'base64url' : 'base64')
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(trimmed) || key.byteLength !== MASTER_KEY_BYTES) {
    throw new LatchkeyError(
      'service_unavailable',
      `${where} must hold ${MASTER_KEY_BYTES} random bytes in base64 (e.g. \`openssl rand -base64 32\`)`,
    )
  }
  return key
}

function readKeyFile(path: string): string | null {
  try {
    return readFileSync(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw error
  }
}

/** PKCS#8 DER prefix of an Ed25519 private key; the 32-byte seed follows. */
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex')

function ed25519FromSeed(seed: Buffer): ServerKeyPair {
  const privateKey = createPrivateKey({
    key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]),
    format: 'der',
    type: 'pkcs8',
  })
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' })
  return {
    publicKey: spki.subarray(spki.byteLength - 32).toString('base64'),
    privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
  }
}
