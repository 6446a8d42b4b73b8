/**
 * Credentials people hold: session tokens, API keys, passwords.
 * Tokens and keys are 32 random bytes; only their SHA-256 is stored (a look-up by digest of a
 * high-entropy value reveals nothing useful through timing). Passwords are argon2id.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { hash, verify } from '@node-rs/argon2'

export const SESSION_TOKEN_PREFIX = 'lks_'
export const API_KEY_PREFIX = 'lk_'
export const INVITATION_TOKEN_PREFIX = 'lki_'
/** How much of an API key lists show (`lk_` and 8 characters). */
export const API_KEY_DISPLAY_LENGTH = API_KEY_PREFIX.length + 8

export function generateSessionToken(): string {
  return SESSION_TOKEN_PREFIX + randomBytes(32).toString('base64url')
}

export function generateInvitationToken(): string {
  return INVITATION_TOKEN_PREFIX + randomBytes(32).toString('base64url')
}

export function generateApiKey(): { key: string; prefix: string } {
  const key = API_KEY_PREFIX + randomBytes(32).toString('base64url')
  return { key, prefix: key.slice(0, API_KEY_DISPLAY_LENGTH) }
}

/** SHA-256 (hex) of a token or key: what the store keeps. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex')
}

/** Compares two secrets in constant time (of any lengths: both are hashed first). */
export function secretsEqual(a: string, b: string): boolean {
  const x = createHash('sha256').update(a, 'utf8').digest()
  const y = createHash('sha256').update(b, 'utf8').digest()
  return timingSafeEqual(x, y) && a.length === b.length
}

/** argon2id with the library's defaults (19 MiB, 2 passes: OWASP's recommendation). */
export function hashPassword(password: string): Promise<string> {
  return hash(password)
}

let dummyHash: Promise<string> | undefined

/**
 * Checks a password against its hash. With `null` (no such user) it still spends the same work on
 * a dummy hash, so a response's timing does not tell whether an address has an account.
 */
export async function verifyPassword(passwordHash: string | null, password: string): Promise<boolean> {
  if (passwordHash === null) {
    dummyHash ??= hash(randomBytes(16).toString('hex'))
    await verify(await dummyHash, password)
    return false
  }
  try {
    return await verify(passwordHash, password)
  } catch {
    return false
  }
}
