import { isLatchkeyError } from '@latchkey/core'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { DEFAULT_LOCK_MODEL, LOCK_MODELS, type ProvisioningBundle, parseBundle } from './bundle.ts'
import { randomSecret } from './crypto.ts'
import { generateServerKeyPair } from './ekey.ts'
import { arbId } from './test-arbitraries.ts'

function errorCode(fn: () => unknown): string {
  try {
    fn()
  } catch (error) {
    if (isLatchkeyError(error)) return error.code
    throw error
  }
  return 'parsed'
}

const serverPublicKey = generateServerKeyPair().publicKey
const bundle = (overrides: Partial<ProvisioningBundle> = {}): ProvisioningBundle => ({
  v: 1,
  lockId: 'lock_front_door',
  name: 'Front door',
  secret: Buffer.from(randomSecret()).toString('base64'),
  model: DEFAULT_LOCK_MODEL,
  ...LOCK_MODELS[DEFAULT_LOCK_MODEL]!,
  timezone: 'Australia/Sydney',
  serverPublicKey,
  gatewayId: 'gw_home',
  ...overrides,
})

describe('provisioning bundle', () => {
  it('round-trips through JSON for every model, with or without a gateway', () => {
    fc.assert(
      fc.property(
        arbId,
        fc.string({ maxLength: 60 }),
        fc.constantFrom(...Object.keys(LOCK_MODELS)),
        fc.option(arbId, { nil: null }),
        (lockId, name, model, gatewayId) => {
          const b = bundle({ lockId, name, model, ...LOCK_MODELS[model]!, gatewayId })
          expect(parseBundle(JSON.parse(JSON.stringify(b)))).toEqual(b)
        },
      ),
      { numRuns: 100 },
    )
  })

  it('describes each model within the limits the bundle accepts (default LK-100: 250 codes, 64 ledger, 500 events)', () => {
    expect(LOCK_MODELS[DEFAULT_LOCK_MODEL]).toEqual({ capacity: 250, ledgerCapacity: 64, eventCapacity: 500 })
    for (const model of Object.keys(LOCK_MODELS))
      expect(parseBundle(bundle({ model, ...LOCK_MODELS[model]! })).model).toBe(model)
  })

  it('refuses a bundle a lock could not use, as validation_failed', () => {
    const bad: unknown[] = [
      null,
      { ...bundle(), v: 2 },
      { ...bundle(), lockId: 'front door' },
      { ...bundle(), secret: 'not base64!' },
      { ...bundle(), capacity: 0 },
      { ...bundle(), eventCapacity: 5 },
      { ...bundle(), timezone: '' },
      { ...bundle(), gatewayId: undefined },
    ]
    for (const value of bad) expect(errorCode(() => parseBundle(value))).toBe('validation_failed')
  })
})
