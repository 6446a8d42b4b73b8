import { PERMISSION_LEVELS } from '@latchkey/core'
import { ZWeeklySchedule } from '@latchkey/protocol'
import { z } from 'zod'
import { list, requestTime, ZEmail, ZLocalTimestamp, ZTimestamp } from '../http/index.ts'

export const ZPermissionLevel = z.enum(PERMISSION_LEVELS)

export const ZGranteeInput = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('unique_code'), uniqueCodeId: z.string().max(64) }),
  z.strictObject({ type: z.literal('user'), email: ZEmail }),
])

export const ZCreatePermissionsRequest = z.strictObject({
  lockIds: z.array(z.string().max(64)).min(1).max(100),
  grantee: ZGranteeInput,
  level: ZPermissionLevel.describe(
    'owner, admin, maintenance, restricted or one_time; a unique code gets at most maintenance.',
  ),
  startsAt: requestTime(
    'restricted or one_time: start of the window; a local time is read in each lock’s own zone.',
  ).optional(),
  endsAt: requestTime('restricted or one_time: end of the window.').optional(),
  schedule: ZWeeklySchedule.optional().describe('restricted: weekly schedule in the lock’s local time.'),
})
export type TCreatePermissionsRequest = z.infer<typeof ZCreatePermissionsRequest>

export const ZGrantee = z.discriminatedUnion('type', [
  z.object({ type: z.literal('unique_code'), uniqueCodeId: z.uuid(), description: z.string() }),
  z.object({ type: z.literal('user'), userId: z.uuid(), email: z.string() }),
])

export const ZPermission = z
  .object({
    id: z.uuid(),
    lockId: z.uuid(),
    lockName: z.string(),
    timezone: z.string().describe('The lock’s time zone, in which the `…Local` times are shown.'),
    grantee: ZGrantee,
    level: ZPermissionLevel,
    startsAt: ZTimestamp.nullable(),
    startsAtLocal: ZLocalTimestamp.nullable(),
    endsAt: ZTimestamp.nullable(),
    endsAtLocal: ZLocalTimestamp.nullable(),
    schedule: ZWeeklySchedule.nullable(),
    status: z
      .enum(['active', 'used', 'expired'])
      .describe('used: a one_time share already opened; expired: its window or its unique code ended.'),
    accessEndsAt: ZTimestamp.nullable().describe(
      'When access ends by itself (window end or unique code expiry); null: never.',
    ),
    accessEndsAtLocal: ZLocalTimestamp.nullable(),
    createdAt: ZTimestamp,
  })
  .meta({ id: 'Permission' })
export type TPermission = z.infer<typeof ZPermission>

export const ZPermissionsResponse = list(ZPermission)
export type TPermissionsResponse = z.infer<typeof ZPermissionsResponse>

export const ZListPermissionsQuery = z.strictObject({
  lockId: z.string().max(64).optional(),
  uniqueCodeId: z.string().max(64).optional(),
  userId: z.string().max(64).optional(),
})
export type TListPermissionsQuery = z.infer<typeof ZListPermissionsQuery>
