/**
 * The keys of each lock, derived from its secret (HKDF, @latchkey/protocol `deriveLockKeys`). The
 * secret is stored encrypted (Secrets.encrypt, AAD `lock:<id>`); decrypting and deriving costs a few
 * hundred microseconds, so the channel keeps the derived keys of recently seen locks in memory.
 */
import { deriveLockKeys, type LockKeys } from '@latchkey/protocol'
import type { Secrets } from '../secrets.ts'

/** AAD of a lock's secret at rest. */
export const lockSecretContext = (lockId: string): string => `lock:${lockId}`

/** The lock's 32-byte secret, decrypted. */
export function decryptLockSecret(
  secrets: Secrets,
  lock: { id: string; secretEncrypted: string },
): Uint8Array {
  return new Uint8Array(secrets.decrypt(lock.secretEncrypted, lockSecretContext(lock.id)))
}

export class LockKeyCache {
  readonly #secrets: Secrets
  readonly #max: number
  readonly #entries = new Map<string, { secretEncrypted: string; keys: LockKeys }>()

  constructor(secrets: Secrets, max = 10_000) {
    this.#secrets = secrets
    this.#max = max
  }

  /** The lock's keys; a changed `secretEncrypted` (a lock provisioned anew) derives them again. */
  keys(lock: { id: string; secretEncrypted: string }): LockKeys {
    const cached = this.#entries.get(lock.id)
    if (cached !== undefined && cached.secretEncrypted === lock.secretEncrypted) {
      // most recently used last, so the oldest is evicted first
      this.#entries.delete(lock.id)
      this.#entries.set(lock.id, cached)
      return cached.keys
    }
    const keys = deriveLockKeys(decryptLockSecret(this.#secrets, lock))
    this.#entries.delete(lock.id)
    this.#entries.set(lock.id, { secretEncrypted: lock.secretEncrypted, keys })
    if (this.#entries.size > this.#max) {
      const oldest = this.#entries.keys().next().value
      if (oldest !== undefined) this.#entries.delete(oldest)
    }
    return keys
  }

  forget(lockId: string): void {
    this.#entries.delete(lockId)
  }
}
