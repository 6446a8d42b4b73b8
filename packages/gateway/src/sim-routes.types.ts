/** Request schemas of the simulator control API (sim-routes.ts). */
import { ZProvisioningBundle } from '@latchkey/protocol'
import { z } from 'zod'

export const ZLockIdParams = z.object({ id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'a lock id') })
export type TLockIdParams = z.infer<typeof ZLockIdParams>

export const ZAttachLockRequest = z.object({ bundle: ZProvisioningBundle })
export type TAttachLockRequest = z.infer<typeof ZAttachLockRequest>

export const ZKeypadRequest = z.object({ digits: z.string().regex(/^[0-9]{1,32}$/, 'digits 0-9 only') })
export type TKeypadRequest = z.infer<typeof ZKeypadRequest>

export const ZEKeyRequest = z.object({ credential: z.string().min(1).max(8192) })
export type TEKeyRequest = z.infer<typeof ZEKeyRequest>

export const ZLockClockRequest = z
  .object({
    /** Moves this lock's clock alone (negative: back). */
    advanceMs: z.number().int().optional(),
    /** The crystal's drift from now on. */
    driftPpm: z.number().finite().optional(),
    /** The battery runs out and comes back: the clock is unset. */
    powerLoss: z.boolean().optional(),
  })
  .refine((v) => v.advanceMs !== undefined || v.driftPpm !== undefined || v.powerLoss !== undefined, {
    message: 'give advanceMs, driftPpm or powerLoss',
  })
export type TLockClockRequest = z.infer<typeof ZLockClockRequest>

export const ZRadioRequest = z.object({ inRange: z.boolean() })
export type TRadioRequest = z.infer<typeof ZRadioRequest>

export const ZGatewayLinkRequest = z.object({ online: z.boolean() })
export type TGatewayLinkRequest = z.infer<typeof ZGatewayLinkRequest>

export const ZWorldClockRequest = z.object({ advanceMs: z.number().int().nonnegative() })
export type TWorldClockRequest = z.infer<typeof ZWorldClockRequest>
