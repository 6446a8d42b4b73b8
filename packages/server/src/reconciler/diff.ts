/**
 * Desired versus reported code table of one lock (SPEC §5), as a pure function.
 *
 * The lock takes commands in the order they are sealed, so the difference is sent as every
 * `remove_code` first, then every `set_code`: removing frees the slots the new codes need, and one
 * application of the difference turns any reported table into the desired one (diff.test.ts).
 */

/** A code that must be on the lock, with the digest of its (PIN, rule). */
export interface DesiredEntry {
  codeId: string
  digest: string
}

export interface TableDiff {
  /** Codes to take off: on the lock but not wanted (deleted, ended, used up, unknown, or beyond capacity). */
  remove: string[]
  /** Codes to put on, or to put on again because the lock holds another PIN or rule for them. */
  set: string[]
  /** Wanted codes that do not fit: the slots are taken by wanted codes placed before them. */
  full: string[]
  /** Wanted codes that get a slot, in priority order (what the table holds once the diff is applied). */
  admitted: string[]
}

/**
 * `desired` in priority order (the first ones get the slots when they are too many); a code the lock
 * already holds goes before every code it does not, so a code never loses its slot to a newcomer.
 */
export function diffTable(
  desired: readonly DesiredEntry[],
  reported: Readonly<Record<string, { d: string }>>,
  capacity: number,
): TableDiff {
  const slots = Math.max(0, Math.floor(capacity))
  const held = desired.filter((e) => Object.hasOwn(reported, e.codeId))
  const fresh = desired.filter((e) => !Object.hasOwn(reported, e.codeId))
  const seen = new Set<string>()
  const admittedEntries: DesiredEntry[] = []
  const full: string[] = []
  for (const entry of [...held, ...fresh]) {
    if (seen.has(entry.codeId)) continue
    seen.add(entry.codeId)
    if (admittedEntries.length < slots) admittedEntries.push(entry)
    else full.push(entry.codeId)
  }
  const admitted = new Set(admittedEntries.map((e) => e.codeId))
  return {
    remove: Object.keys(reported)
      .filter((codeId) => !admitted.has(codeId))
      .sort(),
    set: admittedEntries.filter((e) => reported[e.codeId]?.d !== e.digest).map((e) => e.codeId),
    full,
    admitted: admittedEntries.map((e) => e.codeId),
  }
}
