/** An access code row as the rule the lock decides with, and the secrets around its PIN. */
import type { AccessRule } from '@latchkey/core'
import { offlineRevocationId } from '@latchkey/protocol'
import type { Secrets } from '../secrets.ts'
import type { AccessCode } from '../store/index.ts'

export type RuleFields = Pick<
  AccessCode,
  'kind' | 'delivery' | 'startsAt' | 'endsAt' | 'schedule' | 'maxUses'
>

export function ruleOf(code: RuleFields): AccessRule {
  const rule: AccessRule = { kind: code.kind }
  // A permanent offline code's start only bounds its first use (offlineFirstUseBy); it has no window.
  const windowless = code.kind === 'permanent' && code.delivery === 'offline'
  if (code.startsAt !== null && !windowless) rule.startsAt = code.startsAt.getTime()
  if (code.endsAt !== null) rule.endsAt = code.endsAt.getTime()
  if (code.schedule !== null) rule.schedule = code.schedule
  if (code.maxUses !== null) rule.maxUses = code.maxUses
  return rule
}

/** The associated data binding an encrypted PIN to its row. */
export const pinContext = (codeId: string) => `access_code:${codeId}`

export function decryptPin(secrets: Secrets, code: Pick<AccessCode, 'id' | 'pinEncrypted'>): string {
  return secrets.decryptText(code.pinEncrypted, pinContext(code.id))
}

/** The revocation list's name for an offline code; null for a code that is not offline. */
export function offlineCodeRevocationId(code: {
  offlineH: number | null
  startsAt: Date | null
}): string | null {
  if (code.offlineH === null || code.startsAt === null) return null
  return offlineRevocationId(code.offlineH, code.startsAt.getTime())
}
