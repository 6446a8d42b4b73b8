import { describe, expect, it } from 'vitest'
import { addressThrottleKey } from '../accounts/index.ts'
import { codeLoginThrottleKeys, DEFAULT_CODE_LOGIN_THROTTLE } from './code-login-throttle.ts'

describe('the client network an attempt is counted under', () => {
  it('is an IPv4 address itself, also when written IPv4-mapped', () => {
    expect(addressThrottleKey('203.0.113.7')).toBe('203.0.113.7')
    expect(addressThrottleKey('::ffff:203.0.113.7')).toBe('203.0.113.7')
    expect(addressThrottleKey('::FFFF:203.0.113.7')).toBe('203.0.113.7')
  })

  it('is the /64 of an IPv6 address, however it is written', () => {
    const key = '2001:db8:1:2::/64'
    for (const address of [
      '2001:db8:1:2::1',
      '2001:0db8:0001:0002:ffff:ffff:ffff:ffff',
      '2001:DB8:1:2:0:0:0:0',
      '2001:db8:1:2::a%eth0',
      '2001:db8:1:2:1:2:192.0.2.1',
    ]) {
      expect(addressThrottleKey(address)).toBe(key)
    }
    expect(addressThrottleKey('2001:db8:1:3::1')).toBe('2001:db8:1:3::/64')
    expect(addressThrottleKey('::1')).toBe('0:0:0:0::/64')
    expect(addressThrottleKey('fe80::1')).toBe('fe80:0:0:0::/64')
  })

  it('is whatever was given when it is no address at all', () => {
    expect(addressThrottleKey('unknown')).toBe('unknown')
  })

  it('goes with the device id, each under its own limit', () => {
    expect(codeLoginThrottleKeys(DEFAULT_CODE_LOGIN_THROTTLE, '2001:db8::5', 'phone-1')).toEqual([
      { scope: 'code_address', key: '2001:db8:0:0::/64', rule: { limit: 20, windowMs: 3_600_000 } },
      { scope: 'code_device', key: 'phone-1', rule: { limit: 10, windowMs: 3_600_000 } },
    ])
  })
})
