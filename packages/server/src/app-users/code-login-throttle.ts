/**
 * How Code Login attempts are throttled (in the store, through accounts/throttle.ts, so the limits
 * hold across server processes): per client network and per device. Successful logins do not count;
 * failures are not forgotten by a later success (else a holder of one valid code could reset their
 * own count between guesses). docs/SECURITY.md works out what this leaves an attacker.
 */
import { isIPv4, isIPv6 } from 'node:net'
import type { ThrottleKey, ThrottleRule } from '../accounts/index.ts'

export interface CodeLoginThrottleConfig {
  /** Per client network: an IPv4 address, or an IPv6 /64 (what one subscriber is usually given). */
  perAddress: ThrottleRule
  /** Per device id the app sends. */
  perDevice: ThrottleRule
}

export const DEFAULT_CODE_LOGIN_THROTTLE: CodeLoginThrottleConfig = {
  perAddress: { limit: 20, windowMs: 3_600_000 },
  perDevice: { limit: 10, windowMs: 3_600_000 },
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

export function codeLoginThrottleKeys(
  config: CodeLoginThrottleConfig,
  address: string,
  deviceId: string,
): ThrottleKey[] {
  return [
    { scope: 'code_address', key: addressThrottleKey(address), rule: config.perAddress },
    { scope: 'code_device', key: deviceId, rule: config.perDevice },
  ]
}
