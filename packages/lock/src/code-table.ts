/**
 * The table of synced codes: fixed capacity (from the model), one PIN per entry, and no two entries
 * with the same PIN. Setting a codeId that is already there replaces it and keeps its use count, so a
 * `set_code` retried by the server (or an edited window) never gives a code its uses back.
 */

import type { AccessRule } from '@latchkey/core'
import type { TableEntry } from '@latchkey/protocol'
import { sameSecret } from './constant-time.ts'
import { cleanRule } from './state.ts'

export type SetCodeOutcome =
  | { ok: true; replaced: boolean }
  | { ok: false; code: 'lock_full' | 'duplicate_code_on_lock'; message: string }

/** The longest keypad entry the lock accepts. */
export const MAX_DIGITS = 16
/** The longest synced PIN (set_code takes 4 to 10 digits): a longer entry never matches one. */
export const MAX_PIN_DIGITS = 10

export function setCode(
  codes: TableEntry[],
  capacity: number,
  entry: { codeId: string; pin: string; rule: AccessRule },
): SetCodeOutcome {
  const clash = codes.find((c) => c.codeId !== entry.codeId && sameSecret(c.pin, entry.pin, MAX_PIN_DIGITS))
  if (clash) {
    return {
      ok: false,
      code: 'duplicate_code_on_lock',
      message: `this PIN is already used by code ${clash.codeId}`,
    }
  }
  const index = codes.findIndex((c) => c.codeId === entry.codeId)
  if (index >= 0) {
    const uses = codes[index]!.uses
    codes[index] = { codeId: entry.codeId, pin: entry.pin, rule: cleanRule(entry.rule), uses }
    return { ok: true, replaced: true }
  }
  if (codes.length >= capacity) {
    return { ok: false, code: 'lock_full', message: `the code table is full (${capacity} codes)` }
  }
  codes.push({ codeId: entry.codeId, pin: entry.pin, rule: cleanRule(entry.rule), uses: 0 })
  return { ok: true, replaced: false }
}

/** Removes a code; returns whether it was there. */
export function removeCode(codes: TableEntry[], codeId: string): boolean {
  const index = codes.findIndex((c) => c.codeId === codeId)
  if (index < 0) return false
  codes.splice(index, 1)
  return true
}

/**
 * The entry whose PIN is exactly these digits, or undefined. Every entry is compared, in constant
 * time each, so the time taken does not tell how far into the table or into a PIN a guess got.
 */
export function matchCode(codes: readonly TableEntry[], digits: string): TableEntry | undefined {
  let found: TableEntry | undefined
  for (const entry of codes) {
    if (sameSecret(entry.pin, digits, MAX_PIN_DIGITS) && found === undefined) found = entry
  }
  return found
}
