/**
 * What the reconciler remembers of a lock's table: per code, a keyed digest of its PIN and rule.
 * A PIN has few digits, so a plain hash would give it away; the digest is an HMAC with a key of its
 * own (derived from the master key) and is all the store keeps of what a lock reported.
 */
import { createHmac } from 'node:crypto'
import type { AccessRule } from '@latchkey/core'
import { stableJson } from '../stable-json.ts'

/** The rule as the lock keeps it (packages/lock cleanRule), with keys in a fixed order. */
export function canonicalRule(rule: AccessRule): string {
  return stableJson({
    kind: rule.kind,
    startsAt: rule.startsAt,
    endsAt: rule.endsAt,
    schedule: rule.schedule,
    maxUses: rule.maxUses,
  })
}

export type TableDigest = (pin: string, rule: AccessRule) => string

/** The digest function for a key (Secrets.deriveKey('lock-table-digest')). */
export function tableDigester(key: Uint8Array): TableDigest {
  return (pin, rule) =>
    createHmac('sha256', key)
      .update(pin, 'utf8')
      .update('\n')
      .update(canonicalRule(rule), 'utf8')
      .digest('base64url')
}
