/**
 * What the reconciler remembers of a lock's table: per code, a keyed digest of its PIN and rule.
 * A PIN has few digits, so a plain hash would give it away; the digest is an HMAC with a key of its
 * own (derived from the master key) and is all the store keeps of what a lock reported.
 */
import { createHmac } from 'node:crypto'
import type { AccessRule } from '@latchkey/core'

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

/** JSON with object keys sorted and undefined members left out, so equal values give equal text. */
export function stableJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null'
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`
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
