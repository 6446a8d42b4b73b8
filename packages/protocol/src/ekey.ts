/**
 * eKeys: app credentials the server signs (Ed25519) and the lock checks offline with the server's
 * public key from its provisioning bundle (SPEC §2, §4).
 *
 *   credential = base64url(utf8(JSON claims)) "." base64url(64-byte signature over the first part's ASCII)
 *
 * `verifyEKey` proves only that the server issued these claims. The lock then checks lockId, the
 * window (notBefore … notAfter), the level, the schedule and its revocation list itself.
 */
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
  verify,
} from 'node:crypto'
import { LatchkeyError } from '@latchkey/core'
import { z } from 'zod'
import { ZWeeklySchedule } from './messages.ts'

export const EKEY_LEVELS = ['owner', 'admin', 'maintenance', 'restricted', 'one_time'] as const
export type EKeyLevel = (typeof EKEY_LEVELS)[number]

export const ZEKeyClaims = z
  .object({
    keyId: z.string().min(1).max(128),
    /** The share (permission) the key was issued for: the lock's revocation list names shares. */
    shareId: z.string().min(1).max(128),
    lockId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
    level: z.enum(EKEY_LEVELS),
    /** Epoch ms (UTC). */
    notBefore: z.number().int(),
    notAfter: z.number().int(),
    oneTime: z.boolean().optional(),
    schedule: ZWeeklySchedule.optional(),
  })
  .refine((c) => c.notAfter > c.notBefore, {
    message: 'notAfter must be after notBefore',
    path: ['notAfter'],
  })
export type EKeyClaims = z.infer<typeof ZEKeyClaims>

/**
 * How the lock's revocation list (`set_revocations`) names a revoked share: every eKey issued for it
 * is refused, however many there are, so the list holds one entry per share, not one per key.
 */
export const shareRevocationId = (shareId: string): string => `share:${shareId}`

/**
 * How the revocation list names an offline code, so that it can be revoked "when the lock is next
 * reached": `offline:<H>:<startsAt ms>`, the same pair the lock logs when such a code is used.
 */
export const offlineRevocationId = (h: number, startsAtMs: number): string => `offline:${h}:${startsAtMs}`

/** Longest credential accepted; a real one is a few hundred characters. */
export const MAX_EKEY_LENGTH = 8192

const B64URL = /^[A-Za-z0-9_-]+$/
const SIGNATURE_BYTES = 64

export interface ServerKeyPair {
  /** Raw 32-byte Ed25519 public key, standard base64 (as in the provisioning bundle). */
  publicKey: string
  privateKeyPem: string
}

export function generateServerKeyPair(): ServerKeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519')
  return {
    publicKey: rawPublicKey(publicKey),
    privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
  }
}

/** The raw public key (base64) of a private key in PEM, for the provisioning bundle. */
export function publicKeyFromPrivatePem(privateKeyPem: string): string {
  return rawPublicKey(createPublicKey(createPrivateKey(privateKeyPem)))
}

function rawPublicKey(key: KeyObject): string {
  const { x } = key.export({ format: 'jwk' })
  if (typeof x !== 'string') throw new LatchkeyError('internal', 'Ed25519 public key without x')
  return Buffer.from(x, 'base64url').toString('base64')
}

function publicKeyObject(rawBase64: string): KeyObject {
  const raw = Buffer.from(rawBase64, 'base64')
  if (raw.length !== 32 || raw.toString('base64') !== rawBase64) {
    throw new LatchkeyError('validation_failed', 'the server public key must be 32 bytes, base64')
  }
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' })
}

export function signEKey(privateKeyPem: string, claims: EKeyClaims): string {
  const parsed = ZEKeyClaims.safeParse(claims)
  if (!parsed.success) {
    throw new LatchkeyError('validation_failed', `invalid eKey claims: ${parsed.error.issues[0]?.message}`, {
      details: parsed.error.issues,
    })
  }
  const payload = Buffer.from(JSON.stringify(parsed.data), 'utf8').toString('base64url')
  const signature = sign(null, Buffer.from(payload, 'ascii'), createPrivateKey(privateKeyPem))
  return `${payload}.${signature.toString('base64url')}`
}

/** Checks the signature and the shape of the claims; throws LatchkeyError 'unauthorized' otherwise. */
export function verifyEKey(publicKeyRawBase64: string, credential: string): EKeyClaims {
  const key = publicKeyObject(publicKeyRawBase64)
  const refuse = (why: string): never => {
    throw new LatchkeyError('unauthorized', `eKey refused: ${why}`, { userMessage: 'This key is not valid.' })
  }
  if (typeof credential !== 'string' || credential.length > MAX_EKEY_LENGTH) return refuse('malformed')
  const parts = credential.split('.')
  if (parts.length !== 2) return refuse('malformed')
  const [payload, sig] = parts as [string, string]
  if (!B64URL.test(payload) || !B64URL.test(sig)) return refuse('malformed')
  const signature = Buffer.from(sig, 'base64url')
  // Only the canonical encoding of a 64-byte signature: one credential, one spelling.
  if (signature.length !== SIGNATURE_BYTES || signature.toString('base64url') !== sig)
    return refuse('malformed')
  if (!verify(null, Buffer.from(payload, 'ascii'), key, signature)) return refuse('bad signature')
  let json: unknown
  try {
    json = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'))
  } catch {
    return refuse('claims are not JSON')
  }
  const parsed = ZEKeyClaims.safeParse(json)
  if (!parsed.success) return refuse('claims do not match the schema')
  return parsed.data
}
