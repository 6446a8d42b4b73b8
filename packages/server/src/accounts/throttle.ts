/**
 * Attempt throttling kept in the store, so it holds across several server processes.
 *
 * `beginAttempt` records an attempt under each key (email, client address, device...) unless a key
 * already has `limit` attempts inside its window: then 429 `rate_limited` with Retry-After.
 * A failed attempt keeps its rows; a successful one removes them (`forgetAttempt`).
 */
import { isIPv4, isIPv6 } from 'node:net'
import { LatchkeyError } from '@latchkey/core'
import { and, eq, gt, inArray, lt, sql } from 'drizzle-orm'
import type { Db } from '../store/index.ts'
import { loginAttempts } from '../store/index.ts'

export interface ThrottleRule {
  /** Attempts allowed inside the window. */
  limit: number
  windowMs: number
}

export interface LoginThrottleConfig {
  /** Per (email, client network): what one guesser gets at one account. */
  perEmailAddress: ThrottleRule
  /** Per email from any address: looser, so knowing an owner's email does not lock the owner out. */
  perEmail: ThrottleRule
  /** Per client network (addressThrottleKey), over every email. */
  perAddress: ThrottleRule
}

export const DEFAULT_LOGIN_THROTTLE: LoginThrottleConfig = {
  perEmailAddress: { limit: 10, windowMs: 15 * 60_000 },
  perEmail: { limit: 100, windowMs: 15 * 60_000 },
  perAddress: { limit: 50, windowMs: 15 * 60_000 },
}

/**
 * The key an address is throttled under: IPv4 as it is (also when written IPv4-mapped, ::ffff:a.b.c.d),
 * an IPv6 address by its /64 prefix, since one subscriber holds a whole /64 and could rotate through it.
 */
export function addressThrottleKey(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)
  if (mapped !== null && isIPv4(mapped[1]!)) return mapped[1]!
  if (isIPv4(address)) return address
  const bare = address.split('%')[0]!
  if (!isIPv6(bare)) return address
  return `${expandIPv6(bare).slice(0, 4).join(':')}::/64`
}

/** The eight hextets of an IPv6 address (lower case, no leading zeros). */
function expandIPv6(address: string): string[] {
  let text = address.toLowerCase()
  // an embedded IPv4 tail (::ffff:1.2.3.4 or 64:ff9b::1.2.3.4) becomes two hextets
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text)
  if (v4 !== null) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number]
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
  }
  const [head, tail] = text.split('::', 2) as [string, string | undefined]
  const left = head === '' ? [] : head.split(':')
  const right = tail === undefined || tail === '' ? [] : tail.split(':')
  const zeros = tail === undefined ? [] : Array.from({ length: 8 - left.length - right.length }, () => '0')
  return [...left, ...zeros, ...right].map((part) => Number.parseInt(part, 16).toString(16))
}

export interface ThrottleKey {
  scope: string
  key: string
  rule: ThrottleRule
}

export interface Attempt {
  ids: number[]
}

/** Namespace of the advisory locks that serialize attempts on one key (two-int form). */
const THROTTLE_LOCK_SPACE = 0x4c4b_5431 // "LKT1"

/** Records an attempt under every key; throws 429 `rate_limited` (Retry-After) when one is over its limit. */
export async function beginAttempt(db: Db, nowMs: number, keys: ThrottleKey[]): Promise<Attempt> {
  const now = new Date(nowMs)
  const longest = Math.max(...keys.map((k) => k.rule.windowMs))
  // Only the scopes of this call: another kind of attempt may be counted over a longer window.
  const scopes = [...new Set(keys.map((k) => k.scope))]
  await db
    .delete(loginAttempts)
    .where(and(inArray(loginAttempts.scope, scopes), lt(loginAttempts.at, new Date(nowMs - longest))))
  // One short transaction: attempts on the same key queue on an advisory lock (on every server
  // process), so a burst lets exactly `limit` through; a refused attempt leaves no row.
  return db.transaction(async (tx) => {
    const ordered = [...keys].sort((a, b) => `${a.scope}:${a.key}`.localeCompare(`${b.scope}:${b.key}`))
    for (const { scope, key } of ordered) {
      await tx.execute(
        sql`select pg_advisory_xact_lock(${THROTTLE_LOCK_SPACE}, hashtext(${`${scope}:${key}`}))`,
      )
    }
    for (const { scope, key, rule } of keys) {
      const [stats] = await tx
        .select({
          n: sql<number>`count(*)::int`,
          oldest: sql<number | null>`(extract(epoch from min(${loginAttempts.at})) * 1000)::float8`,
        })
        .from(loginAttempts)
        .where(
          and(
            eq(loginAttempts.scope, scope),
            eq(loginAttempts.key, key),
            gt(loginAttempts.at, new Date(nowMs - rule.windowMs)),
          ),
        )
      if (stats !== undefined && stats.n >= rule.limit) {
        const oldest = stats.oldest ?? nowMs
        const retryAfterSeconds = Math.max(1, Math.ceil((oldest + rule.windowMs - nowMs) / 1000))
        throw new LatchkeyError('rate_limited', `too many attempts; try again in ${retryAfterSeconds} s`, {
          details: { retryAfterSeconds },
        })
      }
    }
    const inserted = await tx
      .insert(loginAttempts)
      .values(keys.map(({ scope, key }) => ({ scope, key, at: now })))
      .returning({ id: loginAttempts.id })
    return { ids: inserted.map((row) => row.id) }
  })
}

/** Removes this attempt's rows (it succeeded, or it was refused before it was tried). */
export async function forgetAttempt(db: Db, attempt: Attempt): Promise<void> {
  if (attempt.ids.length > 0) await db.delete(loginAttempts).where(inArray(loginAttempts.id, attempt.ids))
}

/** Clears the failures counted against a key (e.g. an email after a successful login). */
export async function forgetKey(db: Db, scope: string, key: string): Promise<void> {
  await db.delete(loginAttempts).where(and(eq(loginAttempts.scope, scope), eq(loginAttempts.key, key)))
}
