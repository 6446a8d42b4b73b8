import { ZProvisioningBundle } from '@latchkey/protocol'
import { z } from 'zod'
import { list, PROBLEM_CONTENT_TYPE, ZProblem, ZTimestamp } from '../http/index.ts'
import { LOCK_DRIVERS } from '../store/index.ts'

const problemResponse = (description: string) => ({
  description,
  content: { [PROBLEM_CONTENT_TYPE]: { schema: ZProblem } },
})

/** Error responses of the lock routes beyond the common ones. */
export const LOCK_PROBLEMS = {
  invalid: problemResponse(
    'A value the lock cannot take (`invalid_timezone`), or a feature its driver lacks (`not_supported_by_driver`).',
  ),
  lockOffline: problemResponse('The lock cannot be reached now (`lock_offline`).'),
} as const

const ZName = z.string().trim().min(1).max(100)
const ZTimezone = z
  .string()
  .min(1)
  .max(64)
  .describe('IANA time zone, e.g. Australia/Sydney; schedules are in this local time.')

const ZAddress = z
  .string()
  .max(64)
  .regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'host:port')
  .describe("The lock's address, `host:port` (IPv6 in brackets).")

export const ZCreateLockRequest = z.strictObject({
  name: ZName,
  timezone: ZTimezone,
  gatewayId: z
    .string()
    .max(64)
    .nullable()
    .optional()
    .describe('The gateway that hosts it (else the first gateway of the organization that reports it).'),
  model: z.string().max(32).optional().describe('LK-100 (250 codes, default) or LK-20 (20 codes).'),
  driver: z
    .enum(LOCK_DRIVERS)
    .optional()
    .describe(
      '`latchkey` (default): a Latchkey lock behind a gateway, answered with its provisioning bundle. `matter`: a Matter door lock the server commissions itself (`matter` says how).',
    ),
  matter: z
    .union([
      z.strictObject({
        pairingCode: z
          .string()
          .trim()
          .regex(/^[0-9-]{11,21}$/, 'the manual pairing code: 11 or 21 digits'),
        address: ZAddress.optional(),
      }),
      z.strictObject({
        passcode: z.number().int().min(1).max(99_999_998),
        discriminator: z.number().int().min(0).max(4095),
        address: ZAddress.optional(),
      }),
    ])
    .optional()
    .describe(
      'With `driver: matter`: its pairing code, or its passcode and discriminator; `address` (`host:port`) skips discovery.',
    ),
})
export type TCreateLockRequest = z.infer<typeof ZCreateLockRequest>

export const ZUpdateLockRequest = z.strictObject({
  name: ZName.optional(),
  timezone: ZTimezone.optional(),
  gatewayId: z.string().max(64).nullable().optional(),
})
export type TUpdateLockRequest = z.infer<typeof ZUpdateLockRequest>

export const ZLock = z
  .object({
    id: z.uuid(),
    name: z.string(),
    timezone: z.string(),
    model: z.string(),
    driver: z.enum(LOCK_DRIVERS).describe('How the server reaches the lock (SPEC §12).'),
    gatewayId: z.uuid().nullable(),
    online: z
      .boolean()
      .describe('Reachable now: its gateway is connected and it is in radio range, as last reported.'),
    lastSeenAt: ZTimestamp.nullable(),
    battery: z.number().int().nullable().describe('Percent, as last reported.'),
    clockOffsetMs: z
      .number()
      .int()
      .nullable()
      .describe(
        "The lock's clock minus the server's at the last sync (positive: the lock ran fast); null before one.",
      ),
    clockSyncedAt: ZTimestamp.nullable(),
    clockSet: z
      .boolean()
      .describe('False after a power loss until the clock is synced: time-bound codes fail closed.'),
    capacity: z
      .object({ used: z.number().int(), total: z.number().int() })
      .describe('Synced-code slots: used as of the last table report, and the total of the model.'),
    warnings: z
      .array(z.object({ code: z.string(), message: z.string() }))
      .describe(
        'What the lock cannot do as asked: `revocation_list_full` (revoked shares or codes left off its list).',
      ),
    createdAt: ZTimestamp,
    updatedAt: ZTimestamp,
  })
  .meta({ id: 'Lock' })
export type TLock = z.infer<typeof ZLock>

export const ZCreateLockResponse = ZLock.extend({
  bundle: ZProvisioningBundle.optional().describe(
    "A `latchkey` lock's provisioning bundle (holds the lock secret): shown this once, never again. None for a Matter lock.",
  ),
})
export type TCreateLockResponse = z.infer<typeof ZCreateLockResponse>

export const ZListLocksQuery = z.strictObject({
  gatewayId: z.string().max(64).optional(),
  after: z.string().max(64).optional().describe('The `nextCursor` of the previous page.'),
  limit: z.coerce.number().int().min(1).max(500).default(100),
})
export type TListLocksQuery = z.infer<typeof ZListLocksQuery>

export const ZListLocksResponse = list(ZLock)
export type TListLocksResponse = z.infer<typeof ZListLocksResponse>

export const ZLockCommandResponse = z
  .object({
    commandId: z.uuid(),
    status: z
      .enum(['done', 'failed', 'pending'])
      .describe(
        '`done`: the lock confirmed; `failed`: the lock refused (`error`); `pending`: sent, no answer yet. A remote unlock that reaches the lock more than 30 s after it was sent is refused (`command_expired`), and so is a time that would set the lock’s clock back by more than drift explains (a frame held back on its way).',
      ),
    error: z.object({ code: z.string(), message: z.string() }).optional(),
  })
  .meta({ id: 'LockCommand' })
export type TLockCommandResponse = z.infer<typeof ZLockCommandResponse>

export const ZReconcileResponse = z
  .object({ status: z.literal('requested') })
  .meta({ id: 'ReconcileRequested' })
