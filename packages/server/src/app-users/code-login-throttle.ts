/**
 * How Code Login attempts are throttled (in the store, through accounts/throttle.ts, so the limits
 * hold across server processes): per client network and per device. Successful logins do not count;
 * failures are not forgotten by a later success (else a holder of one valid code could reset their
 * own count between guesses). docs/SECURITY.md works out what this leaves an attacker.
 */
import { addressThrottleKey, type ThrottleKey, type ThrottleRule } from '../accounts/index.ts'

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
