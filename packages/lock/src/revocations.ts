/**
 * The revocation list (`set_revocations`), replaced whole by the server each time. It names revoked
 * shares (`share:<id>`: every eKey issued for the share is refused) and, so that an offline code can be revoked "when the lock is next reached" (SPEC §3),
 * offline codes as `offline:<H>:<startsAt ms>` (the same pair the lock logs for an offline code).
 */
import { type EKeyClaims, offlineRevocationId, shareRevocationId } from '@latchkey/protocol'
import type { LockState } from './state.ts'

export function isOfflineRevoked(state: LockState, code: { h: number; startsAt: number }): boolean {
  return state.ekeys.revoked.includes(offlineRevocationId(code.h, code.startsAt))
}

export function isKeyRevoked(state: LockState, key: EKeyClaims): boolean {
  return state.ekeys.revoked.includes(shareRevocationId(key.shareId))
}
