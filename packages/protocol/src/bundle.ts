/**
 * The provisioning bundle: everything a lock needs, handed to it once when it is registered.
 * It holds the lock's secret, so the server returns it only in the registration response.
 */
import { LatchkeyError } from '@latchkey/core'
import { z } from 'zod'

const ZBase64 = z.string().regex(/^[A-Za-z0-9+/=_-]+$/)

export const ZProvisioningBundle = z.object({
  v: z.literal(1),
  lockId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
  name: z.string(),
  /** 32 random bytes, base64. */
  secret: ZBase64,
  model: z.string(),
  capacity: z.number().int().positive().max(10_000),
  ledgerCapacity: z.number().int().positive().max(10_000),
  eventCapacity: z.number().int().min(10).max(100_000),
  timezone: z.string().min(1),
  /** The server's Ed25519 public key (raw 32 bytes, base64) that signs eKeys. */
  serverPublicKey: ZBase64,
  gatewayId: z.string().nullable(),
})
export type ProvisioningBundle = z.infer<typeof ZProvisioningBundle>

export function parseBundle(value: unknown): ProvisioningBundle {
  const parsed = ZProvisioningBundle.safeParse(value)
  if (!parsed.success) {
    throw new LatchkeyError(
      'validation_failed',
      `invalid provisioning bundle: ${parsed.error.issues[0]?.message}`,
      {
        details: parsed.error.issues,
      },
    )
  }
  return parsed.data
}

export const LOCK_MODELS: Record<
  string,
  { capacity: number; ledgerCapacity: number; eventCapacity: number }
> = {
  'LK-100': { capacity: 250, ledgerCapacity: 64, eventCapacity: 500 },
  'LK-20': { capacity: 20, ledgerCapacity: 16, eventCapacity: 200 },
}
export const DEFAULT_LOCK_MODEL = 'LK-100'
