/**
 * Constant-time comparison of short secrets held as strings (PINs, hashes of offline codes), without
 * allocating: both strings are read over the same fixed width, every position is compared, and only
 * the OR of all differences decides. The time depends on the width alone, never on where (or whether)
 * the strings differ — the same technique as the offline verifier's digit comparison in core.
 */

/** True when `a` and `b` are equal; both are read over `width` characters (longer strings never match). */
export function sameSecret(a: string, b: string, width: number): boolean {
  let diff = (a.length ^ b.length) | (a.length > width ? 1 : 0)
  // Lengths are not secret (a PIN's length shows on the keypad); the characters are.
  const la = a.length
  const lb = b.length
  for (let i = 0; i < width; i++) diff |= (i < la ? a.charCodeAt(i) : 0) ^ (i < lb ? b.charCodeAt(i) : 0)
  return diff === 0
}
